import type { Role } from '../../db/schema';
import { errors } from '../lib/errors';
import { roleAtLeast, type Actor } from './actor';

/**
 * Access rules in one place. Every use case states what it needs; ids the caller passes are
 * always checked against the actor's own tenant by the queries themselves.
 */
export function requireScope(actor: Actor, scope: Actor['scope']): void {
  if (actor.scope !== scope) {
    throw actor.kind === 'api_key' ? errors.wrongScope(scope.replace('_', '-')) : errors.forbidden();
  }
}

export function requireRole(actor: Actor, role: Role): void {
  if (!roleAtLeast(actor, role)) throw errors.forbidden(`errors:roleNeeded.${role}`);
}

export function requireBilling(actor: Actor): void {
  if (!actor.billing) throw errors.billingPermission();
}

export function agencyIdOf(actor: Actor): string {
  requireScope(actor, 'agency');
  return actor.agencyId!;
}
