// After an invoice is issued (the monthly cut, a term purchase): its PDF is rendered and emailed
// through the outbox, then it goes to collection. A job per invoice, idempotent: the outbox key
// and `delivered_at` make a rerun mail nothing twice; the tick picks up what a crash left behind.
import { z } from 'zod';
import { defineJob, enqueueJob, noPayload } from '../queue/job';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { rowsOf } from '../lib/rows';
import { invoices } from '../../db/schema';
import type { Deps } from '../deps';
import { msg } from '../lib/message';
import { mailLanguage, mailWriter } from '../mail/language';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import type { Queue } from '../queue';
import { billingAccount, invoiceRecipients, sellerTerms } from './accounts';
import { collectInvoice } from './collect';
import { formatInvoiceNumber } from './invoice-numbers';
import { renderInvoicePdf } from './invoice-pdf';
import { getInvoiceForSystem } from './invoices.usecases';
import { queueEInvoice } from '../einvoice/send';
import { emitEvent } from '../webhooks/emit';

export const DELIVER_INVOICE_JOB = 'invoice.deliver';

export async function dispatchInvoiceDelivery(queue: Queue, ids: readonly string[]): Promise<void> {
  for (const id of ids) await enqueueJob(queue, deliverInvoiceJob, { invoiceId: id }, { jobId: `invoice-deliver:${id}` });
}

/** After a payment's settlement committed: its paid invoice (if it issued one) goes to delivery now, not at the next tick. */
export async function deliverPaymentInvoice(deps: Pick<Deps, 'db' | 'queue'>, paymentId: string): Promise<void> {
  const [inv] = await deps.db.select({ id: invoices.id }).from(invoices).where(and(eq(invoices.kind, 'purchase'), eq(invoices.paymentId, paymentId)));
  if (inv) await dispatchInvoiceDelivery(deps.queue, [inv.id]);
}

/** The delivery job: PDF + email once, then collection. */
export async function deliverInvoice(deps: Deps, invoiceId: string): Promise<'delivered' | 'already'> {
  const now = deps.clock.now();
  const mailId = await deps.db.transaction(async (tx) => {
    const [row] = await tx.select({ deliveredAt: invoices.deliveredAt }).from(invoices).where(eq(invoices.id, invoiceId)).for('update');
    if (!row || row.deliveredAt) return undefined;
    const inv = await getInvoiceForSystem(tx, invoiceId);
    const account = await billingAccount(tx, inv.agencyId, inv.subAccountId);
    const seller = await sellerTerms(tx, inv.sellerAgencyId);
    const { to, cc } = await invoiceRecipients(tx, inv.agencyId, inv.subAccountId);
    // The buyer's language (its people's own choice, else its agency's), days in the seller's zone.
    const lang = await mailLanguage(tx, inv.agencyId, to);
    const pdf = await renderInvoicePdf(inv, { sellerName: seller.name, buyerName: account.buyerName, locale: lang });
    const w = mailWriter(lang, seller.zone);
    const n = formatInvoiceNumber(inv.number);
    const amount = w.fmt.money(inv.totalMinor, inv.currency);
    const what = inv.kind === 'purchase' ? w.t('tax:purchase.purchase', { on: w.fmt.day(inv.issueDay) }) : w.t(inv.kind === 'monthly' ? 'email:invoice.period' : 'email:invoice.term', { from: w.fmt.day(inv.periodStart), to: w.fmt.day(inv.periodEnd) });
    // An invoice always goes by email, whatever the recipients' notification choices (the law needs it).
    const id = await notify(tx, {
      category: 'billing', kind: 'invoice_issued', alwaysEmail: true,
      account: { agencyId: inv.agencyId, subAccountId: inv.subAccountId },
      at: now,
      inApp: { message: msg('email:invoice.subject', { n, seller: seller.name, amount }), data: { invoiceId: inv.id, number: n } },
      email: { idempotencyKey: `invoice:${inv.id}`, message: {
        to, cc, subject: w.t('email:invoice.subject', { n, seller: seller.name, amount }), text: inv.status === 'paid' ? w.t('tax:purchase.emailBody', { buyer: account.buyerName, n, what, amount }) : w.t('email:invoice.body', { buyer: account.buyerName, n, what, amount, due: w.fmt.day(inv.dueDay) }),
        attachments: [{ filename: `${n}.pdf`, content: pdf.toString('base64'), encoding: 'base64', contentType: 'application/pdf' }],
      } },
    });
    await tx.update(invoices).set({ deliveredAt: now, updatedAt: now }).where(eq(invoices.id, invoiceId));
    await emitEvent(tx, { type: 'invoice.issued', at: now, data: { account: { agencyId: inv.agencyId, subAccountId: inv.subAccountId }, invoiceId: inv.id, number: n, totalMinor: inv.totalMinor, currency: inv.currency, issueDay: inv.issueDay, dueDay: inv.dueDay } });
    return id;
  });
  // To GİB through the seller's e-invoice integrator, if it has one (idempotent).
  await queueEInvoice(deps, { kind: 'invoice', id: invoiceId });
  if (mailId === undefined) {
    await collectInvoice(deps, invoiceId);
    return 'already';
  }
  await dispatchEmails(deps.queue, [mailId]);
  await collectInvoice(deps, invoiceId);
  return 'delivered';
}

/** For the tick: invoices issued a minute ago or more and not delivered, or delivered but not collected. */
export async function stalledInvoiceIds(deps: Pick<Deps, 'db'>, olderThan: Date): Promise<string[]> {
  const rows = await deps.db
    .select({ id: invoices.id })
    .from(invoices)
    .where(and(or(eq(invoices.status, 'draft'), and(eq(invoices.kind, 'purchase'), isNull(invoices.deliveredAt))), lt(invoices.createdAt, olderThan)))
    .limit(1000);
  return rows.map((r) => r.id);
}

/** Delivers one issued invoice: PDF, email, then collection from a saved card. */
export const deliverInvoiceJob = defineJob({
  name: DELIVER_INVOICE_JOB,
  payload: z.object({ invoiceId: z.string().min(1) }),
  handle: (deps, { invoiceId }) => deliverInvoice(deps, invoiceId),
});

export const DELIVER_PENDING_JOB = 'invoices.deliver-pending';

/** Draft invoices not delivered yet: one delivery job each (after a cut, or from the tick). */
export async function pendingDeliveryIds(deps: Pick<Deps, 'db'>, limit = 1000): Promise<string[]> {
  return rowsOf<{ id: string }>(await deps.db.execute(sql`
    select id from invoices where status = 'draft' or (kind = 'purchase' and delivered_at is null) order by created_at, id limit ${limit}`)).map((r) => r.id);
}

/** One delivery job per issued invoice not delivered yet (PDF, email, collection). */
export const deliverPendingJob = defineJob({
  name: DELIVER_PENDING_JOB,
  payload: noPayload,
  handle: async (deps) => {
    const ids = await pendingDeliveryIds(deps);
    await dispatchInvoiceDelivery(deps.queue, ids);
    return { dispatched: ids.length };
  },
});
