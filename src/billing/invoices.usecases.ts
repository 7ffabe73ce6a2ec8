// Invoices: issuing a term purchase's invoice, reading invoices (the buyer's own; a seller's
// issued ones) and recording a payment. The monthly cut is in invoice-cut.ts.
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { invoiceLines, invoices, offers, offerVersions, payments, type InvoiceStatus } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { dispatchEmails } from '../mail/outbox';
import { applyOverdueRule } from '../suspension/suspension.usecases';
import { buyerAccount, PLATFORM_SELLER_KEY, sellerTerms, type BillingAccount } from './accounts';
import { issueInvoice } from './invoice-issue';
import { formatInvoiceNumber } from './invoice-numbers';
import { daysBetween, termDiscountPercent, type TermMonths } from './proration';

export { addressSnapshot } from './invoice-issue';
import type { BillingSubscription } from './subscriptions.usecases';
import { msg } from '../lib/message';
import { emitInvoicePaid } from '../webhooks/emit';

export type Invoice = typeof invoices.$inferSelect;
export type InvoiceLine = typeof invoiceLines.$inferSelect;
export interface InvoiceWithLines extends Invoice {
  lines: InvoiceLine[];
  /** Paid outside Kontor: a purchase the seller recorded as paid offline (docs/tax.md). */
  paidOffline: boolean;
}

/**
 * A term purchase's invoice, issued in the purchase's transaction with the seller's next number:
 * one line, monthly price x months x (1 - discount), taxed like every invoice (invoice-issue.ts),
 * due after the seller's due days. It is delivered (PDF, email) and handed to collection by the
 * delivery job after commit.
 */
export async function issueTermInvoice(tx: Tx, p: { account: BillingAccount; sub: BillingSubscription; now: Date }): Promise<string> {
  const { account, sub, now } = p;
  const months = sub.termMonths as TermMonths;
  const issued = await issueInvoice(tx, {
    account, kind: 'term', periodStart: sub.startDay, periodEnd: sub.termLastDay!, currency: sub.currency, now, subscriptionId: sub.id,
    lines: [{
      kind: 'term', subscriptionId: sub.id, rateBp: await offerRate(tx, sub.packageId),
      description: `${sub.name}${sub.quantity > 1 ? ` x ${sub.quantity}` : ''}: ${months}-month term, ${termDiscountPercent(months)}% off the monthly price`,
      descriptionKey: msg(sub.quantity > 1 ? 'billing:line.termQuantity' : 'billing:line.term', { name: sub.name, quantity: sub.quantity, months, percent: termDiscountPercent(months) }),
      fromDay: sub.startDay, throughDay: sub.termLastDay, quantity: sub.quantity, unitPriceMinor: sub.monthlyPriceMinor * sub.quantity, amountMinor: sub.termPriceMinor!,
    }],
  });
  return issued.id;
}

/** An offer's own tax rate (its current version's); null: the seller's default. */
async function offerRate(tx: Tx, offerId: string): Promise<number | null> {
  const [row] = await tx.select({ rate: offerVersions.taxRateBp }).from(offers).innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId)).where(eq(offers.id, offerId));
  return row?.rate ?? null;
}

async function withLines(db: Deps['db'] | Tx, invoice: Invoice): Promise<InvoiceWithLines> {
  const lines = await db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, invoice.id)).orderBy(asc(invoiceLines.position));
  const [payment] = invoice.paymentId ? await db.select({ gateway: payments.gateway }).from(payments).where(eq(payments.id, invoice.paymentId)) : [];
  return { ...invoice, lines, paidOffline: payment?.gateway === 'offline' };
}

/** An invoice with its lines, unscoped: for jobs only. */
export async function getInvoiceForSystem(db: Deps['db'] | Tx, invoiceId: string): Promise<InvoiceWithLines> {
  const [row] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  if (!row) throw errors.notFound('Invoice');
  return withLines(db, row);
}

/** The caller's own invoices (as a buyer), newest first. */
export async function listInvoices(deps: Pick<Deps, 'db'>, params: { actor: Actor; limit?: number }): Promise<Invoice[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return deps.db
    .select()
    .from(invoices)
    .where(and(eq(invoices.buyerId, account.buyerId), eq(invoices.agencyId, account.agencyId)))
    .orderBy(desc(invoices.issueDay), desc(invoices.number))
    .limit(Math.min(params.limit ?? 200, 500));
}

/**
 * One invoice the actor may read: its own (as a buyer), or one it issued (an agency's to its
 * sub-accounts, the platform's to agencies). Any other id is not found.
 */
export async function getInvoice(deps: Pick<Deps, 'db'>, params: { actor: Actor; invoiceId: string }): Promise<InvoiceWithLines> {
  const { actor } = params;
  const [row] = await deps.db.select().from(invoices).where(eq(invoices.id, params.invoiceId));
  if (!row || !canRead(actor, row)) throw errors.notFound('Invoice');
  return withLines(deps.db, row);
}

function canRead(actor: Actor, inv: Invoice): boolean {
  if (actor.scope === 'platform') return inv.sellerAgencyId === null;
  if (actor.scope === 'sub_account') return inv.subAccountId === actor.subAccountId && inv.agencyId === actor.agencyId;
  // An agency: its own invoices from the platform, and those it issued to its sub-accounts.
  return inv.agencyId === actor.agencyId && (inv.subAccountId === null || inv.sellerAgencyId === actor.agencyId);
}

