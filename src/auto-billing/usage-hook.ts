import { inArray } from 'drizzle-orm';
import { departments } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import type { UsageEvent, UsageRecorder, UsageResult } from '../usage/usage-recorder';
import { usageOwner } from '../usage/usage.usecases';
import { ensureFunds } from './auto-billing.usecases';

/**
 * Usage refused for lack of credits, with auto-billing on: buy what is missing (one charge for
 * every concurrent shortage of the account), then record the refused events again, in the same
 * request. With auto-billing off the 402 answers stand. Only events refused with
 * insufficient_credits are retried; the others keep their own results.
 */
export async function autoBillUsage<R extends UsageResult | { status: number }>(deps: Deps, recorder: UsageRecorder, actor: Actor, events: (UsageEvent | null)[], results: R[]): Promise<(R | UsageResult)[]> {
  const refused = results.flatMap((r, i) => ((r as UsageResult).status === 402 && (r as { error?: string }).error === 'insufficient_credits' && events[i] ? [i] : []));
  if (refused.length === 0) return results;
  const owner = usageOwner(actor);
  const depIds = [...new Set(refused.map((i) => events[i]!.departmentId))];
  const costs = new Map((await deps.db.select({ id: departments.id, cost: departments.creditsPerRequest }).from(departments).where(inArray(departments.id, depIds))).map((d) => [d.id, d.cost]));
  // A conversation is charged once per department: count each (conversation, department) once.
  const seen = new Set<string>();
  let credits = 0;
  for (const i of refused) {
    const e = events[i]!;
    const key = `${e.departmentId}\u0000${e.conversationId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    credits += costs.get(e.departmentId) ?? 0;
  }
  try {
    const outcome = await ensureFunds(deps, { owner, credits, trigger: owner.subAccountId ? 'sub_account_usage' : 'agency_usage', reference: 'usage' });
    if (outcome === 'off') return results;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const failure: UsageResult = { status: 402, error: err.code, message: err.message };
    return results.map((r, i) => (refused.includes(i) ? failure : r));
  }
  const again = await recorder.record(owner, refused.map((i) => events[i]!));
  const out: (R | UsageResult)[] = [...results];
  refused.forEach((i, k) => (out[i] = again[k]!));
  return out;
}
