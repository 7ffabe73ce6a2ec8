// Credit notes over the API (docs/credit-notes.md): the seller's admin issues one for chosen lines
// of an invoice (Idempotency-Key honoured by the router's middleware); buyers and sellers read them.
import { Router, type Response } from 'express';
import { billingAccount, sellerTerms } from '../../billing/accounts';
import { formatCreditNoteNumber } from '../../billing/credit-note-numbers';
import { renderCreditNotePdf } from '../../billing/credit-note-pdf';
import { createCreditNote, getCreditNote, listCreditNotes, listIssuedCreditNotes, type CreditNoteListed, type CreditNoteWithLines } from '../../billing/credit-notes.usecases';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import type { Deps } from '../../deps';
import { fromAcceptLanguage } from '../../i18n/i18n';
import { descriptionKeyJson } from './billing.routes';
import { actorOf } from '../middleware';
import type * as A from './schemas';
import type { Answer } from './schemas';

export const creditNoteJson = (c: CreditNoteListed): Answer<typeof A.CreditNote> => ({
  id: c.id,
  number: formatCreditNoteNumber(c.number),
  sequence: c.number,
  invoiceId: c.invoiceId,
  invoiceNumber: formatInvoiceNumber(c.invoiceNumber),
  issueDay: c.issueDay,
  currency: c.currency,
  totalMinor: c.totalMinor,
  taxMinor: c.taxMinor,
  netMinor: c.totalMinor - c.taxMinor,
  reason: c.reason,
  accountId: c.buyerId,
  subAccountId: c.subAccountId,
  seller: c.sellerAgencyId === null ? 'platform' : c.sellerAgencyId,
});

export const creditNoteDetailJson = (c: CreditNoteWithLines): Answer<typeof A.CreditNoteDetail> => ({
  ...creditNoteJson(c),
  billingAddress: c.billingAddress,
  lines: c.lines.map((l) => ({ position: l.position, invoiceLineId: l.invoiceLineId, description: l.description, ...descriptionKeyJson(l.descriptionKey), quantity: l.quantity, amountMinor: l.amountMinor, taxRateBp: l.taxRateBp, taxMinor: l.taxMinor })),
});

/** A credit note as a PDF response (the buyer's or the seller's), in the reader's language. */
export async function sendCreditNotePdf(deps: Deps, res: Response, note: CreditNoteWithLines): Promise<void> {
  const account = await billingAccount(deps.db, note.agencyId, note.subAccountId);
  const seller = await sellerTerms(deps.db, note.sellerAgencyId);
  const locale = res.req.lang ?? fromAcceptLanguage(res.req.get('accept-language')) ?? account.locale;
  const pdf = await renderCreditNotePdf(note, { sellerName: seller.name, buyerName: account.buyerName, locale, zone: seller.zone });
  res.type('application/pdf').set('Content-Disposition', `inline; filename="${formatCreditNoteNumber(note.number)}.pdf"`).send(pdf);
}

export function creditNoteRoutes(deps: Deps): Router {
  const r = Router();
  r.post('/invoices/:id/credit-notes', async (req, res) => {
    res.status(201).json(creditNoteDetailJson(await createCreditNote(deps, { actor: actorOf(req), invoiceId: String(req.params.id), input: req.body })));
  });
  r.get('/credit-notes', async (req, res) => {
    res.json({ data: (await listCreditNotes(deps, { actor: actorOf(req) })).map(creditNoteJson) });
  });
  r.get('/credit-notes/:id', async (req, res) => {
    res.json(creditNoteDetailJson(await getCreditNote(deps, { actor: actorOf(req), creditNoteId: String(req.params.id) })));
  });
  r.get('/credit-notes/:id/pdf', async (req, res) => {
    await sendCreditNotePdf(deps, res, await getCreditNote(deps, { actor: actorOf(req), creditNoteId: String(req.params.id) }));
  });
  r.get('/issued-credit-notes', async (req, res) => {
    const accountId = typeof req.query.accountId === 'string' && req.query.accountId ? req.query.accountId : undefined;
    res.json({ data: (await listIssuedCreditNotes(deps, { actor: actorOf(req), ...(accountId ? { accountId } : {}) })).map(creditNoteJson) });
  });
  return r;
}
