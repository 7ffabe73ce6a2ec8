// Credit notes (DESIGN section 10, docs/credit-notes.md): how an issued invoice is corrected or
// refunded, since it never changes. A note names the invoice and, line by line, what it takes off
// each invoice line; it has its own gapless number series per seller, and it is emailed to the
// buyer with its PDF in the transaction that issues it (the email leaves after commit).
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx, Tx } from '../../db/client';
import { creditNoteLines, creditNotes, invoiceLines, invoices } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { money, msg } from '../lib/message';
import { parse } from '../lib/validation';
import { dispatchEmails } from '../mail/outbox';
import { mailLanguage, mailWriter } from '../mail/language';
import { notify } from '../notifications/notify';
import { taxLine } from '../tax/tax';
import { billingAccount, invoiceRecipients, PLATFORM_SELLER_KEY, sellerTerms } from './accounts';
import { allocateCreditNoteNumber, formatCreditNoteNumber } from './credit-note-numbers';
import { renderCreditNotePdf } from './credit-note-pdf';
import { formatInvoiceNumber } from './invoice-numbers';
import type { Invoice, InvoiceLine } from './invoices.usecases';
import { calendarDay } from './proration';

export type CreditNote = typeof creditNotes.$inferSelect;
export type CreditNoteLine = typeof creditNoteLines.$inferSelect;
export interface CreditNoteWithLines extends CreditNote {
  lines: CreditNoteLine[];
  /** The credited invoice's number (its seller's invoice series). */
  invoiceNumber: number;
}

/** What is asked to be reversed: an invoice line, and the net amount taken off it (omitted: all that is left of it). */
export interface CreditRequestLine {
  invoiceLineId: string;
  amountMinor?: number | undefined;
}

const reason = z
  .string({ error: 'errors:creditNote.reasonRequired' })
  .trim()
  .min(3, 'errors:creditNote.reasonRequired')
  .max(500, 'errors:creditNote.reasonTooLong');

export const creditNoteSchema = z.object({
  reason,
  lines: z
    .array(z.object({
      invoiceLineId: z.string({ error: 'errors:creditNote.unknownLine' }).min(1, 'errors:creditNote.unknownLine').max(64, 'errors:creditNote.unknownLine'),
      amountMinor: z.number({ error: 'errors:creditNote.amountWhole' }).int('errors:creditNote.amountWhole').positive('errors:creditNote.amountWhole').optional(),
    }), { error: 'errors:creditNote.linesRequired' })
    .min(1, 'errors:creditNote.linesRequired')
    .max(500, 'errors:creditNote.linesRequired'),
});

/** What has been taken off each line of an invoice so far: net and tax per invoice line id. */
export async function creditedByLine(db: DbOrTx, invoiceId: string): Promise<Map<string, { amount: number; tax: number }>> {
  const rows = await db
    .select({ lineId: creditNoteLines.invoiceLineId, amount: sql<string>`sum(${creditNoteLines.amountMinor})`, tax: sql<string>`sum(${creditNoteLines.taxMinor})` })
    .from(creditNoteLines)
    .innerJoin(creditNotes, eq(creditNotes.id, creditNoteLines.creditNoteId))
    .where(eq(creditNotes.invoiceId, invoiceId))
    .groupBy(creditNoteLines.invoiceLineId);
  return new Map(rows.map((r) => [r.lineId, { amount: Number(r.amount), tax: Number(r.tax) }]));
}

/** A line's reversal: all that is left (exactly its remaining tax), or part of its net with tax on that part. */
export function reverseLine(line: Pick<InvoiceLine, 'amountMinor' | 'taxMinor' | 'taxRateBp'>, done: { amount: number; tax: number }, amountMinor?: number): { amount: number; tax: number; full: boolean } | { beyond: number } {
  const left = { amount: line.amountMinor - done.amount, tax: line.taxMinor - done.tax };
  if (amountMinor === undefined || amountMinor === left.amount) return { ...left, full: true };
  if (amountMinor > left.amount) return { beyond: Math.max(0, left.amount) };
  // Tax on the reversed part as the line's rate gives it (half away from zero), never more than is left.
  return { amount: amountMinor, tax: Math.min(taxLine(amountMinor, line.taxRateBp, 'exclusive').tax, left.tax), full: false };
}

export interface IssueCreditNote {
  /** The invoice, read FOR UPDATE in the caller's transaction. */
  invoice: Invoice;
  lines: CreditRequestLine[];
  reason: string;
  by: Actor;
  now: Date;
}

/**
 * Issues a credit note inside the caller's transaction (which holds the invoice's row lock, so
 * two notes on one invoice take turns; the database refuses any over-credit anyway). Checks every
 * line first: an unknown line, an amount beyond what is left or an unpaid invoice credited in
 * part is a clear error and nothing is written. Once the whole invoice is credited it is marked
 * refunded (paid) or void (awaiting payment). Returns the note's id and its email's outbox id.
 */
