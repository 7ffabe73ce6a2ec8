import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './common';

/**
 * Auto-billing settings of an account: an agency (buying from the platform) or a sub-account
 * (buying from its agency). owner_key is 'agency:<id>' or 'sub:<id>'.
 */
export const autoBillingSettings = pgTable('auto_billing_settings', {
  ownerKey: text('owner_key').primaryKey(),
  agencyId: text('agency_id').notNull(),
  subAccountId: text('sub_account_id'),
  enabled: boolean('enabled').notNull().default(false),
  /** Never exceeded in a calendar month (the seller's time zone), in the seller's currency. */
  monthlyCapMinor: bigint('monthly_cap_minor', { mode: 'number' }),
  currency: text('currency'),
  /** The saved method charged; null: the buyer's default method. */
  paymentMethodId: text('payment_method_id'),
  notifyEmails: text('notify_emails').array().notNull().default([]),
  consecutiveDeclines: integer('consecutive_declines').notNull().default(0),
  /** After a decline, no charge is tried before this instant. */
  retryAfter: tstz('retry_after'),
  disabledReason: text('disabled_reason'),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

export const autoBillingTriggers = ['purchase', 'monthly_grant', 'agency_usage', 'sub_account_usage'] as const;
export type AutoBillingTrigger = (typeof autoBillingTriggers)[number];
export const autoBillingStatuses = ['pending', 'succeeded', 'on_invoice', 'declined', 'failed', 'refused'] as const;
export type AutoBillingStatus = (typeof autoBillingStatuses)[number];

/**
 * Every auto-billing attempt: what ran short, what was bought, the amount and the result. At most
 * one is pending per account (the partial unique index): concurrent shortages share it.
 */
export const autoBillingCharges = pgTable(
  'auto_billing_charges',
  {
    id: text('id').primaryKey(),
    ownerKey: text('owner_key').notNull(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    trigger: text('trigger', { enum: autoBillingTriggers }).notNull(),
    reference: text('reference'),
    /** What was short when it fired. */
    deficitCredits: bigint('deficit_credits', { mode: 'number' }).notNull().default(0),
    deficitChatbots: integer('deficit_chatbots').notNull().default(0),
    /** What is bought: credits (packages) and chatbot slots. */
    credits: bigint('credits', { mode: 'number' }).notNull().default(0),
    chatbots: integer('chatbots').notNull().default(0),
    items: jsonb('items').$type<{ packageId: string; quantity: number; credits: number; priceMinor: number }[]>().notNull().default([]),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: autoBillingStatuses }).notNull(),
    paymentId: text('payment_id'),
    paymentMethodId: text('payment_method_id'),
    failureReason: text('failure_reason'),
    /** The calendar month (seller's time zone) it counts against the cap: 'YYYY-MM'. */
    month: text('month').notNull(),
    createdAt: createdAt(),
    completedAt: tstz('completed_at'),
    /** When what was bought reached the account (charge first, then grant: a separate, idempotent step). */
    deliveredAt: tstz('delivered_at'),
  },
  (t) => [
    uniqueIndex('auto_billing_one_pending').on(t.ownerKey).where(sql`status = 'pending'`),
    index('auto_billing_charges_owner_idx').on(t.ownerKey, t.createdAt),
  ],
);
