import { z } from 'zod';
import type { Actor } from '../auth/actor';
import type { AccountOwner } from '../credits/ledger';
import { AppError, errors } from '../lib/errors';
import { fieldErrors, opaqueId, parse } from '../lib/validation';
import type { UsageEvent, UsageRecorder, UsageResult } from './usage-recorder';
import { msg } from '../lib/message';

export const MAX_BATCH = 1000;

export const usageEventSchema = z.object({
  conversationId: z.string({ error: 'conversationId must be a string.' }).min(1, 'conversationId must not be empty.').max(200, 'conversationId is too long (200 characters at most).'),
  departmentId: opaqueId,
  /** Optional: the account's representative who handled the conversation (reports by representative). */
  representativeId: opaqueId.optional(),
});

/** Sub-account keys charge their own balance; agency keys charge the pool (the agency's own chatbot). */
export function usageOwner(actor: Actor): AccountOwner {
  if (actor.scope === 'sub_account') return { agencyId: actor.agencyId!, subAccountId: actor.subAccountId! };
  if (actor.scope === 'agency') return { agencyId: actor.agencyId!, subAccountId: null };
  throw errors.wrongScope('agency or sub-account');
}

export async function recordUsage(recorder: UsageRecorder, actor: Actor, input: unknown): Promise<UsageResult> {
  const owner = usageOwner(actor);
  const event = parse(usageEventSchema, input);
  const [result] = await recorder.record(owner, [event]);
  return result!;
}

export type BatchResult = UsageResult | { status: 422; error: 'validation_failed'; message: string; fields: Record<string, string> };

/** Up to 1,000 events; each gets its own result, in order. A malformed event fails alone. */
export async function recordUsageBatch(recorder: UsageRecorder, actor: Actor, input: unknown): Promise<BatchResult[]> {
  const owner = usageOwner(actor);
  const { events } = parse(z.object({ events: z.array(z.unknown(), { error: 'events must be a list.' }) }), input);
  if (events.length > MAX_BATCH) throw new AppError('batch_too_large', 422, msg('errors:usage.batchTooLarge', { max: MAX_BATCH, count: events.length }));
  const results: (BatchResult | null)[] = events.map(() => null);
  const valid: { index: number; event: UsageEvent }[] = [];
  events.forEach((raw, index) => {
    const parsed = usageEventSchema.safeParse(raw);
    if (parsed.success) valid.push({ index, event: parsed.data });
    else {
      results[index] = { status: 422, error: 'validation_failed', message: 'This event is not valid.', fields: fieldErrors(parsed.error.issues) };
    }
  });
  if (valid.length > 0) {
    const applied = await recorder.record(owner, valid.map((v) => v.event));
    valid.forEach((v, i) => (results[v.index] = applied[i]!));
  }
  return results as BatchResult[];
}