export async function issueCreditNote(tx: Tx, p: IssueCreditNote): Promise<{ id: string; mailId: string | null }> {
  const inv = p.invoice;
  const n = formatInvoiceNumber(inv.number);
  if (inv.status !== 'open' && inv.status !== 'paid') {
    throw new AppError('invoice_not_creditable', 409, msg('errors:creditNote.notCreditable', { n, status: `errors:invoice.status.${inv.status}` }));
  }
  const lines = await tx.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, inv.id)).orderBy(asc(invoiceLines.position));
  const byId = new Map(lines.map((l) => [l.id, l]));
  const done = await creditedByLine(tx, inv.id);
  const fields: Record<string, string> = {};
  const seen = new Set<string>();
  const planned: { line: InvoiceLine; amount: number; tax: number; full: boolean }[] = [];
  p.lines.forEach((req, i) => {
    const line = byId.get(req.invoiceLineId);
    if (!line || seen.has(line.id)) {
      fields[`lines.${i}.invoiceLineId`] = line ? 'errors:creditNote.lineTwice' : msg('errors:creditNote.unknownLine', { n });
      return;
    }
    seen.add(line.id);
    const r = reverseLine(line, done.get(line.id) ?? { amount: 0, tax: 0 }, req.amountMinor);
    if ('beyond' in r) {
      fields[`lines.${i}.amountMinor`] = msg('errors:creditNote.beyondRemaining', { line: line.descriptionKey ?? line.description, left: money(r.beyond, inv.currency) });
      return;
    }
    if (r.amount + r.tax <= 0) {
      fields[`lines.${i}.invoiceLineId`] = msg('errors:creditNote.lineCredited', { line: line.descriptionKey ?? line.description });
      return;
    }
    planned.push({ line, ...r });
  });
  if (Object.keys(fields).length) {
    fields.lines ??= Object.values(fields)[0]!;
    throw new ValidationError(fields);
  }
  const total = planned.reduce((s, l) => s + l.amount + l.tax, 0);
  const creditedBefore = [...done.values()].reduce((s, d) => s + d.amount + d.tax, 0);
  const whole = creditedBefore + total === inv.totalMinor;
  // An unpaid invoice is credited whole (and voided): what the buyer owes is always an invoice's total.
  if (inv.status === 'open' && !whole) throw new AppError('partial_credit_unpaid', 409, msg('errors:creditNote.partialUnpaid', { n }));

  const number = await allocateCreditNoteNumber(tx, inv.sellerKey);
  const seller = await sellerTerms(tx, inv.sellerAgencyId);
  const id = newId('crn');
  // Lines first, then the note: once the note's row exists no line can be added to it.
  await tx.insert(creditNoteLines).values(planned.map((l, i) => ({
    id: newId('cnl'), creditNoteId: id, agencyId: inv.agencyId, position: i + 1, invoiceLineId: l.line.id, description: l.line.description, descriptionKey: l.line.descriptionKey,
    quantity: l.full && !done.has(l.line.id) ? l.line.quantity : 1, amountMinor: l.amount, taxRateBp: l.line.taxRateBp, taxMinor: l.tax,
  })));
  await tx.insert(creditNotes).values({
    id, agencyId: inv.agencyId, subAccountId: inv.subAccountId, buyerId: inv.buyerId, sellerAgencyId: inv.sellerAgencyId, sellerKey: inv.sellerKey, number,
    invoiceId: inv.id, issueDay: calendarDay(p.now, seller.zone), currency: inv.currency, totalMinor: total, taxMinor: planned.reduce((s, l) => s + l.tax, 0),
    reason: p.reason, sellerParty: inv.sellerParty, buyerParty: inv.buyerParty, billingAddress: inv.billingAddress, issuedBy: p.by.kind === 'system' ? 'system' : p.by.id,
    createdAt: p.now, updatedAt: p.now,
  });
  if (whole) await tx.update(invoices).set({ status: inv.status === 'paid' ? 'refunded' : 'void', updatedAt: p.now }).where(eq(invoices.id, inv.id));
  await recordAudit(tx, p.by, {
    action: 'credit_note.issued', targetType: 'credit_note', targetId: id, agencyId: inv.agencyId, subAccountId: inv.subAccountId,
    data: { invoiceId: inv.id, number: formatCreditNoteNumber(number), totalMinor: total, currency: inv.currency, reason: p.reason, invoiceCreditedWhole: whole },
  }, p.now);
  const mailId = await deliverCreditNote(tx, id, p.now);
  return { id, mailId };
}

