import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { tstz, updatedAt } from './common';

/**
 * A seller's tax settings (DESIGN section 10): the platform (seller_key 'platform') or an agency
 * (seller_key = its id). Its legal identity is printed on its invoices as the seller party; the
 * default rate and the price mode tax every invoice issued while `tax_enabled` is on. Invoices
 * issued before tax was turned on keep their amounts (no tax, no snapshot).
 */
export const sellerTaxSettings = pgTable(
  'seller_tax_settings',
  {
    sellerKey: text('seller_key').primaryKey(),
    sellerAgencyId: text('seller_agency_id').references(() => agencies.id),
    taxEnabled: boolean('tax_enabled').notNull().default(false),
    legalName: text('legal_name').notNull(),
    addressLine1: text('address_line1').notNull(),
    addressLine2: text('address_line2'),
    district: text('district'),
    city: text('city').notNull(),
    postalCode: text('postal_code'),
    /** ISO 3166-1 alpha-2. */
    country: text('country').notNull().default('TR'),
    taxOffice: text('tax_office').notNull(),
    /** VKN (10 digits) or, for a sole trader, TCKN (11 digits); checksums checked on save. */
    taxNumber: text('tax_number').notNull(),
    /** Hundredths of a percent: 2000 = 20% (KDV). */
    defaultRateBp: integer('default_rate_bp').notNull().default(2000),
    priceMode: text('price_mode', { enum: ['exclusive', 'inclusive'] }).notNull().default('exclusive'),
    /** When tax was last turned on (shown to the seller; invoices issued from then on carry tax). */
    enabledAt: tstz('enabled_at'),
    updatedAt: updatedAt(),
  },
  (t) => [check('seller_tax_settings_rate', sql`${t.defaultRateBp} between 0 and 10000`)],
);
