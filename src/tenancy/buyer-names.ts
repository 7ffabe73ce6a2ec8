import { and, eq, inArray } from 'drizzle-orm';
import { agencies, subAccounts } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';

/**
 * The names of a seller's buyers, for screens that list them by account id (issued invoices):
 * the platform's agencies, or an agency's own sub-accounts. Ids outside the actor's tenant are
 * simply absent from the answer.
 */
export async function buyerNames(deps: Pick<Deps, 'db'>, params: { actor: Actor; accountIds: readonly string[] }): Promise<Map<string, string>> {
  const ids = [...new Set(params.accountIds)];
  if (ids.length === 0) return new Map();
  const { actor } = params;
  const rows = actor.scope === 'platform'
    ? await deps.db.select({ id: agencies.id, name: agencies.name }).from(agencies).where(inArray(agencies.id, ids))
    : actor.scope === 'agency'
      ? await deps.db.select({ id: subAccounts.id, name: subAccounts.name }).from(subAccounts).where(and(eq(subAccounts.agencyId, actor.agencyId!), inArray(subAccounts.id, ids)))
      : [];
  return new Map(rows.map((r) => [r.id, r.name]));
}
