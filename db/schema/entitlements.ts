import { date, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt } from './common';

// What an account uses against its entitlements (DESIGN section 6): its live-support
// representatives and its integrated channel accounts. The account is an agency (sub_account_id
// null, account_id = the agency's id) or a sub-account, as on the billing tables; `agency_id` is
// the tenant every query is scoped by.

export const channelTypes = ['whatsapp', 'instagram', 'messenger'] as const;
export type ChannelType = (typeof channelTypes)[number];

export const representatives = pgTable(
  'representatives',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    accountId: text('account_id').notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('representatives_account_idx').on(t.accountId, t.createdAt),
    uniqueIndex('representatives_account_email_key').on(t.accountId, t.email),
  ],
);

/** One integrated account on a channel (a WhatsApp number, an Instagram or Messenger page). */
export const channelIntegrations = pgTable(
  'channel_integrations',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    accountId: text('account_id').notNull(),
    type: text('type', { enum: channelTypes }).notNull(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('channel_integrations_account_idx').on(t.accountId, t.type),
    uniqueIndex('channel_integrations_account_name_key').on(t.accountId, t.type, t.name),
  ],
);

/**
 * Chatbot sessions opened against the monthly quota (DESIGN section 6): one row per session the
 * chat product opened, counted in the quota period it was opened in. The session id makes
 * opening idempotent (the same session opened twice counts once).
 */
export const chatbotSessions = pgTable(
  'chatbot_sessions',
  {
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    accountId: text('account_id').notNull(),
    sessionId: text('session_id').notNull(),
    /** First day of the quota period it counts in (seller's calendar). */
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.sessionId] }), index('chatbot_sessions_period_idx').on(t.accountId, t.periodStart)],
);

/** Sessions used per account and quota period: one row, incremented only while under the limit. */
export const chatbotSessionCounts = pgTable(
  'chatbot_session_counts',
  {
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    accountId: text('account_id').notNull(),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    used: integer('used').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.periodStart] })],
);
