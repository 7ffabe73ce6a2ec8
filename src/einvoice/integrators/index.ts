import type { IntegratorRegistration } from '../integrator';
import { nilveraRegistration } from './nilvera';
import { sandboxIntegratorRegistration } from './sandbox';

/** Every integrator a seller can choose, in the order the settings page offers them. */
export const integratorRegistrations: readonly IntegratorRegistration[] = [nilveraRegistration, sandboxIntegratorRegistration];

export const integratorRegistrationOf = (kind: string): IntegratorRegistration | undefined => integratorRegistrations.find((r) => r.kind === kind);
