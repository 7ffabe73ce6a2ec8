import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './common';

/**
 * The WhatsApp balance: a money wallet per account (agency or sub-account; owner_key as in
 * auto-billing), separate from credits, with its own append-only ledger. Minor units.
 */
export const wallets = pgTable(
  'wallets',
  {
    ownerKey: text('owner_key').primaryKey(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    currency: text('currency').notNull(),
    balanceMinor: bigint('balance_minor', { mode: 'number' }).notNull().default(0),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('wallets_balance_not_negative', sql`${t.balanceMinor} >= 0`)],
);

export const walletReasons = ['top_up', 'debit', 'refund', 'adjustment'] as const;

export const walletEntries = pgTable(
  'wallet_entries',
  {
    id: text('id').primaryKey(),
    ownerKey: text('owner_key').notNull(),
    agencyId: text('agency_id').notNull(),
    deltaMinor: bigint('delta_minor', { mode: 'number' }).notNull(),
    balanceAfterMinor: bigint('balance_after_minor', { mode: 'number' }).notNull(),
    reason: text('reason', { enum: walletReasons }).notNull(),
    reference: text('reference'),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
  },
  (t) => [
    index('wallet_entries_owner_idx').on(t.ownerKey, t.createdAt),
    uniqueIndex('wallet_entries_idempotency_key').on(t.ownerKey, t.idempotencyKey).where(sql`idempotency_key is not null`),
  ],
);

/** A top-up of the wallet waiting for its payment (the payment's reference). */
export const walletTopups = pgTable('wallet_topups', {
  id: text('id').primaryKey(),
  ownerKey: text('owner_key').notNull(),
  agencyId: text('agency_id').notNull(),
  subAccountId: text('sub_account_id'),
  amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
  currency: text('currency').notNull(),
  status: text('status', { enum: ['pending_payment', 'applied', 'payment_failed'] }).notNull().default('pending_payment'),
  createdAt: createdAt(),
  appliedAt: tstz('applied_at'),
});
