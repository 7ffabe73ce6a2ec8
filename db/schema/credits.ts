import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, foreignKey, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz, updatedAt } from './common';
import { subAccounts } from './sub-accounts';

export const lotSources = ['purchase', 'monthly_grant', 'topup', 'adjustment', 'transfer', 'refund'] as const;
export type LotSource = (typeof lotSources)[number];
export const ledgerReasons = ['grant', 'consume', 'transfer_in', 'transfer_out', 'expire', 'forfeit', 'adjustment', 'refund'] as const;
export type LedgerReason = (typeof ledgerReasons)[number];

/**
 * A credit account: the agency's pool (sub_account_id null) or a sub-account's balance.
 * `balance` is the sum of its lots' remaining credits and of its ledger entries (kept equal in
 * every transaction). Lots past their expiry are swept (an "expire" entry) before any debit;
 * readers subtract not-yet-swept expired lots.
 */
export const creditAccounts = pgTable(
  'credit_accounts',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    balance: bigint('balance', { mode: 'number' }).notNull().default(0),
    lowBalanceThreshold: bigint('low_balance_threshold', { mode: 'number' }),
    /** Set when the balance fell below the threshold and the notice went out; cleared when it recovers. */
    lowBalanceNotified: boolean('low_balance_notified').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('credit_accounts_owner_key').on(t.agencyId, sql`coalesce(${t.subAccountId}, '')`),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
    check('credit_accounts_balance_nonneg', sql`${t.balance} >= 0`),
  ],
);

export const creditLots = pgTable(
  'credit_lots',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => creditAccounts.id),
    agencyId: text('agency_id').notNull(),
    source: text('source', { enum: lotSources }).notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    remaining: bigint('remaining', { mode: 'number' }).notNull(),
    expiresAt: tstz('expires_at'),
    reference: text('reference'),
    createdAt: createdAt(),
  },
  (t) => [
    // FIFO by expiry then age. No predicate on `remaining`: a debit then changes no indexed
    // column, so it is a HOT update (no new index entry per debit of a busy account).
    index('credit_lots_account_idx').on(t.accountId, t.expiresAt, t.createdAt),
    check('credit_lots_remaining_range', sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.amount}`),
  ],
);

export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // Must name an existing account: checked once per statement by the database (trigger
    // credit_ledger_accounts_exist, migration 0010), not by a per-row foreign key; accounts are
    // never deleted (trigger credit_accounts_kept).
    accountId: text('account_id').notNull(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    delta: bigint('delta', { mode: 'number' }).notNull(),
    balanceAfter: bigint('balance_after', { mode: 'number' }).notNull(),
    reason: text('reason', { enum: ledgerReasons }).notNull(),
    /** A credit's lot source (purchase, monthly_grant, topup...): the credit-flow report's "in by source". Null on debits. */
    source: text('source', { enum: lotSources }),
    /** What caused it: a conversation, a purchase, an adjustment, a lot... */
    reference: text('reference'),
    idempotencyKey: text('idempotency_key'),
    note: text('note'),
    data: jsonb('data'),
    createdAt: createdAt(),
  },
  (t) => [
    index('credit_ledger_account_idx').on(t.accountId, t.createdAt),
    index('credit_ledger_agency_idx').on(t.agencyId, t.createdAt),
    // Partial: consumption entries carry no key, and a full index would be updated for each of them.
    uniqueIndex('credit_ledger_idem_key').on(t.accountId, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
  ],
);
