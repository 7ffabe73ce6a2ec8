// A seller's tax settings (DESIGN section 10; docs/tax.md): the platform's and each agency's legal
// identity, default rate and price mode, and whether its invoices carry tax. Read by the invoice
// issuer (src/billing/invoice-issue.ts) in the issuing transaction.
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { sellerTaxSettings, type SellerParty } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { blankToNull, checkbox, parse, required as requiredField, tooLong } from '../lib/validation';
import { taxNumberField, taxRateField } from './identity';
import type { PriceMode, RateBp } from './tax';

export type SellerTaxSettings = typeof sellerTaxSettings.$inferSelect;

/** The platform's key in seller_tax_settings (the same as its invoice counter's). */
export const PLATFORM_TAX_KEY = 'platform';

const text = (label: string, max = 200) => z.string({ error: requiredField(label) }).trim().min(1, requiredField(label)).max(max, tooLong(label, max));
const optional = (label: string, max = 200) => blankToNull(z.string().trim().max(max, tooLong(label, max)));

export const sellerTaxSchema = z.object({
  taxEnabled: checkbox.default(false),
  legalName: text('Legal name'),
  addressLine1: text('Address'),
  addressLine2: optional('Address line 2'),
  district: optional('District', 100),
  city: text('City', 100),
  postalCode: optional('Postal code', 20),
  country: z.string({ error: 'tax:country.invalid' }).trim().toUpperCase().regex(/^[A-Z]{2}$/, 'tax:country.invalid'),
  taxOffice: text('Tax office', 100),
  taxNumber: taxNumberField,
  defaultRate: taxRateField,
  priceMode: z.enum(['exclusive', 'inclusive'], { error: 'tax:priceMode.invalid' }),
});

/** The seller an admin acts for: 'platform' or its agency's id. */
function sellerKeyOf(actor: Actor): { key: string; agencyId: string | null } {
  requireRole(actor, 'admin');
  if (actor.scope === 'platform') return { key: PLATFORM_TAX_KEY, agencyId: null };
  if (actor.scope === 'agency' && actor.agencyId) return { key: actor.agencyId, agencyId: actor.agencyId };
  throw errors.wrongScope('platform or agency');
}

/** The caller's (the platform's or its agency's) tax settings, or null before they were saved. */
export async function getSellerTaxSettings(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<SellerTaxSettings | null> {
  const { key } = sellerKeyOf(params.actor);
  const [row] = await deps.db.select().from(sellerTaxSettings).where(eq(sellerTaxSettings.sellerKey, key));
  return row ?? null;
}

/** Saves the caller's tax settings whole (as the form and the API send them); bad input writes nothing. */
export async function saveSellerTaxSettings(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<SellerTaxSettings> {
  const { key, agencyId } = sellerKeyOf(params.actor);
  const input = parse(sellerTaxSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(sellerTaxSettings).where(eq(sellerTaxSettings.sellerKey, key)).for('update');
    const values = {
      taxEnabled: input.taxEnabled, legalName: input.legalName, addressLine1: input.addressLine1, addressLine2: input.addressLine2, district: input.district, city: input.city,
      postalCode: input.postalCode, country: input.country, taxOffice: input.taxOffice, taxNumber: input.taxNumber, defaultRateBp: input.defaultRate, priceMode: input.priceMode,
      // The moment tax went on: kept while it stays on.
      enabledAt: input.taxEnabled ? (current?.taxEnabled ? current.enabledAt : now) : null,
      updatedAt: now,
    };
    const [row] = await tx
      .insert(sellerTaxSettings)
      .values({ sellerKey: key, sellerAgencyId: agencyId, ...values })
      .onConflictDoUpdate({ target: sellerTaxSettings.sellerKey, set: values })
      .returning();
    await recordAudit(tx, params.actor, { action: 'tax_settings.saved', targetType: 'seller_tax_settings', targetId: key, agencyId, data: { taxEnabled: input.taxEnabled, defaultRateBp: input.defaultRate, priceMode: input.priceMode } }, now);
    return row!;
  });
}

/** What the issuer needs of a seller that charges tax; null when the seller does not (yet). */
export interface SellerTax {
  mode: PriceMode;
  defaultRateBp: RateBp;
  party: SellerParty;
}

export function sellerTaxOf(row: SellerTaxSettings | undefined | null): SellerTax | null {
  if (!row || !row.taxEnabled) return null;
  return {
    mode: row.priceMode,
    defaultRateBp: row.defaultRateBp,
    party: {
      legalName: row.legalName, taxOffice: row.taxOffice, taxNumber: row.taxNumber,
      address: { line1: row.addressLine1, line2: row.addressLine2, district: row.district, city: row.city, postalCode: row.postalCode, country: row.country },
    },
  };
}

/** A seller's tax for an invoice issued now (null: the platform). */
export async function sellerTax(db: DbOrTx, sellerAgencyId: string | null): Promise<SellerTax | null> {
  const [row] = await db.select().from(sellerTaxSettings).where(eq(sellerTaxSettings.sellerKey, sellerAgencyId ?? PLATFORM_TAX_KEY));
  return sellerTaxOf(row);
}
