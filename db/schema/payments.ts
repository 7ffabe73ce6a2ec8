import { bigint, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { currencies } from './catalog';
import { createdAt, tstz } from './common';

export const paymentStatuses = ['pending', 'confirmed', 'failed', 'refunded'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];
export const paymentPurposes = ['package_purchase', 'topup', 'chatbot_slots'] as const;
export type PaymentPurpose = (typeof paymentPurposes)[number];

/**
 * Every payment attempt. The seller is the platform (seller_agency_id null) or an agency; the
 * buyer an agency or a sub-account. Amounts in integer minor units.
 */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    sellerAgencyId: text('seller_agency_id'),
    buyerAgencyId: text('buyer_agency_id').notNull(),
    buyerSubAccountId: text('buyer_sub_account_id'),
    purpose: text('purpose', { enum: paymentPurposes }).notNull(),
    referenceId: text('reference_id').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    gateway: text('gateway').notNull(),
    status: text('status', { enum: paymentStatuses }).notNull().default('pending'),
    gatewayReference: text('gateway_reference'),
    failureReason: text('failure_reason'),
    confirmedAt: tstz('confirmed_at'),
    createdAt: createdAt(),
  },
  (t) => [index('payments_buyer_idx').on(t.buyerAgencyId, t.buyerSubAccountId, t.createdAt), uniqueIndex('payments_reference_key').on(t.purpose, t.referenceId)],
);

/** State transitions of a payment, and the raw callbacks that caused them. Append-only. */
export const paymentEvents = pgTable(
  'payment_events',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id').notNull().references(() => payments.id),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    raw: jsonb('raw'),
    createdAt: createdAt(),
  },
  (t) => [index('payment_events_payment_idx').on(t.paymentId, t.createdAt)],
);
