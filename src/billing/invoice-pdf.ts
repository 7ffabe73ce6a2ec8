// An invoice as a PDF (pdfkit). Rendered on demand (the PDF link) and by the delivery job (the
// email attachment); nothing is stored, the invoice rows are the record.
import fs from 'node:fs';
import PDFDocument from 'pdfkit';
import { formatterFor } from '../i18n/format';
import { localize, tFor } from '../i18n/i18n';
import { formatInvoiceNumber } from './invoice-numbers';
import type { InvoiceWithLines } from './invoices.usecases';
import { invoiceTaxView } from './invoice-view';

// The standard PDF fonts cannot print Turkish letters (ş, ğ, ı); Debian's DejaVu can. Without
// it the PDF falls back to Helvetica.
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const DEJAVU_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const fonts = fs.existsSync(DEJAVU) && fs.existsSync(DEJAVU_BOLD) ? { regular: DEJAVU, bold: DEJAVU_BOLD } : { regular: 'Helvetica', bold: 'Helvetica-Bold' };

export interface InvoiceParties {
  sellerName: string;
  buyerName: string;
  locale: 'en' | 'tr';
}

/** Every label from the `pdf` catalog in the buyer's language; amounts and days through its formats. */
export function renderInvoicePdf(inv: InvoiceWithLines, parties: InvoiceParties): Promise<Buffer> {
  const t = tFor(parties.locale);
  const fmt = formatterFor(parties.locale);
  const money = (minor: number) => fmt.money(minor, inv.currency);
  const n = formatInvoiceNumber(inv.number);
  const doc = new PDFDocument({ size: 'A4', margin: 50, lang: parties.locale, info: { Title: t('pdf:title', { n }), Author: parties.sellerName } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const tax = invoiceTaxView(inv, t, parties.locale);
  doc.font(fonts.bold).fontSize(18).text(tax.seller ? tax.seller[0]! : parties.sellerName);
  if (tax.seller) doc.font(fonts.regular).fontSize(9).text(tax.seller.slice(1).join(', '));
  doc.moveDown(0.5).font(fonts.regular).fontSize(10);
  doc.text(t('pdf:title', { n }));
  doc.text(t('pdf:dates', { issued: fmt.day(inv.issueDay), due: fmt.day(inv.dueDay) }));
  doc.text(inv.kind === 'purchase' ? t('tax:purchase.paidOn', { on: fmt.day(inv.issueDay) }) : t(inv.kind === 'monthly' ? 'pdf:period' : 'pdf:term', { from: fmt.day(inv.periodStart), to: fmt.day(inv.periodEnd) }));
  doc.text(t('pdf:status', { status: t(`pdf:statuses.${inv.status}`, { defaultValue: inv.status }) }));
  // Paid outside Kontor (a bank transfer or cash the seller recorded): said, as on the invoice page.
  if (inv.paidOffline) doc.text(t('tax:purchase.paidOffline'));
  doc.moveDown();
  doc.font(fonts.bold).text(t('pdf:billedTo'));
  doc.font(fonts.regular).text(parties.buyerName);
  const a = inv.billingAddress as Record<string, string | null> | null;
  if (tax.buyer) {
    for (const line of tax.buyer) doc.text(line);
  } else if (a) {
    for (const line of [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.country, a.taxId ? t('pdf:taxId', { id: a.taxId }) : null]) if (line) doc.text(line);
  }
  doc.moveDown();

  const cols = { desc: 50, days: 300, rate: 350, tax: 380, amount: 460 };
  const header = doc.y;
  doc.font(fonts.bold).text(t('pdf:description'), cols.desc, header).text(t('pdf:days'), cols.days, header).text(t('pdf:amount'), cols.amount, header, { width: 85, align: 'right' });
  if (tax.taxed) doc.text(t('tax:invoice.rate'), cols.rate, header).text(t('tax:invoice.tax'), cols.tax, header, { width: 75, align: 'right' });
  doc.font(fonts.regular);
  for (const l of inv.lines) {
    const y = doc.y + 4;
    const period = l.fromDay ? t('pdf:lineDays', { from: fmt.day(l.fromDay), to: fmt.day(l.throughDay) }) : '';
    doc.text(period ? [localize(t, l.descriptionKey ?? l.description), period].join('\n') : localize(t, l.descriptionKey ?? l.description), cols.desc, y, { width: 240 });
    const after = doc.y;
    doc.text(l.activeDays !== null ? t('pdf:activeDays', { active: l.activeDays, month: l.daysInMonth }) : '', cols.days, y).text(money(l.amountMinor), cols.amount, y, { width: 85, align: 'right' });
    if (tax.taxed) doc.text(`%${tax.rateOf(l.taxRateBp)}`, cols.rate, y).text(money(l.taxMinor), cols.tax, y, { width: 75, align: 'right' });
    doc.y = Math.max(after, doc.y);
  }
  doc.moveDown();
  if (tax.taxed) {
    doc.font(fonts.regular).text(`${t('tax:invoice.net')}: ${money(tax.summary.net)}`, cols.desc, doc.y, { width: 495, align: 'right' });
    for (const r of tax.rates) doc.text(`${t('tax:invoice.taxAt', { rate: r.rate, net: money(r.net) })}: ${money(r.tax)}`, cols.desc, doc.y, { width: 495, align: 'right' });
  }
  doc.font(fonts.bold).text(t('pdf:total', { amount: money(inv.totalMinor) }), cols.desc, doc.y, { width: 495, align: 'right' });
  if (tax.taxed) doc.font(fonts.regular).fontSize(8).text(t(tax.priceMode === 'inclusive' ? 'tax:invoice.inclusive' : 'tax:invoice.exclusive'), cols.desc, doc.y, { width: 495, align: 'right' });
  doc.moveDown(2).font(fonts.regular).fontSize(8).text(t('pdf:prorationNote'), cols.desc);
  doc.end();
  return done;
}
