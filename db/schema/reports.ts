import { bigint, date, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

// Rollups behind the reports (DESIGN section 11): sums of the raw tables by account and calendar
// day in the agency's time zone, kept in the same transaction as the rows they sum, so they
// always equal them (docs/reports.md). Reports read these, never the raw events.

/**
 * Usage per account, day, department and representative ('' when the events named none).
 * Written by usage_apply in the statement that records the conversations (db/functions).
 * The key starts with the agency and the day: a report's range is one index range.
 */
export const usageDaily = pgTable(
  'usage_daily',
  {
    agencyId: text('agency_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    /** null: the agency's pool (its own chatbots). */
    subAccountId: text('sub_account_id'),
    departmentId: text('department_id').notNull(),
    representativeId: text('representative_id').notNull().default(''),
    conversations: bigint('conversations', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.day, t.accountId, t.departmentId, t.representativeId] })],
);

/**
 * Ledger entries other than usage per account, day, reason and lot source ('' when none):
 * grants, purchases, top-ups, adjustments, transfers, forfeits, expiries. Written by the
 * statement trigger credit_flow_rollup on every insert into credit_ledger (db/functions);
 * usage's debits are usage_daily's credits.
 */
export const creditFlowDaily = pgTable(
  'credit_flow_daily',
  {
    agencyId: text('agency_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    subAccountId: text('sub_account_id'),
    reason: text('reason').notNull(),
    source: text('source').notNull().default(''),
    entries: bigint('entries', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.day, t.accountId, t.reason, t.source] })],
);