/**
 * Credits all that is left of an issued invoice (a term refund, a payment refund): null when
 * nothing is left to credit. The invoice ends refunded (it was paid) or void (it was open).
 */
export async function creditWholeInvoice(tx: Tx, p: Omit<IssueCreditNote, 'lines'>): Promise<{ id: string; mailId: string | null } | null> {
  if (p.invoice.status !== 'open' && p.invoice.status !== 'paid') return null;
  const lines = await tx.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, p.invoice.id)).orderBy(asc(invoiceLines.position));
  const done = await creditedByLine(tx, p.invoice.id);
  const left = lines.filter((l) => {
    const d = done.get(l.id) ?? { amount: 0, tax: 0 };
    return l.amountMinor - d.amount >= 0 && l.taxMinor - d.tax >= 0 && l.amountMinor - d.amount + l.taxMinor - d.tax > 0;
  });
  if (!left.length) return null;
  return issueCreditNote(tx, { ...p, lines: left.map((l) => ({ invoiceLineId: l.id })) });
}

/**
 * A refunded payment's invoices (the payment that paid them: a term purchase, an invoice, all
 * overdue invoices at once) are credited whole, with the refund's reason, in the refund's
 * transaction (registered in src/composition.ts). Invoices already credited are left alone.
 */
export async function creditRefundedPayment(tx: Tx, refund: { payment: { id: string }; reason: string; by: Actor; now: Date }): Promise<(string | null)[]> {
  const paid = await tx.select().from(invoices).where(and(eq(invoices.paymentId, refund.payment.id), eq(invoices.status, 'paid'))).orderBy(asc(invoices.number)).for('update');
  const mailIds: (string | null)[] = [];
  for (const invoice of paid) {
    const note = await creditWholeInvoice(tx, { invoice, reason: refund.reason, by: refund.by, now: refund.now });
    if (note) mailIds.push(note.mailId);
  }
  return mailIds;
}

/**
 * The credit note's PDF and email to the buyer (always sent, like an invoice: the law needs it),
 * in the buyer's language; `delivered_at` and the outbox key make it once.
 */
async function deliverCreditNote(tx: Tx, id: string, now: Date): Promise<string | null> {
  const note = await creditNoteWithLines(tx, id);
  const account = await billingAccount(tx, note.agencyId, note.subAccountId);
  const seller = await sellerTerms(tx, note.sellerAgencyId);
  const { to, cc } = await invoiceRecipients(tx, note.agencyId, note.subAccountId);
  const lang = await mailLanguage(tx, note.agencyId, to);
  const pdf = await renderCreditNotePdf(note, { sellerName: seller.name, buyerName: account.buyerName, locale: lang, zone: seller.zone });
  const w = mailWriter(lang, seller.zone);
  const cn = formatCreditNoteNumber(note.number);
  const n = formatInvoiceNumber(note.invoiceNumber);
  const amount = w.fmt.money(note.totalMinor, note.currency);
  const mailId = await notify(tx, {
    category: 'billing', kind: 'credit_note_issued', alwaysEmail: true,
    account: { agencyId: note.agencyId, subAccountId: note.subAccountId },
    at: now,
    inApp: { message: msg('email:creditNote.subject', { cn, n, seller: seller.name, amount }), data: { creditNoteId: note.id, invoiceId: note.invoiceId, number: cn } },
    email: { idempotencyKey: `credit-note:${note.id}`, message: {
      to, cc, subject: w.t('email:creditNote.subject', { cn, n, seller: seller.name, amount }),
      text: w.t('email:creditNote.body', { buyer: account.buyerName, cn, n, amount, reason: note.reason, seller: seller.name }),
      attachments: [{ filename: `${cn}.pdf`, content: pdf.toString('base64'), encoding: 'base64', contentType: 'application/pdf' }],
    } },
  });
  await tx.update(creditNotes).set({ deliveredAt: now, updatedAt: now }).where(eq(creditNotes.id, id));
  return mailId;
}

/** A seller's admin credits chosen lines of one of its invoices, with a reason. */
export async function createCreditNote(deps: Pick<Deps, 'db' | 'clock' | 'queue'>, params: { actor: Actor; invoiceId: string; input: unknown }): Promise<CreditNoteWithLines> {
  const { actor } = params;
  requireRole(actor, 'admin');
  requireBilling(actor);
  if (actor.scope === 'sub_account') throw errors.wrongScope('platform or agency');
  const input = parse(creditNoteSchema, params.input);
  const now = deps.clock.now();
  const { id, mailId } = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(eq(invoices.id, params.invoiceId)).for('update');
    if (!inv || !isSeller(actor, inv)) throw errors.notFound('Invoice');
    return issueCreditNote(tx, { invoice: inv, lines: input.lines, reason: input.reason, by: actor, now });
  });
  await dispatchEmails(deps.queue, [mailId]);
  return creditNoteWithLines(deps.db, id);
}

