import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
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
