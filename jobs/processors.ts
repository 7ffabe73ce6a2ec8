// Every background job. Each is one definition (name, payload schema, handler: src/queue/job.ts)
// kept beside its use case; this file lists them, and defines the tick that schedules the rest.
// The same processors run on BullMQ workers and in-process.
import type { Deps } from '../src/deps';
import { autoBillingReconcileJob } from '../src/auto-billing/charge';
import { subscriptionGrantsJob } from '../src/auto-billing/grants-hook';
import { invoiceCutJob } from '../src/billing/invoice-cut';
import { deliverInvoiceJob, deliverPendingJob, dispatchInvoiceDelivery, stalledInvoiceIds } from '../src/billing/invoice-delivery';
import { dispatchEmails, pendingEmailIds, sendMailJob } from '../src/mail/outbox';
import { pollEInvoiceJob, sendEInvoiceJob, sweepEInvoices } from '../src/einvoice/send';
import { reconcilePaymentsJob } from '../src/payments/checkout-flow';
import { grantPurchaseJob, paidPurchaseIds } from '../src/purchases/purchases.usecases';
import { grantWaitingJob } from '../src/purchases/waiting-grants';
import { pruneIdempotencyKeys } from '../src/api-keys/idempotency-keys';
import { reportSealingJob } from '../src/reports/rollup-levels';
import type { Processors } from '../src/queue';
import { defineJob, enqueueJob, noPayload, processorsOf, type JobDefinition } from '../src/queue/job';
import { pushSweepJob, sendPushJob } from '../src/notifications/push';
import { suspensionCheckJob } from '../src/suspension/suspension.usecases';
import { collectionsJob } from '../src/collections/collections.job';
import { pruneSignInFailures } from '../src/users/sign-in-throttle';
import { webhookDeliveryJob } from '../src/webhooks/deliver';
import { pruneExpiredSessions } from '../src/web/session-store';

export const TICK_JOB = 'tick';
export const TICK_EVERY_MS = 60_000;
export const RECONCILE_PAYMENTS_JOB = reconcilePaymentsJob.name;
export const AUTO_BILLING_RECONCILE_JOB = autoBillingReconcileJob.name;

/**
 * The scheduler's heartbeat: finds whatever is due by the clock and enqueues it. Work is found from
 * the database, not from when the tick fired, so a missed or repeated tick is harmless.
 */
export const tickJob = defineJob({
  name: TICK_JOB,
  payload: noPayload, // { reason } when the test clock moved
  handle: async (deps: Deps) => {
    const stale = await pendingEmailIds(deps.db, new Date(deps.clock.now().getTime() - 60_000));
    await dispatchEmails(deps.queue, stale);
    await pruneExpiredSessions(deps.db);
    await pruneSignInFailures(deps.db);
    await pruneIdempotencyKeys(deps);
    const now = deps.clock.now().getTime();
    const minute = Math.floor(now / 60_000);
    const waiting = await paidPurchaseIds(deps.db, new Date(now - 60_000));
    for (const id of waiting) await enqueueJob(deps.queue, grantPurchaseJob, { purchaseId: id }, { jobId: `grant:${id}:${minute}` });
    // Minute-keyed: two ticks in the same minute (two schedulers) run the grants once.
    await enqueueJob(deps.queue, subscriptionGrantsJob, {}, { jobId: `grants:${minute}` });
    await enqueueJob(deps.queue, reconcilePaymentsJob, {}, { jobId: `reconcile:${minute}` });
    await enqueueJob(deps.queue, autoBillingReconcileJob, {}, { jobId: `auto-billing:${minute}` });
    await enqueueJob(deps.queue, invoiceCutJob, {}, { jobId: `invoice-cut:${minute}` });
    // Hourly: an invoice becomes overdue at midnight in its seller's zone, so each zone's
    // midnight is caught within the hour. The check is idempotent, so a repeat is harmless.
    await enqueueJob(deps.queue, suspensionCheckJob, {}, { jobId: `suspension:${Math.floor(now / 3_600_000)}` });
    // Hourly, after the check: saved-card retries and payment reminders due today (docs/collections.md).
    await enqueueJob(deps.queue, collectionsJob, {}, { jobId: `collections:${Math.floor(now / 3_600_000)}` });
    // Hourly too: the reports' second level seals each agency's closed days (idempotent).
    await enqueueJob(deps.queue, reportSealingJob, {}, { jobId: `reports-seal:${Math.floor(now / 3_600_000)}` });
    // Issued invoices a crash left undelivered or uncollected.
    const stalled = await stalledInvoiceIds(deps, new Date(now - 60_000));
    await dispatchInvoiceDelivery(deps.queue, stalled);
    // e-Invoices: issued ones not queued yet, stalled attempts, pending answers (src/einvoice/send.ts).
    await sweepEInvoices(deps);
    return { emailsRequeued: stale.length, purchasesRetried: waiting.length, invoicesRedelivered: stalled.length };
  },
});

/**
 * Deadline of one attempt of the sweeps: jobs that walk every subscription, account or overdue
 * invoice, or call a gateway (up to GATEWAY_TIMEOUT_MS each) for every pending payment or charge.
 * At scale they legitimately run for minutes (100k accounts: about 10 s on a quiet machine, a few
 * times that under load, more when months are caught up), longer than JOB_TIMEOUT_MS is meant for.
 * An hour still ends an attempt whose work never settles.
 */
export const SWEEP_TIMEOUT_MS = 60 * 60_000;
const sweep = <D extends JobDefinition>(job: D): D => ({ ...job, timeoutMs: SWEEP_TIMEOUT_MS });

/** Every job the workers run. The others get the worker's JOB_TIMEOUT_MS per attempt. */
export const jobs: readonly JobDefinition[] = [
  sendMailJob, tickJob, grantPurchaseJob, grantWaitingJob, sweep(subscriptionGrantsJob), sweep(reconcilePaymentsJob), sweep(autoBillingReconcileJob),
  sweep(invoiceCutJob), deliverPendingJob, deliverInvoiceJob, sweep(suspensionCheckJob), sweep(collectionsJob), sendPushJob, pushSweepJob, sweep(reportSealingJob), sendEInvoiceJob, pollEInvoiceJob,
  webhookDeliveryJob,
] as unknown as readonly JobDefinition[];

export function createProcessors(deps: Deps): Processors {
  return processorsOf(deps, jobs);
}

export const jobNames = () => jobs.map((j) => j.name);
