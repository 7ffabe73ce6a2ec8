import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, pgTable, text, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { currencies } from './catalog';
import { createdAt, tstz, updatedAt } from './common';

// The one catalog (DESIGN section 9): everything a seller sells is an offer, whoever the seller
// is (seller_agency_id null: the platform selling to agencies; set: an agency selling to its
// sub-accounts). What an offer sells and for how much lives in its versions: an edit that
// changes terms adds a version, and buyers keep the version they bought.

export const offerKinds = [
  /** Credits granted once (resold by an agency). */
  'credit_pack',
  /** Credits granted every month of a prepaid term of 1-36 months (resold by an agency). */
  'prepaid_subscription',
  /** A package on the billing engine: monthly postpaid or a 3/6/12-month term. */
  'package',
  /** Monthly add-on modules. */
  'addon',
  /** Per-unit monthly quantities (representatives, channels). */
  'quantity',
  /** One-off blocks of extra chatbot sessions. */
  'extra_sessions',
  /** The platform's credit top-ups for agencies' pools. */
  'topup',
  /** The platform's chatbot slots, priced per slot. */
  'chatbot_slot',
  /** The platform's agency plans. */
  'plan',
] as const;
export type OfferKind = (typeof offerKinds)[number];

/** How an offer is paid: once, prepaid for a term, monthly (postpaid) or for a billing-engine term. */
export const offerBillings = ['one_off', 'prepaid', 'monthly', 'term'] as const;
export type OfferBilling = (typeof offerBillings)[number];

export const offers = pgTable(
  'offers',
  {
    id: text('id').primaryKey(),
    sellerAgencyId: text('seller_agency_id').references(() => agencies.id),
    kind: text('kind', { enum: offerKinds }).notNull(),
    /** A plan's code, unique among the platform's plans (kept for integrations; agencies pick plans from a list). */
    code: text('code'),
    currentVersionId: text('current_version_id').notNull(),
    /** Buyers see (and can buy) published offers only. */
    published: boolean('published').notNull().default(false),
    /** Retired: no longer sold or listed; what buyers hold is untouched. */
    archivedAt: tstz('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('offers_seller_idx').on(t.sellerAgencyId, t.kind),
    uniqueIndex('offers_platform_code_key').on(t.code).where(sql`${t.sellerAgencyId} is null and ${t.code} is not null`),
  ],
);

export const offerVersions = pgTable(
  'offer_versions',
  {
    id: text('id').primaryKey(),
    offerId: text('offer_id').notNull().references(() => offers.id),
    sellerAgencyId: text('seller_agency_id'),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    billing: text('billing', { enum: offerBillings }).notNull(),
    /** Monthly and term items: the price per month; everything else: the price of one. */
    priceMinor: bigint('price_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    termMonths: integer('term_months'),
    /** Credits: once (credit pack, top-up) or every month (prepaid subscription, plan). */
    credits: bigint('credits', { mode: 'number' }).notNull().default(0),
    /** Chatbots included (resold packages, plans); 1 for a chatbot slot. */
    chatbots: integer('chatbots').notNull().default(0),
    departmentIds: text('department_ids').array().notNull().default([]),
    /** Chatbot sessions per month (a package), or per block (extra sessions). */
    chatbotSessions: integer('chatbot_sessions').notNull().default(0),
    representatives: integer('representatives').notNull().default(0),
    whatsappChannels: integer('whatsapp_channels').notNull().default(0),
    instagramChannels: integer('instagram_channels').notNull().default(0),
    messengerChannels: integer('messenger_channels').notNull().default(0),
    /** Add-on modules, and a plan's features ("reselling"). */
    modules: text('modules').array().notNull().default([]),
    /** A quantity item's unit. */
    unit: text('unit'),
    /** The offer's own tax rate in hundredths of a percent (0, 100, 1000, 2000...); null: the seller's default. */
    taxRateBp: integer('tax_rate_bp'),
    createdAt: createdAt(),
  },
  (t) => [
    unique('offer_versions_number_key').on(t.offerId, t.version),
    check('offer_versions_tax_rate', sql`${t.taxRateBp} is null or ${t.taxRateBp} between 0 and 10000`),
    check('offer_versions_amounts', sql`${t.priceMinor} >= 0 and ${t.credits} >= 0 and ${t.chatbots} >= 0 and ${t.chatbotSessions} >= 0`),
    check(
      'offer_versions_term',
      sql`(${t.billing} in ('prepaid', 'term')) = (${t.termMonths} is not null) and (${t.billing} <> 'term' or ${t.termMonths} in (3, 6, 12)) and (${t.billing} <> 'prepaid' or ${t.termMonths} between 1 and 36)`,
    ),
  ],
);
