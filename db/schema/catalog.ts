import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz } from './common';

export const currencies = ['TRY', 'USD', 'EUR'] as const;
export type Currency = (typeof currencies)[number];

export const agencyOrderKinds = ['topup', 'chatbot_slots'] as const;
export const agencyOrderStatuses = ['pending_payment', 'paid', 'applied', 'payment_failed'] as const;

/** An agency buying from the platform: credits into its pool, or chatbot slots. */
export const agencyOrders = pgTable(
  'agency_orders',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    kind: text('kind', { enum: agencyOrderKinds }).notNull(),
    topupPackageId: text('topup_package_id'),
    quantity: integer('quantity').notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull().default(0),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    status: text('status', { enum: agencyOrderStatuses }).notNull().default('pending_payment'),
    appliedAt: tstz('applied_at'),
    createdAt: createdAt(),
  },
  (t) => [index('agency_orders_agency_idx').on(t.agencyId, t.createdAt), check('agency_orders_quantity_pos', sql`${t.quantity} > 0`)],
);
