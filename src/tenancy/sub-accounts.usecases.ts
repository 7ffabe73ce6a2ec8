import { and, desc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import { subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { name, optionalEmail, parse } from '../lib/validation';

export type SubAccount = typeof subAccounts.$inferSelect;

export const createSubAccountSchema = z.object({ name: name('Name'), billingEmail: optionalEmail });

export async function createSubAccount(deps: Deps, params: { actor: Actor; input: unknown }): Promise<SubAccount> {
  const agencyId = agencyIdOf(params.actor);
  requireRole(params.actor, 'admin');
  const input = parse(createSubAccountSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(subAccounts)
      .values({ id: newId('sub'), agencyId, ...input, createdAt: now, updatedAt: now })
      .returning();
    await recordAudit(tx, params.actor, { action: 'sub_account.created', targetType: 'sub_account', targetId: row!.id, subAccountId: row!.id, data: input }, now);
    return row!;
  });
}

export async function listSubAccounts(deps: Deps, params: { actor: Actor; limit?: number; before?: string }): Promise<SubAccount[]> {
  const agencyId = agencyIdOf(params.actor);
  return deps.db
    .select()
    .from(subAccounts)
    .where(and(eq(subAccounts.agencyId, agencyId), params.before ? lt(subAccounts.id, params.before) : undefined))
    .orderBy(desc(subAccounts.id))
    .limit(Math.min(params.limit ?? 100, 500));
}

/**
 * A sub-account the actor may see: its own (sub-account actor) or one of its agency's. Any other
 * id is "not found", whether or not it exists, so ids cannot be probed across tenants.
 */
export async function getSubAccount(deps: Pick<Deps, 'db'>, params: { actor: Actor; subAccountId: string }): Promise<SubAccount> {
  const { actor, subAccountId } = params;
  if (actor.scope === 'sub_account' && actor.subAccountId !== subAccountId) throw errors.notFound('Sub-account');
  if (actor.scope === 'platform') throw errors.notFound('Sub-account');
  const [row] = await deps.db
    .select()
    .from(subAccounts)
    .where(and(eq(subAccounts.id, subAccountId), eq(subAccounts.agencyId, actor.agencyId!)));
  if (!row) throw errors.notFound('Sub-account');
  return row;
}
