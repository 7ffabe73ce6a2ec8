// Billing addresses of a buyer (DESIGN section 6, invoice screens). The default one is printed
// on the invoices issued from then on; an invoice keeps the address it was issued with.
import { and, asc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { billingAddresses, type BuyerParty, type PartyAddress } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { blankToNull, checkbox, parse, required as requiredField, tooLong } from '../lib/validation';
import { tcknField, vknField } from '../tax/identity';
import { buyerAccount } from './accounts';

export type BillingAddress = typeof billingAddresses.$inferSelect;

const required = (label: string, max = 200) =>
  z.string({ error: requiredField(label) }).trim().min(1, requiredField(label)).max(max, tooLong(label, max));
const optional = (label: string, max = 200) => blankToNull(z.string().trim().max(max, tooLong(label, max)));

const taxKinds = ['company', 'person', 'exempt'] as const;

export const addressFields = z.object({
  name: required('Name (person or company)'),
  line1: required('Address'),
  line2: optional('Address line 2'),
  district: optional('District', 100),
  city: required('City', 100),
  postalCode: optional('Postal code', 20),
  country: required('Country', 100),
  /** Free text before tax identities; an exempt foreign buyer's own tax id. */
  taxId: optional('Tax id', 50),
  /** The buyer's tax identity: a company (VKN), a person (TCKN), a foreign buyer exempt from tax; blank: none. */
  taxKind: blankToNull(z.enum(taxKinds, { error: 'tax:buyer.kindInvalid' })).default(null),
  taxNumber: z.unknown().optional().describe('VKN (company, 10 digits) or TCKN (person, 11 digits), checksum-checked'),
  taxOffice: optional('Tax office', 100),
  eInvoiceRegistered: checkbox.default(false),
  /** A registered company's GİB mailbox (posta kutusu etiketi): `urn:mail:defaultpk@firma.com.tr`. */
  eInvoiceAlias: optional('e-Fatura alias', 200),
  firstName: optional('First name', 100),
  familyName: optional('Family name', 100),
  exemptionReason: optional('Exemption reason', 300),
  isDefault: checkbox.default(false),
});

/**
 * An address and its tax identity. A company needs its VKN (checksum) and tax office, a person its
 * TCKN (checksum) and first and family names, an exempt buyer the reason printed on its invoices.
 * Fields of the other kinds are dropped.
 */
export const addressSchema = addressFields.transform((v, ctx) => {
  const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const out = { ...v, taxNumber: null as string | null, taxOffice: null as string | null, eInvoiceRegistered: false, eInvoiceAlias: null as string | null, firstName: null as string | null, familyName: null as string | null, exemptionReason: null as string | null };
  if (v.taxKind === 'company') {
    const n = vknField.safeParse(v.taxNumber);
    if (!n.success) fail('taxNumber', n.error.issues[0]!.message);
    if (!v.taxOffice) fail('taxOffice', requiredField('Tax office'));
    Object.assign(out, { taxNumber: n.success ? n.data : null, taxOffice: v.taxOffice, eInvoiceRegistered: v.eInvoiceRegistered });
    // e-Fatura is delivered to the buyer's GİB mailbox: a registered company needs it, well formed.
    if (v.eInvoiceRegistered) {
      const alias = normalizeAlias(v.eInvoiceAlias);
      if (!v.eInvoiceAlias) fail('eInvoiceAlias', 'tax:buyer.aliasRequired');
      else if (!alias) fail('eInvoiceAlias', 'tax:buyer.aliasInvalid');
      out.eInvoiceAlias = alias;
    }
  } else if (v.taxKind === 'person') {
    const n = tcknField.safeParse(v.taxNumber);
    if (!n.success) fail('taxNumber', n.error.issues[0]!.message);
    if (!v.firstName) fail('firstName', requiredField('First name'));
    if (!v.familyName) fail('familyName', requiredField('Family name'));
    Object.assign(out, { taxNumber: n.success ? n.data : null, firstName: v.firstName, familyName: v.familyName });
  } else if (v.taxKind === 'exempt') {
    if (!v.exemptionReason) fail('exemptionReason', 'tax:buyer.reasonRequired');
    out.exemptionReason = v.exemptionReason;
  }
  return out;
});

/**
 * A GİB mailbox label (posta kutusu etiketi) as GİB's registered-user list writes it:
 * `urn:mail:` and an address, such as `urn:mail:defaultpk@firma.com.tr`. The prefix is matched in
 * any case and written in lower case; spaces are refused. Null when it is not one.
 */
export function normalizeAlias(raw: string | null | undefined): string | null {
  const m = /^urn:mail:([^\s@<>"]+@[^\s@<>"]+\.[^\s@<>".]+)$/i.exec((raw ?? '').trim());
  return m ? `urn:mail:${m[1]}` : null;
}

/** A country as ISO 3166-1 alpha-2 where it is recognisably one ("TR", "Türkiye", "Turkey"); else as typed. */
export function countryCode(country: string): string {
  const c = country.trim();
  if (/^[A-Za-z]{2}$/.test(c)) return c.toUpperCase();
  if (/^(t[uü]rkiye|turkey)$/i.test(c)) return 'TR';
  return c;
}

/** The buyer's tax identity as an invoice snapshots it; null for an address without one (older rows). */
export function buyerPartyOf(a: BillingAddress): BuyerParty | null {
  const address: PartyAddress = { line1: a.line1, line2: a.line2, district: a.district, city: a.city, postalCode: a.postalCode, country: countryCode(a.country) };
  if (a.taxKind === 'company' && a.taxNumber && a.taxOffice) return { kind: 'company', legalName: a.name, vkn: a.taxNumber, taxOffice: a.taxOffice, address, eInvoiceRegistered: a.eInvoiceRegistered, ...(a.eInvoiceRegistered && a.eInvoiceAlias ? { eInvoiceAlias: a.eInvoiceAlias } : {}) };
  if (a.taxKind === 'person' && a.taxNumber && a.firstName && a.familyName) return { kind: 'person', firstName: a.firstName, familyName: a.familyName, tckn: a.taxNumber, address };
  if (a.taxKind === 'exempt' && a.exemptionReason) return { kind: 'exempt', name: a.name, foreignTaxId: a.taxId, reason: a.exemptionReason, address };
  return null;
}

export async function listBillingAddresses(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<BillingAddress[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return deps.db.select().from(billingAddresses).where(and(eq(billingAddresses.buyerId, account.buyerId), eq(billingAddresses.agencyId, account.agencyId))).orderBy(asc(billingAddresses.createdAt));
}

/** Adds an address; the first one (or one marked default) becomes the default. */
export async function addBillingAddress(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<BillingAddress> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(addressSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const existing = await tx.select({ id: billingAddresses.id }).from(billingAddresses).where(eq(billingAddresses.buyerId, account.buyerId)).for('update');
    const isDefault = input.isDefault || existing.length === 0;
    if (isDefault) await tx.update(billingAddresses).set({ isDefault: false, updatedAt: now }).where(eq(billingAddresses.buyerId, account.buyerId));
    const [row] = await tx
      .insert(billingAddresses)
      .values({ id: newId('adr'), agencyId: account.agencyId, subAccountId: account.subAccountId, buyerId: account.buyerId, ...input, isDefault, createdAt: now, updatedAt: now })
      .returning();
    await recordAudit(tx, params.actor, { action: 'billing_address.added', targetType: 'billing_address', targetId: row!.id, agencyId: account.agencyId, subAccountId: account.subAccountId }, now);
    return row!;
  });
}

/** Edits one of the caller's addresses (all fields, as the form sends them). */
export async function updateBillingAddress(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; addressId: string; input: unknown }): Promise<BillingAddress> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const [current] = await deps.db.select().from(billingAddresses).where(and(eq(billingAddresses.id, params.addressId), eq(billingAddresses.buyerId, account.buyerId)));
  if (!current) throw errors.notFound('Billing address');
  const input = parse(addressSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const isDefault = input.isDefault || current.isDefault;
    if (isDefault) await tx.update(billingAddresses).set({ isDefault: false, updatedAt: now }).where(and(eq(billingAddresses.buyerId, account.buyerId), ne(billingAddresses.id, current.id)));
    const [row] = await tx.update(billingAddresses).set({ ...input, isDefault, updatedAt: now }).where(eq(billingAddresses.id, current.id)).returning();
    await recordAudit(tx, params.actor, { action: 'billing_address.updated', targetType: 'billing_address', targetId: current.id, agencyId: account.agencyId, subAccountId: account.subAccountId }, now);
    return row!;
  });
}
