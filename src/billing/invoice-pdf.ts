// An invoice as a PDF (pdfkit). Rendered on demand (the PDF link) and by the delivery job (the
// email attachment); nothing is stored, the invoice rows are the record.
import fs from 'node:fs';
import PDFDocument from 'pdfkit';
import { formatMoney } from '../lib/money';
import { formatInvoiceNumber } from './invoice-numbers';
import type { InvoiceWithLines } from './invoices.usecases';

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

const statusText: Record<string, string> = { draft: 'Issued', open: 'Awaiting payment', paid: 'Paid', void: 'Void', refunded: 'Refunded' };

export function renderInvoicePdf(inv: InvoiceWithLines, parties: InvoiceParties): Promise<Buffer> {
  const money = (minor: number) => formatMoney(minor, inv.currency, parties.locale);
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Invoice ${formatInvoiceNumber(inv.number)}`, Author: parties.sellerName } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  doc.font(fonts.bold).fontSize(18).text(parties.sellerName);
  doc.moveDown(0.5).font(fonts.regular).fontSize(10);
  doc.text(`Invoice ${formatInvoiceNumber(inv.number)}`);
  doc.text(`Issued: ${inv.issueDay}    Due: ${inv.dueDay}`);
  doc.text(inv.kind === 'monthly' ? `Period: ${inv.periodStart} to ${inv.periodEnd}` : `Term: ${inv.periodStart} to ${inv.periodEnd} (prepaid)`);
  doc.text(`Status: ${statusText[inv.status] ?? inv.status}`);
  doc.moveDown();
  doc.font(fonts.bold).text('Billed to');
  doc.font(fonts.regular).text(parties.buyerName);
  const a = inv.billingAddress as Record<string, string | null> | null;
  if (a) {
    for (const line of [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(' '), a.country, a.taxId ? `Tax id: ${a.taxId}` : null]) if (line) doc.text(line);
  }
  doc.moveDown();

  const cols = { desc: 50, days: 330, amount: 430 };
  const header = doc.y;
  doc.font(fonts.bold).text('Description', cols.desc, header).text('Days', cols.days, header).text('Amount', cols.amount, header, { width: 115, align: 'right' });
  doc.font(fonts.regular);
  for (const l of inv.lines) {
    const y = doc.y + 4;
    const period = l.fromDay ? `${l.fromDay} to ${l.throughDay}` : '';
    doc.text(`${l.description}${period ? `\n${period}` : ''}`, cols.desc, y, { width: 270 });
    const after = doc.y;
    doc.text(l.activeDays !== null ? `${l.activeDays}/${l.daysInMonth}` : '', cols.days, y).text(money(l.amountMinor), cols.amount, y, { width: 115, align: 'right' });
    doc.y = Math.max(after, doc.y);
  }
  doc.moveDown();
  doc.font(fonts.bold).text(`Total: ${money(inv.totalMinor)}`, cols.desc, doc.y, { width: 495, align: 'right' });
  doc.moveDown(2).font(fonts.regular).fontSize(8).text('Monthly items are billed for the calendar days they were active: monthly price x active days / days in the month, rounded once per line.', cols.desc);
  doc.end();
  return done;
}
