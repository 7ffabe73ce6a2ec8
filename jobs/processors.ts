// Every background job, by name. The same processors run on BullMQ workers and in-process.
import type { Deps } from '../src/deps';
import { dispatchEmails, pendingEmailIds, SEND_MAIL_JOB, sendQueuedEmail } from '../src/mail/outbox';
import type { Processors } from '../src/queue';
import { pruneExpiredSessions } from '../src/web/session-store';
import { pruneSignInFailures } from '../src/users/sign-in-throttle';
import { GRANT_PURCHASE_JOB, grantPurchase, paidPurchaseIds } from '../src/purchases/purchases.usecases';
import { SUBSCRIPTION_GRANTS_JOB } from '../src/subscriptions/grants';
import { runGrantsWithAutoBilling } from '../src/auto-billing/grants-hook';
import { reconcileAutoBilling } from '../src/auto-billing/auto-billing.usecases';
import { reconcilePayments } from '../src/payments/checkout-flow';

export const RECONCILE_PAYMENTS_JOB = 'payments.reconcile';
export const AUTO_BILLING_RECONCILE_JOB = 'auto-billing.reconcile';
import { DELIVER_PENDING_JOB, INVOICE_CUT_JOB, pendingDeliveryIds, runInvoiceCut } from '../src/billing/invoice-cut';
import { runSuspensionCheck, SUSPENSION_CHECK_JOB } from '../src/suspension/suspension.usecases';
import { DELIVER_INVOICE_JOB, deliverInvoice, dispatchInvoiceDelivery, stalledInvoiceIds } from '../src/billing/invoice-delivery';

export const TICK_JOB = 'tick';
export const TICK_EVERY_MS = 60_000;

export function createProcessors(deps: Deps): Processors {
  return {
    [SEND_MAIL_JOB]: async (data) => sendQueuedEmail({ db: deps.db, mailer: deps.mailer, now: () => deps.clock.now() }, String(data.id)),

    // A paid purchase not granted yet (pool short, crash): tried again; it is never dropped.
    [GRANT_PURCHASE_JOB]: async (data) => grantPurchase(deps, String(data.purchaseId)),

    // Monthly grants; agencies with auto-billing on top up their pool first when it is short.
    [SUBSCRIPTION_GRANTS_JOB]: async () => runGrantsWithAutoBilling(deps),

    [AUTO_BILLING_RECONCILE_JOB]: async () => reconcileAutoBilling(deps),

    // Confirmed at a gateway but not applied here (lost callback, webhook that failed to apply).
    [RECONCILE_PAYMENTS_JOB]: async () => reconcilePayments(deps),

    // Invoices: the monthly cut (finds its months from the clock), then one delivery job per
    // issued invoice (PDF, email, collection).
    [INVOICE_CUT_JOB]: async () => runInvoiceCut(deps),
    [DELIVER_PENDING_JOB]: async () => {
      const ids = await pendingDeliveryIds(deps);
      await dispatchInvoiceDelivery(deps.queue, ids);
      return { dispatched: ids.length };
    },
    [DELIVER_INVOICE_JOB]: async (data) => deliverInvoice(deps, String(data.invoiceId)),

    // Overdue invoices: suspends accounts with two or more, reactivates those with fewer.
    [SUSPENSION_CHECK_JOB]: async () => runSuspensionCheck(deps),

    // The scheduler's heartbeat: finds whatever is due by the clock and enqueues it. Work is
    // found from the database, not from when the tick fired, so a missed or repeated tick is harmless.
    [TICK_JOB]: async () => {
      const stale = await pendingEmailIds(deps.db, new Date(deps.clock.now().getTime() - 60_000));
      await dispatchEmails(deps.queue, stale);
      await pruneExpiredSessions(deps.db);
      await pruneSignInFailures(deps.db);
      const now = deps.clock.now().getTime();
      const waiting = await paidPurchaseIds(deps.db, new Date(now - 60_000));
      for (const id of waiting) await deps.queue.enqueue(GRANT_PURCHASE_JOB, { purchaseId: id }, { jobId: `grant:${id}:${Math.floor(now / 60_000)}` });
      // Minute-keyed: two ticks in the same minute (two schedulers) run the grants once.
      await deps.queue.enqueue(SUBSCRIPTION_GRANTS_JOB, {}, { jobId: `grants:${Math.floor(now / 60_000)}` });
      await deps.queue.enqueue(RECONCILE_PAYMENTS_JOB, {}, { jobId: `reconcile:${Math.floor(now / 60_000)}` });
      await deps.queue.enqueue(AUTO_BILLING_RECONCILE_JOB, {}, { jobId: `auto-billing:${Math.floor(now / 60_000)}` });
      await deps.queue.enqueue(INVOICE_CUT_JOB, {}, { jobId: `invoice-cut:${Math.floor(now / 60_000)}` });
      // Hourly: an invoice becomes overdue at midnight in its seller's zone, so each zone's
      // midnight is caught within the hour. The check is idempotent, so a repeat is harmless.
      await deps.queue.enqueue(SUSPENSION_CHECK_JOB, {}, { jobId: `suspension:${Math.floor(now / 3_600_000)}` });
      // Issued invoices a crash left undelivered or uncollected.
      const stalled = await stalledInvoiceIds(deps, new Date(now - 60_000));
      await dispatchInvoiceDelivery(deps.queue, stalled);
      return { emailsRequeued: stale.length, purchasesRetried: waiting.length, invoicesRedelivered: stalled.length };
    },
  };
}

export const jobNames = () => [SEND_MAIL_JOB, TICK_JOB, GRANT_PURCHASE_JOB, SUBSCRIPTION_GRANTS_JOB, RECONCILE_PAYMENTS_JOB, AUTO_BILLING_RECONCILE_JOB, INVOICE_CUT_JOB, DELIVER_PENDING_JOB, DELIVER_INVOICE_JOB, SUSPENSION_CHECK_JOB];
