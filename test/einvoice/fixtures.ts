// Taxed invoices for the e-invoice tests, written straight to the database with both parties'
// snapshots (as the tax work issues them), and the UBL 2.1 schema check with xmllint.
import { spawnSync } from 'node:child_process';
import { eq } from 'drizzle-orm';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invoiceLines, invoices } from '../../db/schema';
import type { BuyerParty, SellerParty } from '../../db/schema/parties';
import type { Deps } from '../../src/deps';
import { newId } from '../../src/lib/ids';
import { vknCheckDigit } from '../../src/tax/tax-ids';

const INVOICE_XSD = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ubl-2.1', 'xsd', 'maindoc', 'UBL-Invoice-2.1.xsd');

export const platformSeller: SellerParty = {
  legalName: 'Kontor Yazılım Anonim Şirketi',
  address: { line1: 'Caferağa Mah. Moda Cad. No: 12', district: 'Kadıköy', city: 'İstanbul', postalCode: '34710', country: 'TR' },
  taxOffice: 'Kadıköy',
  taxNumber: '4540536920',
  email: 'fatura@kontor.example',
};

export const companyBuyer = (over: Partial<Extract<BuyerParty, { kind: 'company' }>> = {}): BuyerParty => ({
  kind: 'company',
  legalName: 'Mavi Ajans Dijital Hizmetler Ltd. Şti.',
  vkn: '384729105' + vknCheckDigit('384729105'),
  taxOffice: 'Beşiktaş',
  address: { line1: 'Barbaros Bulvarı No: 40', district: 'Beşiktaş', city: 'İstanbul', country: 'TR' },
  eInvoiceRegistered: true,
  eInvoiceAlias: 'urn:mail:defaultpk@maviajans.com.tr',
  ...over,
});

export const personBuyer = (over: Partial<Extract<BuyerParty, { kind: 'person' }>> = {}): BuyerParty => ({
  kind: 'person',
  firstName: 'Ayşe',
  familyName: 'Yılmaz',
  tckn: '17291716060',
  address: { line1: 'Kızılay Mah. Atatürk Bulvarı No: 3', district: 'Çankaya', city: 'Ankara', country: 'TR' },
  email: 'ayse@example.com',
  ...over,
});

export interface TestLine { description: string; quantity: number; amountMinor: number; taxRateBp: number; taxMinor: number }

/**
 * Worked by hand (prices without tax):
 *   Kurumsal paket (Mart 2026), 1 x 1.000,00 at 20%: tax 200,00
 *   Eğitim oturumu, 3 x 27,29 = 81,87 at 10%: tax 8,19 (8,187 rounded half-up)
 *   net 1.081,87 + tax 208,19 = 1.290,06
 */
export const twoRateLines: TestLine[] = [
  { description: 'Kurumsal paket (Mart 2026)', quantity: 1, amountMinor: 100_000, taxRateBp: 2000, taxMinor: 20_000 },
  { description: 'Eğitim oturumu', quantity: 3, amountMinor: 8187, taxRateBp: 1000, taxMinor: 819 },
];

/** An issued invoice from a seller (null: the platform) to an agency, with its lines. */
export async function insertInvoice(deps: Deps, opts: {
  agencyId: string;
  sellerAgencyId?: string | null;
  number: number;
  issueDay?: string;
  buyer?: BuyerParty | null;
  seller?: SellerParty | null;
  lines?: TestLine[];
  currency?: 'TRY' | 'USD' | 'EUR';
  createdAt?: Date;
  status?: 'draft' | 'open';
}): Promise<string> {
  const id = newId('inv');
  const lines = opts.lines ?? twoRateLines;
  const net = lines.reduce((s, l) => s + l.amountMinor, 0);
  const tax = lines.reduce((s, l) => s + l.taxMinor, 0);
  const withTax = opts.buyer !== null && opts.seller !== null;
  const issueDay = opts.issueDay ?? '2026-03-10';
  await deps.db.insert(invoices).values({
    id, agencyId: opts.agencyId, subAccountId: null, buyerId: opts.agencyId, sellerAgencyId: opts.sellerAgencyId ?? null, sellerKey: opts.sellerAgencyId ?? 'platform',
    number: opts.number, kind: 'monthly', period: `${issueDay.slice(0, 7)}-${id.slice(-6)}`, periodStart: issueDay, periodEnd: issueDay, issueDay, dueDay: issueDay,
    currency: opts.currency ?? 'TRY', totalMinor: net + tax, taxMinor: tax,
    priceMode: withTax ? 'exclusive' : null,
    sellerParty: opts.seller === null ? null : (opts.seller ?? platformSeller),
    buyerParty: opts.buyer === null ? null : (opts.buyer ?? companyBuyer()),
    status: 'draft', createdAt: opts.createdAt ?? new Date(`${issueDay}T06:30:15Z`),
  });
  await deps.db.insert(invoiceLines).values(lines.map((l, i) => ({
    id: newId('inl'), invoiceId: id, agencyId: opts.agencyId, position: i + 1, kind: 'monthly' as const, description: l.description,
    quantity: l.quantity, unitPriceMinor: Math.floor(l.amountMinor / l.quantity), amountMinor: l.amountMinor, taxRateBp: l.taxRateBp, taxMinor: l.taxMinor,
  })));
  // Issued after its lines: the database refuses lines on an issued invoice.
  if ((opts.status ?? 'open') !== 'draft') await deps.db.update(invoices).set({ status: opts.status ?? 'open' }).where(eq(invoices.id, id));
  return id;
}

/** Validates UBL XML against the OASIS UBL 2.1 Invoice schema kept in test/fixtures (xmllint). */
export function validateUbl(xml: string): { ok: boolean; output: string } {
  const probe = spawnSync('xmllint', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error('xmllint is needed to validate UBL-TR (apt-get install libxml2-utils).');
  const dir = mkdtempSync(join(tmpdir(), 'kontor-einv-'));
  try {
    const file = join(dir, 'doc.xml');
    writeFileSync(file, xml);
    const r = spawnSync('xmllint', ['--noout', '--schema', INVOICE_XSD, file], { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A local server whose close also ends kept-alive connections (fetch keeps them open). */
export async function listenClosable(app: Express): Promise<{ base: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}
