import { inArray } from 'drizzle-orm';
import { departments } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import type { UsageEvent, UsageRecorder, UsageResult } from '../usage/usage-recorder';
import { recordUsage, recordUsageBatch, usageEventSchema, usageOwner, type BatchResult } from '../usage/usage.usecases';
import { ensureFunds } from './charge';

/**
 * POST /api/v1/usage: records one event; refused for lack of credits with auto-billing on, buys
 * the shortfall and records it again. Never waits for a charge longer than
 * config.usageTopupWaitMs: then it answers 402 topup_pending (retryAfterSeconds) and the retry
 * is served once the charge settles.
 */
export async function recordUsageWithAutoBilling(deps: Deps, recorder: UsageRecorder, actor: Actor, input: unknown): Promise<UsageResult> {
  const result = await recordUsage(recorder, actor, input);
  if (result.status !== 402) return result;
  return (await autoBillUsage(deps, recorder, actor, [usageEventSchema.parse(input)], [result]))[0] ?? result;
}

/** POST /api/v1/usage/batch: the same for up to 1,000 events, each with its own result. */
export async function recordUsageBatchWithAutoBilling(deps: Deps, recorder: UsageRecorder, actor: Actor, input: unknown): Promise<BatchResult[]> {
  const results = await recordUsageBatch(recorder, actor, input);
  if (!results.some((x) => x.status === 402)) return results;
  const raw = ((input ?? {}) as { events?: unknown[] }).events ?? [];
  const events = raw.map((e) => {
    const p = usageEventSchema.safeParse(e);
    return p.success ? p.data : null;
  });
  return (await autoBillUsage(deps, recorder, actor, events, results)) as BatchResult[];
}

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
    const outcome = await ensureFunds(deps, { owner, credits, trigger: owner.subAccountId ? 'sub_account_usage' : 'agency_usage', reference: 'usage', maxWaitMs: deps.config.usageTopupWaitMs });
    if (outcome === 'off') return results;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const retryAfter = err.details?.retryAfterSeconds;
    const failure: UsageResult = { status: 402, error: err.code, message: err.message, ...(typeof retryAfter === 'number' ? { retryAfterSeconds: retryAfter } : {}) };
    return results.map((r, i) => (refused.includes(i) ? failure : r));
  }
  const again = await recorder.record(owner, refused.map((i) => events[i]!));
  const out: (R | UsageResult)[] = [...results];
  refused.forEach((i, k) => (out[i] = again[k]!));
  return out;
}