const isSeller = (actor: Actor, inv: Invoice) => (actor.scope === 'platform' ? inv.sellerAgencyId === null : actor.scope === 'agency' && inv.sellerAgencyId === actor.agencyId);

/**
 * Invoices a seller issued (the platform's to agencies, an agency's to its sub-accounts), newest
 * first; `before` (an invoice id of the seller's) starts after that invoice, for the next page.
 */
export async function listIssuedInvoices(deps: Pick<Deps, 'db'>, params: { actor: Actor; accountId?: string; limit?: number; before?: string }): Promise<Invoice[]> {
  const { actor } = params;
  if (actor.scope === 'sub_account') throw errors.wrongScope('platform or agency');
  const seller = actor.scope === 'platform' ? isNull(invoices.sellerAgencyId) : eq(invoices.sellerAgencyId, actor.agencyId!);
  const after = params.before
    ? sql`(${invoices.issueDay}, ${invoices.number}) < (select c.issue_day, c.number from ${invoices} c where c.id = ${params.before} and c.seller_key = ${actor.scope === 'platform' ? PLATFORM_SELLER_KEY : actor.agencyId!})`
    : undefined;
  return deps.db
    .select()
    .from(invoices)
    .where(and(seller, params.accountId ? eq(invoices.buyerId, params.accountId) : undefined, after))
    .orderBy(desc(invoices.issueDay), desc(invoices.number))
    .limit(Math.min(params.limit ?? 200, 500));
}

/**
 * Records that an invoice was paid: by the gateway layer (with its payment id) or by the seller's
 * admin ("bank transfer received", payment id null). Paying an invoice that is not open is a
 * clear error and changes nothing; in particular a paid invoice is never paid twice.
 */
export async function markInvoicePaid(
  deps: Pick<Deps, 'db' | 'clock'> & Partial<Pick<Deps, 'queue'>>,
  params: { invoiceId: string; paymentId: string | null; by: Actor },
): Promise<Invoice> {
  const now = deps.clock.now();
  const { invoice, mailIds } = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(eq(invoices.id, params.invoiceId)).for('update');
    // The system (gateway callbacks) may settle any invoice; people and keys only their own sales.
    if (!inv || (params.by.kind !== 'system' && !isSeller(params.by, inv))) throw errors.notFound('Invoice');
    if (inv.status === 'paid') throw new AppError('invoice_already_paid', 409, inv.paidAt ? msg('errors:invoice.alreadyPaidOn', { n: formatInvoiceNumber(inv.number), at: inv.paidAt.toISOString(), zone: (await sellerTerms(tx, inv.sellerAgencyId)).zone }) : msg('errors:invoice.alreadyPaid', { n: formatInvoiceNumber(inv.number) }));
    if (inv.status !== 'open' && inv.status !== 'draft') throw new AppError('invoice_not_payable', 409, msg('errors:invoice.notPayable', { n: formatInvoiceNumber(inv.number), status: `errors:invoice.status.${inv.status}` }));
    const [row] = await tx.update(invoices).set({ status: 'paid', paidAt: now, paymentId: params.paymentId, updatedAt: now }).where(eq(invoices.id, inv.id)).returning();
    await recordAudit(tx, params.by, { action: 'invoice.paid', targetType: 'invoice', targetId: inv.id, agencyId: inv.agencyId, subAccountId: inv.subAccountId, data: { paymentId: params.paymentId, amountMinor: inv.totalMinor, currency: inv.currency } }, now);
    await emitInvoicePaid(tx, inv, { number: formatInvoiceNumber(inv.number), paymentId: params.paymentId, at: now });
    // Every payment path ends here: an account suspended for its invoices comes back in the
    // payment's own transaction once fewer than two remain overdue.
    const { mailIds } = await applyOverdueRule(tx, { agencyId: inv.agencyId, subAccountId: inv.subAccountId }, { now, by: params.by });
    return { invoice: row!, mailIds };
  });
  // Without a queue (a caller that has none), the tick sends the queued email within a minute.
  if (deps.queue) await dispatchEmails(deps.queue, mailIds);
  return invoice;
}

/** The seller's admin records a bank transfer for one of its invoices. */
export async function recordBankTransfer(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; invoiceId: string }): Promise<Invoice> {
  requireRole(params.actor, 'admin');
  requireBilling(params.actor);
  if (params.actor.scope === 'sub_account') throw errors.notFound('Invoice');
  return markInvoicePaid(deps, { invoiceId: params.invoiceId, paymentId: null, by: params.actor });
}

export const invoiceStatusLabel: Record<InvoiceStatus, string> = { draft: 'being issued', open: 'awaiting payment', paid: 'paid', void: 'void', refunded: 'refunded' };

/**
 * Days an unpaid invoice is past its due day on `today` (a calendar day in its seller's zone):
 * due on the 10th, it is 1 day overdue on the 11th. 0 when not overdue (paid, void, or not due yet).
 */
export function overdueDays(inv: Pick<Invoice, 'status' | 'dueDay'>, today: string): number {
  if (inv.status !== 'open' && inv.status !== 'draft') return 0;
  return Math.max(0, daysBetween(inv.dueDay, today));
}

