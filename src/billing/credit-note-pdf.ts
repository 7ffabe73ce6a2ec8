// A credit note as a PDF (pdfkit), in the style of the invoice's (invoice-pdf.ts): rendered for
// its email and on demand (the PDF link); nothing is stored, the credit note rows are the record.
import fs from 'node:fs';
import PDFDocument from 'pdfkit';
import { formatterFor } from '../i18n/format';
import { localize, tFor } from '../i18n/i18n';
import { rateText } from '../tax/tax';
import { formatCreditNoteNumber } from './credit-note-numbers';
import type { CreditNoteWithLines } from './credit-notes.usecases';
import { formatInvoiceNumber } from './invoice-numbers';

const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const DEJAVU_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const fonts = fs.existsSync(DEJAVU) && fs.existsSync(DEJAVU_BOLD) ? { regular: DEJAVU, bold: DEJAVU_BOLD } : { regular: 'Helvetica', bold: 'Helvetica-Bold' };

export interface CreditNoteParties {
  sellerName: string;
  buyerName: string;
  locale: 'en' | 'tr';
  zone?: string;
}

/** Every label from the `pdf` catalog (creditNote.*) in the buyer's language. */
export function renderCreditNotePdf(note: CreditNoteWithLines, parties: CreditNoteParties): Promise<Buffer> {
  const t = tFor(parties.locale);
  const fmt = formatterFor(parties.locale, parties.zone);
  const money = (minor: number) => fmt.money(minor, note.currency);
  const cn = formatCreditNoteNumber(note.number);
  const doc = new PDFDocument({ size: 'A4', margin: 50, lang: parties.locale, info: { Title: t('pdf:creditNote.title', { cn }), Author: parties.sellerName } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  doc.font(fonts.bold).fontSize(18).text(parties.sellerName);
  doc.moveDown(0.5).font(fonts.regular).fontSize(10);
  doc.text(t('pdf:creditNote.title', { cn }));
  doc.text(t('pdf:creditNote.issued', { issued: fmt.day(note.issueDay) }));
  doc.text(t('pdf:creditNote.credits', { n: formatInvoiceNumber(note.invoiceNumber) }));
  doc.text(t('pdf:creditNote.reason', { reason: note.reason }));
  doc.moveDown();
  doc.font(fonts.bold).text(t('pdf:billedTo'));
  doc.font(fonts.regular).text(parties.buyerName);
  const a = note.billingAddress as Record<string, string | null> | null;
  if (a) {
    for (const line of [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.country, a.taxId ? t('pdf:taxId', { id: a.taxId }) : null]) if (line) doc.text(line);
  }
  doc.moveDown();

  const cols = { desc: 50, tax: 330, amount: 430 };
  const header = doc.y;
  doc.font(fonts.bold).text(t('pdf:description'), cols.desc, header).text(t('pdf:creditNote.tax'), cols.tax, header).text(t('pdf:creditNote.net'), cols.amount, header, { width: 115, align: 'right' });
  doc.font(fonts.regular);
  for (const l of note.lines) {
    const y = doc.y + 4;
    doc.text(localize(t, l.descriptionKey ?? l.description), cols.desc, y, { width: 270 });
    const after = doc.y;
    const tax = l.taxRateBp > 0 || l.taxMinor > 0 ? t('pdf:creditNote.lineTax', { rate: rateText(l.taxRateBp), tax: money(-l.taxMinor) }) : '';
    doc.text(tax, cols.tax, y, { width: 95 }).text(money(-l.amountMinor), cols.amount, y, { width: 115, align: 'right' });
    doc.y = Math.max(after, doc.y);
  }
  doc.moveDown();
  doc.font(fonts.regular).text(t('pdf:creditNote.netTotal', { amount: money(-(note.totalMinor - note.taxMinor)) }), cols.desc, doc.y, { width: 495, align: 'right' });
  doc.text(t('pdf:creditNote.taxTotal', { amount: money(-note.taxMinor) }), cols.desc, doc.y, { width: 495, align: 'right' });
  doc.font(fonts.bold).text(t('pdf:creditNote.total', { amount: money(-note.totalMinor) }), cols.desc, doc.y, { width: 495, align: 'right' });
  doc.moveDown(2).font(fonts.regular).fontSize(8).text(t('pdf:creditNote.note'), cols.desc);
  doc.end();
  return done;
}
