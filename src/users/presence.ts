import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { memberships, presenceStatuses, subAccounts, users, type PresenceStatus, type Role } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { parse } from '../lib/validation';

export const presenceSchema = z.object({
  status: z.enum(presenceStatuses, { error: 'profile:error.status' }),
});

export interface PresenceRow {
  userId: string;
  name: string;
  email: string;
  role: Role;
  status: PresenceStatus;
  statusChangedAt: Date | null;
}

/** Sets the signed-in person's own status (the profile page). */
export async function setOwnPresence(deps: Pick<Deps, 'db' | 'clock'>, params: { userId: string; input: unknown }): Promise<PresenceStatus> {
  const { status } = parse(presenceSchema, params.input);
  await deps.db.update(users).set({ presence: status, presenceChangedAt: deps.clock.now() }).where(eq(users.id, params.userId));
  return status;
}

/**
 * The tenant whose people a caller sees: its own (platform staff, an agency's staff, a
 * sub-account's people), or, for an agency, one of its own sub-accounts by id. A sub-account of
 * another agency is not found, whatever its id.
 */
async function tenantOf(db: DbOrTx, actor: Actor, subAccountId?: string): Promise<SQL> {
  if (subAccountId) {
    if (actor.scope !== 'agency') throw new AppError('not_found', 404, 'profile:error.subAccountNotFound');
    const [sub] = await db.select({ id: subAccounts.id }).from(subAccounts).where(and(eq(subAccounts.id, subAccountId), eq(subAccounts.agencyId, actor.agencyId!)));
    if (!sub) throw new AppError('not_found', 404, 'profile:error.subAccountNotFound');
    return and(eq(memberships.scope, 'sub_account'), eq(memberships.agencyId, actor.agencyId!), eq(memberships.subAccountId, sub.id))!;
  }
  if (actor.scope === 'platform') return eq(memberships.scope, 'platform');
  if (actor.scope === 'agency') return and(eq(memberships.scope, 'agency'), eq(memberships.agencyId, actor.agencyId!), isNull(memberships.subAccountId))!;
  return and(eq(memberships.scope, 'sub_account'), eq(memberships.agencyId, actor.agencyId!), eq(memberships.subAccountId, actor.subAccountId!))!;
}

/** The people of the caller's tenant with their online status (the API; the chat product shows it). */
export async function listPresence(deps: Pick<Deps, 'db'>, params: { actor: Actor; subAccountId?: string }): Promise<PresenceRow[]> {
  const where = await tenantOf(deps.db, params.actor, params.subAccountId);
  return deps.db
    .select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, status: users.presence, statusChangedAt: users.presenceChangedAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(where)
    .orderBy(asc(users.name), asc(users.id));
}

/** One person of the caller's tenant; anyone else is not found (never "forbidden": ids of other tenants are not confirmed). */
export async function getPresence(deps: Pick<Deps, 'db'>, params: { actor: Actor; userId: string; subAccountId?: string }): Promise<PresenceRow> {
  const where = await tenantOf(deps.db, params.actor, params.subAccountId);
  const [row] = await deps.db
    .select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, status: users.presence, statusChangedAt: users.presenceChangedAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(where, eq(users.id, params.userId)));
  if (!row) throw new AppError('not_found', 404, 'profile:error.memberNotFound');
  return row;
}

/** Sets the status of one person of the caller's tenant (the chat product does, as its agents come and go). */
export async function setMemberPresence(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; userId: string; subAccountId?: string; input: unknown }): Promise<PresenceRow> {
  const { status } = parse(presenceSchema, params.input);
  const member = await getPresence(deps, params);
  const now = deps.clock.now();
  await deps.db.update(users).set({ presence: status, presenceChangedAt: sql`case when ${users.presence} = ${status} then ${users.presenceChangedAt} else ${now.toISOString()}::timestamptz end` }).where(eq(users.id, member.userId));
  return { ...member, status, statusChangedAt: member.status === status ? member.statusChangedAt : now };
}
