import { sql } from 'drizzle-orm';
import { defineJob, noPayload } from '../queue/job';
import { SUBSCRIPTION_GRANTS_JOB } from '../monthly-grants/grants';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { rowsOf } from '../lib/rows';
import { runSubscriptionGrants, type GrantRun } from '../monthly-grants/grants';
import { ensureFunds } from './charge';

/**
 * The monthly grant job with auto-billing (trigger 2): before granting, every agency with
 * auto-billing on whose pool cannot cover its clients' due grants buys the shortfall, so the
 * grants go through in the same job. An agency whose top-up fails (cap, decline) is left to the
 * grant run's usual rule: its grants stay due and it is told once.
 */
export async function runGrantsWithAutoBilling(deps: Deps): Promise<GrantRun & { autoBilled: number }> {
  const now = deps.clock.now();
  const needs = rowsOf<{ agency_id: string; need: string }>(await deps.db.execute(sql`
    select s.agency_id, sum(s.monthly_credits) as need
    from subscriptions s
    join agencies a on a.id = s.agency_id
    join auto_billing_settings b on b.owner_key = 'agency:' || s.agency_id and b.enabled
    where s.status = 'active' and s.next_grant_at <= ${now.toISOString()}::timestamptz and a.status = 'active'
    group by s.agency_id`));
  let autoBilled = 0;
  for (const n of needs) {
    try {
      const r = await ensureFunds(deps, { owner: { agencyId: n.agency_id, subAccountId: null }, credits: Number(n.need), trigger: 'monthly_grant', reference: `grants:${now.toISOString().slice(0, 10)}` });
      if (r === 'covered') autoBilled += 1;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      deps.logger.warn('auto-billing before monthly grants failed', { agencyId: n.agency_id, code: err.code });
    }
  }
  return { ...(await runSubscriptionGrants(deps)), autoBilled };
}

/** Monthly grants; agencies with auto-billing on top up their pool first when it is short. */
export const subscriptionGrantsJob = defineJob({ name: SUBSCRIPTION_GRANTS_JOB, payload: noPayload, handle: (deps) => runGrantsWithAutoBilling(deps) });
