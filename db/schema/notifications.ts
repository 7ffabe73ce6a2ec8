import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './common';

/** In-app notices for an agency (sub_account_id null) or a sub-account. */
export const notifications = pgTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    data: jsonb('data').notNull().default({}),
    readAt: tstz('read_at'),
    createdAt: createdAt(),
  },
  (t) => [index('notifications_owner_idx').on(t.agencyId, t.subAccountId, t.createdAt)],
);