const isSeller = (actor: Actor, row: { sellerAgencyId: string | null }) => (actor.scope === 'platform' ? row.sellerAgencyId === null : actor.scope === 'agency' && row.sellerAgencyId === actor.agencyId);

/** Who may read a note: its buyer, or its seller (the same rule as invoices). */
function canRead(actor: Actor, note: CreditNote): boolean {
  if (actor.scope === 'platform') return note.sellerAgencyId === null;
  if (actor.scope === 'sub_account') return note.subAccountId === actor.subAccountId && note.agencyId === actor.agencyId;
  return note.agencyId === actor.agencyId && (note.subAccountId === null || note.sellerAgencyId === actor.agencyId);
}

async function creditNoteWithLines(db: DbOrTx, id: string): Promise<CreditNoteWithLines> {
  const [row] = await db.select({ note: creditNotes, invoiceNumber: invoices.number }).from(creditNotes).innerJoin(invoices, eq(invoices.id, creditNotes.invoiceId)).where(eq(creditNotes.id, id));
  if (!row) throw notFound();
  const lines = await db.select().from(creditNoteLines).where(eq(creditNoteLines.creditNoteId, id)).orderBy(asc(creditNoteLines.position));
  return { ...row.note, invoiceNumber: row.invoiceNumber, lines };
}

const notFound = () => new AppError('not_found', 404, 'errors:notFound.creditNote');

/** One credit note the actor may read (as its buyer or its seller); any other id is not found. */
export async function getCreditNote(deps: Pick<Deps, 'db'>, params: { actor: Actor; creditNoteId: string }): Promise<CreditNoteWithLines> {
  const [row] = await deps.db.select().from(creditNotes).where(eq(creditNotes.id, params.creditNoteId));
  if (!row || !canRead(params.actor, row)) throw notFound();
  return creditNoteWithLines(deps.db, row.id);
}

/** A credit note unscoped, for jobs and the PDF of a note already read through getCreditNote. */
export const getCreditNoteForSystem = (db: DbOrTx, id: string) => creditNoteWithLines(db, id);

export interface CreditNoteListed extends CreditNote {
  invoiceNumber: number;
}

const listed = (db: DbOrTx) => db.select({ note: creditNotes, invoiceNumber: invoices.number }).from(creditNotes).innerJoin(invoices, eq(invoices.id, creditNotes.invoiceId));
const flat = (rows: { note: CreditNote; invoiceNumber: number }[]): CreditNoteListed[] => rows.map((r) => ({ ...r.note, invoiceNumber: r.invoiceNumber }));

/** The caller's own credit notes (as a buyer), newest first. */
export async function listCreditNotes(deps: Pick<Deps, 'db'>, params: { actor: Actor; limit?: number }): Promise<CreditNoteListed[]> {
  const { actor } = params;
  if (actor.scope === 'platform' || !actor.agencyId) throw errors.wrongScope('agency or sub-account');
  const mine = actor.scope === 'sub_account'
    ? and(eq(creditNotes.agencyId, actor.agencyId), eq(creditNotes.subAccountId, actor.subAccountId!))
    : and(eq(creditNotes.agencyId, actor.agencyId), isNull(creditNotes.subAccountId));
  return flat(await listed(deps.db).where(mine).orderBy(desc(creditNotes.issueDay), desc(creditNotes.number)).limit(Math.min(params.limit ?? 200, 500)));
}

/** Credit notes a seller issued, newest first (optionally one buyer's). */
export async function listIssuedCreditNotes(deps: Pick<Deps, 'db'>, params: { actor: Actor; accountId?: string; limit?: number }): Promise<CreditNoteListed[]> {
  const { actor } = params;
  if (actor.scope === 'sub_account') throw errors.wrongScope('platform or agency');
  const key = actor.scope === 'platform' ? PLATFORM_SELLER_KEY : actor.agencyId!;
  return flat(await listed(deps.db)
    .where(and(eq(creditNotes.sellerKey, key), params.accountId ? eq(creditNotes.buyerId, params.accountId) : undefined))
    .orderBy(desc(creditNotes.issueDay), desc(creditNotes.number))
    .limit(Math.min(params.limit ?? 200, 500)));
}

/** The credit notes on some invoices (the invoice pages name them), oldest first. */
export async function creditNotesOfInvoices(db: DbOrTx, invoiceIds: string[]): Promise<CreditNote[]> {
  if (!invoiceIds.length) return [];
  return db.select().from(creditNotes).where(inArray(creditNotes.invoiceId, invoiceIds)).orderBy(asc(creditNotes.number));
}
