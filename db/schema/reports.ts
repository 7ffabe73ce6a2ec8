import { bigint, date, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

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
  (t) => [
    primaryKey({ columns: [t.agencyId, t.day, t.accountId, t.departmentId, t.representativeId] }),
    // A report of one account (a client's own, or an agency's filter): its days only.
    index('usage_daily_account_day').on(t.agencyId, t.subAccountId, t.day),
  ],
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
  (t) => [
    primaryKey({ columns: [t.agencyId, t.day, t.accountId, t.reason, t.source] }),
    index('credit_flow_daily_account_day').on(t.agencyId, t.subAccountId, t.day),
  ],
);

// The second level (docs/reports.md, "Rollups"): the day-level sums above, summed again for the
// agency's sealed days, by a job (src/reports/rollup-levels.ts). A day-level row per account is
// nearly as big as the raw data when accounts have a few events a day; these are what a report
// over a long range reads, topped up from the day level for the days not sealed yet.

/**
 * Per agency: the last sealed day. The second-level tables hold exactly the day-level sums of the
 * agency's days up to it (none when there is no row). Advanced by the sealing job, under the
 * agency's report lock (an advisory lock every day-level writer takes shared).
 */
export const reportRollupMarks = pgTable('report_rollup_marks', {
  agencyId: text('agency_id').primaryKey(),
  sealedThrough: date('sealed_through', { mode: 'string' }).notNull(),
});

/** usage_daily by agency, day and department, sealed days only (the by-day and by-department reports). */
export const usageAgencyDaily = pgTable(
  'usage_agency_daily',
  {
    agencyId: text('agency_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    departmentId: text('department_id').notNull(),
    conversations: bigint('conversations', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.day, t.departmentId] })],
);

/** usage_daily by calendar month (its first day), sealed days only (by sub-account and by representative with a department filter). */
export const usageMonthly = pgTable(
  'usage_monthly',
  {
    agencyId: text('agency_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    subAccountId: text('sub_account_id'),
    departmentId: text('department_id').notNull(),
    representativeId: text('representative_id').notNull().default(''),
    conversations: bigint('conversations', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.month, t.accountId, t.departmentId, t.representativeId] })],
);

/** usage_daily by account and month only, sealed days only (by sub-account and credit flow by account, no department filter). */
export const usageAccountMonthly = pgTable(
  'usage_account_monthly',
  {
    agencyId: text('agency_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    subAccountId: text('sub_account_id'),
    conversations: bigint('conversations', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.month, t.accountId] })],
);

/** usage_daily by representative (and account: '' is per account) and month, sealed days only (by representative, no department filter). */
export const usageRepresentativeMonthly = pgTable(
  'usage_representative_monthly',
  {
    agencyId: text('agency_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    representativeId: text('representative_id').notNull(),
    subAccountId: text('sub_account_id'),
    conversations: bigint('conversations', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.month, t.accountId, t.representativeId] })],
);

/** credit_flow_daily by agency, day, reason and source, sealed days only (credit flow by day). */
export const creditFlowAgencyDaily = pgTable(
  'credit_flow_agency_daily',
  {
    agencyId: text('agency_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    reason: text('reason').notNull(),
    source: text('source').notNull().default(''),
    entries: bigint('entries', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.day, t.reason, t.source] })],
);

/** credit_flow_daily by calendar month, sealed days only (credit flow by account). */
export const creditFlowMonthly = pgTable(
  'credit_flow_monthly',
  {
    agencyId: text('agency_id').notNull(),
    month: date('month', { mode: 'string' }).notNull(),
    accountId: text('account_id').notNull(),
    subAccountId: text('sub_account_id'),
    reason: text('reason').notNull(),
    source: text('source').notNull().default(''),
    entries: bigint('entries', { mode: 'number' }).notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agencyId, t.month, t.accountId, t.reason, t.source] })],
);
