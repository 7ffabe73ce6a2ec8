// Credit notes on the console (docs/credit-notes.md): each credit note's page and PDF for its
// buyer (under /billing) and its seller (/credit-notes); on an invoice's page, the notes that
// credit it and, for the seller's admin, the form that issues one for chosen lines.
import { Router, type Request } from 'express';
import type { Scope } from '../../../db/schema';
import { roleAtLeast } from '../../auth/actor';
import { formatCreditNoteNumber } from '../../billing/credit-note-numbers';
import { createCreditNote, creditedByLine, creditNotesOfInvoices, getCreditNote, type CreditNote, type CreditNoteListed } from '../../billing/credit-notes.usecases';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import type { InvoiceWithLines } from '../../billing/invoices.usecases';
import type { Deps } from '../../deps';
import { ValidationError } from '../../lib/errors';
import { parseMoneyToMinor } from '../../lib/money';
import { rateText } from '../../tax/tax';
import { sendCreditNotePdf } from '../api/credit-notes.routes';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, page } from '../render';

/** A list of credit notes as the lists show them (views/billing/_credit-note-list.ejs). */
export function creditNoteRows(req: Request, notes: CreditNoteListed[], hrefs: { note: (id: string) => string; invoice: (id: string) => string }, names?: Map<string, string>) {
  return notes.map((c) => ({
    id: c.id, number: formatCreditNoteNumber(c.number), invoiceNumber: formatInvoiceNumber(c.invoiceNumber), issueDay: c.issueDay, reason: c.reason,
    total: req.fmt.money(c.totalMinor, c.currency), href: hrefs.note(c.id), invoiceHref: hrefs.invoice(c.invoiceId), pdf: `${hrefs.note(c.id)}/pdf`,
    accountName: names ? names.get(c.buyerId) ?? req.t('billing:issued.unknownAccount') : null,
  }));
}

/**
 * What an invoice's page says of credit notes: the notes that credit it, what they took off, and
 * for the seller's admin (`formAction` set) each line with what is left of it to credit.
 */
export async function invoiceCredit(deps: Deps, req: Request, inv: InvoiceWithLines, opts: { noteHref: (id: string) => string; formAction?: string }) {
  const notes: CreditNote[] = await creditNotesOfInvoices(deps.db, [inv.id]);
  const actor = actorOf(req);
  // Only the invoice's seller issues (an agency also reads, on the same screens, invoices it bought from the platform).
  const isSeller = actor.scope === 'platform' ? inv.sellerAgencyId === null : actor.scope === 'agency' && inv.sellerAgencyId === actor.agencyId;
  const canIssue = !!opts.formAction && isSeller && roleAtLeast(actor, 'admin') && (inv.status === 'open' || inv.status === 'paid');
  const done = canIssue ? await creditedByLine(deps.db, inv.id) : new Map<string, { amount: number; tax: number }>();
  const lines = inv.lines
    .map((l) => {
      const d = done.get(l.id) ?? { amount: 0, tax: 0 };
      return { id: l.id, description: l.description, descriptionKey: l.descriptionKey, leftNet: l.amountMinor - d.amount, leftTotal: l.amountMinor - d.amount + l.taxMinor - d.tax };
    })
    .filter((l) => l.leftNet >= 0 && l.leftTotal > 0);
  return {
    credit: {
      notes: notes.map((n) => ({ number: formatCreditNoteNumber(n.number), issueDay: n.issueDay, totalMinor: n.totalMinor, reason: n.reason, href: opts.noteHref(n.id) })),
      totalMinor: notes.reduce((s, n) => s + n.totalMinor, 0),
      form: canIssue && lines.length ? { action: opts.formAction!, lines, unpaid: inv.status === 'open' } : null,
    },
  };
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/**
 * The credit note form's fields to the use case's input: the ticked lines, each with its amount
 * typed as money (blank: all that is left of the line). Field errors come back under the form's
 * own names (`amount_<line id>`, `line_<line id>`) so each shows beside its line.
 */
export async function issueCreditNoteFromForm(deps: Deps, req: Request, invoiceId: string) {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const ids = asList(body.line);
  const fields: Record<string, string> = {};
  const lines = ids.map((id) => {
    const raw = typeof body[`amount_${id}`] === 'string' ? (body[`amount_${id}`] as string).trim() : '';
    if (!raw) return { invoiceLineId: id };
    const minor = parseMoneyToMinor(raw);
    if (typeof minor === 'string') fields[`amount_${id}`] = 'errors:creditNote.amountText';
    return { invoiceLineId: id, amountMinor: typeof minor === 'number' ? minor : undefined };
  });
  if (Object.keys(fields).length) throw new ValidationError(fields);
  try {
    return await createCreditNote(deps, { actor: actorOf(req), invoiceId, input: { reason: body.reason, lines } });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const named: Record<string, string> = {};
    for (const [k, v] of Object.entries(err.fields)) {
      const m = /^lines\.(\d+)\.(\w+)$/.exec(k);
      const id = m ? ids[Number(m[1])] : undefined;
      if (m && id) named[m[2] === 'amountMinor' ? `amount_${id}` : `line_${id}`] = v;
      else named[k] = v;
    }
    throw new ValidationError(named);
  }
}

/** A credit note's page and PDF, for its buyer (`/billing/credit-notes`) or its seller (`/credit-notes`). */
export function creditNotePageRoutes(deps: Deps, opts: { base: string; scope: Scope; prefix: '/billing/credit-notes' | '/credit-notes'; invoiceHref: (id: string) => string; back: string }): Router {
  const r = Router();
  if (opts.prefix === '/credit-notes') r.use('/credit-notes', requireUser(opts.scope), billingOnly);
  const home = `${opts.base}${opts.prefix}`;
  r.get(`${opts.prefix}/:id`, async (req, res) => {
    const note = await getCreditNote(deps, { actor: actorOf(req), creditNoteId: String(req.params.id) });
    const number = formatCreditNoteNumber(note.number);
    await page(res, 'billing/credit-note', {
      title: req.t('billing:credit.title', { number }), note, number, invoiceNumber: formatInvoiceNumber(note.invoiceNumber), invoiceHref: opts.invoiceHref(note.invoiceId),
      money: (m: number) => req.fmt.money(m, note.currency), rateText, back: opts.back, pdf: `${home}/${note.id}/pdf`,
    });
  });
  r.get(`${opts.prefix}/:id/pdf`, async (req, res) => {
    await sendCreditNotePdf(deps, res, await getCreditNote(deps, { actor: actorOf(req), creditNoteId: String(req.params.id) }));
  });
  return r;
}

/** After a credit note is issued from an invoice's page: its own page, with a flash naming it. */
export function flashIssued(req: Request, number: number) {
  flash(req, req.t('billing:credit.issuedFlash', { number: formatCreditNoteNumber(number) }));
}
