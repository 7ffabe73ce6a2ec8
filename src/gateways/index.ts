import type { GatewayKind, GatewayRegistration } from '../payments/gateway';
import { iyzicoRegistration } from './iyzico';
import { nestpayRegistration } from './nestpay';
import { stripeRegistration } from './stripe';

/**
 * Every gateway a seller can choose, in the order the settings page offers them. Each entry is a
 * module under src/gateways/<kind>/ implementing PaymentGateway with its own offline sandbox.
 */
export const gatewayRegistrations: readonly GatewayRegistration[] = [nestpayRegistration, iyzicoRegistration, stripeRegistration];

export function registrationOf(kind: string): GatewayRegistration | undefined {
  return gatewayRegistrations.find((r) => r.kind === (kind as GatewayKind));
}
