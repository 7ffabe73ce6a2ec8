// A paid purchase waiting for its agency's pool is applied the moment the pool allows: whatever
// credits the pool (a platform adjustment, a top-up order, an automatic top-up) enqueues this job,
// which tries the agency's waiting purchases oldest first. The tick still retries every minute.
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { purchases } from '../../db/schema';
import type { Deps } from '../deps';
import { newId } from '../lib/ids';
import { defineJob, enqueueJob } from '../queue/job';
import { grantPurchase } from './purchases.usecases';

export const GRANT_WAITING_JOB = 'purchase.grant-waiting';

/** Tries every paid purchase of the agency, oldest payment first; each grant is idempotent. */
export async function grantWaitingPurchases(deps: Deps, agencyId: string): Promise<{ granted: number; waiting: number }> {
  const rows = await deps.db
    .select({ id: purchases.id })
    .from(purchases)
    .where(and(eq(purchases.agencyId, agencyId), eq(purchases.status, 'paid')))
    .orderBy(asc(purchases.paidAt), asc(purchases.id))
    .limit(500);
  let granted = 0;
  for (const r of rows) {
    const outcome = await grantPurchase(deps, r.id);
    if (outcome === 'granted') granted += 1;
  }
  return { granted, waiting: rows.length - granted };
}

export const grantWaitingJob = defineJob({
  name: GRANT_WAITING_JOB,
  payload: z.object({ agencyId: z.string().min(1) }),
  handle: (deps, { agencyId }) => grantWaitingPurchases(deps, agencyId),
});

/** After the agency's pool was credited (and committed). */
export async function poolCredited(deps: Pick<Deps, 'queue'>, agencyId: string): Promise<void> {
  await enqueueJob(deps.queue, grantWaitingJob, { agencyId }, { jobId: `grant-waiting:${agencyId}:${newId('x')}` });
}
