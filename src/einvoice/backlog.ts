// Invoices issued before the seller chose an integrator (docs/einvoice.md, "The backlog"). Every
// invoice issued while the seller's tax was on must reach GİB, so once an integrator is chosen
// the e-invoice page offers the ones never sent, oldest first, with one "Send these" action that
// queues each as the normal send job. Idempotent: a document queued once has its row and is no
// longer in the backlog; two presses at once queue each document once (the row's unique key and
// the job id).
import { and, asc, count, eq, inArray, isNotNull, isNull, ne } from 'drizzle-orm';
import { creditNotes, einvoiceAccounts, einvoiceDocuments, invoices } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { addDays } from '../billing/proration';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { sellerKeyOf } from '../payments/gateway-accounts';
import { queueEInvoice } from './send';

/**
 * VUK article 231/5: an invoice is made out within 7 days of the delivery of the service. A
 * backlog invoice older than that is late: it is still sent (a late document is better than
 * none), and the page says so.
 */
export const LEGAL_ISSUE_DAYS = 7;
/** The page lists this many; "Send these" sends them all, in passes of this size. */
export const BACKLOG_PAGE = 50;

export interface BacklogItem {
  kind: 'invoice' | 'credit_note';
  id: string;
  number: number;
  issueDay: string;
  totalMinor: number;
  currency: string;
  /** Issued more than LEGAL_ISSUE_DAYS days before today. */
  late: boolean;
}

export interface Backlog {
  /** When the seller chose its integrator; null: no integrator, no backlog. */
  since: Date | null;
  invoices: number;
  creditNotes: number;
  /** The oldest documents (invoices first), at most BACKLOG_PAGE. */
  items: BacklogItem[];
}

/**
 * The seller's invoices never sent to GİB that were issued with tax identities (while its tax was
 * on), not void or draft, whenever they were issued (before it chose its integrator, or missed by
 * the tick's week-long window during a long outage); and its credit notes of the same
 * kind whose invoice has its GİB number (a note names it: the others follow once their invoice
 * has been sent).
 */
function conditions(sellerKey: string) {
  const inv = and(
    eq(invoices.sellerKey, sellerKey), isNotNull(invoices.sellerParty), isNotNull(invoices.buyerParty), isNotNull(invoices.priceMode),
    inArray(invoices.status, ['open', 'paid', 'refunded']), isNull(einvoiceDocuments.id),
  );
  return inv;
}

export async function einvoiceBacklog(deps: Pick<Deps, 'db' | 'clock'>, sellerAgencyId: string | null, today: string, limit = BACKLOG_PAGE): Promise<Backlog> {
  const sellerKey = sellerKeyOf(sellerAgencyId);
  const [account] = await deps.db.select({ createdAt: einvoiceAccounts.createdAt }).from(einvoiceAccounts).where(eq(einvoiceAccounts.sellerKey, sellerKey));
  if (!account) return { since: null, invoices: 0, creditNotes: 0, items: [] };
  const since = account.createdAt;
  const docOfInvoice = and(eq(einvoiceDocuments.documentKind, 'invoice'), eq(einvoiceDocuments.documentId, invoices.id));
  const [{ n: invoiceCount } = { n: 0 }] = await deps.db.select({ n: count() }).from(invoices).leftJoin(einvoiceDocuments, docOfInvoice).where(conditions(sellerKey));
  const invoiceRows = await deps.db.select({ id: invoices.id, number: invoices.number, issueDay: invoices.issueDay, totalMinor: invoices.totalMinor, currency: invoices.currency })
    .from(invoices).leftJoin(einvoiceDocuments, docOfInvoice).where(conditions(sellerKey)).orderBy(asc(invoices.createdAt), asc(invoices.number)).limit(limit);
  const notes = await creditNoteBacklog(deps, sellerKey, limit);
  const lateBefore = addDays(today, -LEGAL_ISSUE_DAYS);
  const items: BacklogItem[] = [
    ...invoiceRows.map((r) => ({ kind: 'invoice' as const, ...r, late: r.issueDay < lateBefore })),
    ...notes.rows.map((r) => ({ kind: 'credit_note' as const, ...r, late: r.issueDay < lateBefore })),
  ].slice(0, limit);
  return { since, invoices: Number(invoiceCount), creditNotes: notes.count, items };
}

async function creditNoteBacklog(deps: Pick<Deps, 'db'>, sellerKey: string, limit: number) {
  const noteDoc = and(eq(einvoiceDocuments.documentKind, 'credit_note'), eq(einvoiceDocuments.documentId, creditNotes.id));
  // The credited invoice's row, with its GİB number (given when it was first sent).
  const sentInvoice = deps.db.select({ id: einvoiceDocuments.documentId }).from(einvoiceDocuments)
    .where(and(eq(einvoiceDocuments.documentKind, 'invoice'), isNotNull(einvoiceDocuments.number), ne(einvoiceDocuments.status, 'not_sendable')));
  const where = and(eq(creditNotes.sellerKey, sellerKey), isNotNull(creditNotes.sellerParty), isNotNull(creditNotes.buyerParty), isNull(einvoiceDocuments.id), inArray(creditNotes.invoiceId, sentInvoice));
  const [{ n } = { n: 0 }] = await deps.db.select({ n: count() }).from(creditNotes).leftJoin(einvoiceDocuments, noteDoc).where(where);
  const rows = await deps.db.select({ id: creditNotes.id, number: creditNotes.number, issueDay: creditNotes.issueDay, totalMinor: creditNotes.totalMinor, currency: creditNotes.currency })
    .from(creditNotes).leftJoin(einvoiceDocuments, noteDoc).where(where).orderBy(asc(creditNotes.createdAt)).limit(limit);
  return { count: Number(n), rows };
}

/**
 * "Send these": queues every backlog document as the normal send job (invoices, then the credit
 * notes whose invoice already has its GİB number). Returns how many were queued; 0 when there was
 * nothing left (a second press). Audited once per press that queued something.
 */
export async function sendEInvoiceBacklog(deps: Deps, actor: Actor, sellerAgencyId: string | null, today: string): Promise<{ invoices: number; creditNotes: number }> {
  const first = await einvoiceBacklog(deps, sellerAgencyId, today, 1);
  if (!first.since) throw new AppError('no_integrator', 409, 'einvoice:error.noIntegrator');
  const out = { invoices: 0, creditNotes: 0 };
  for (const kind of ['invoice', 'credit_note'] as const) {
    // Passes until nothing is left: each pass's documents get their row and leave the backlog.
    for (let pass = 0; pass < 10_000; pass++) {
      const items = (await einvoiceBacklog(deps, sellerAgencyId, today, 500)).items.filter((i) => i.kind === kind);
      let queued = 0;
      for (const item of items) {
        const status = await queueEInvoice(deps, { kind, id: item.id });
        if (status !== 'not_found' && status !== 'no_integrator') queued++;
      }
      if (kind === 'invoice') out.invoices += queued;
      else out.creditNotes += queued;
      if (queued === 0 || items.length < 500) break;
    }
  }
  if (out.invoices + out.creditNotes > 0) {
    await recordAudit(deps.db, actor, { action: 'einvoice.backlog_sent', targetType: 'einvoice_account', targetId: sellerKeyOf(sellerAgencyId), agencyId: sellerAgencyId, data: out }, deps.clock.now());
  }
  return out;
}
