import { bigint, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt } from './common';
import { creditAccounts } from './credits';

/**
 * One row per (account, conversation, department) that was charged: usage is counted per
 * conversation, not per reply, and this key makes a repeated request charge nothing.
 */
export const usageConversations = pgTable(
  'usage_conversations',
  {
    accountId: text('account_id').notNull().references(() => creditAccounts.id),
    conversationId: text('conversation_id').notNull(),
    departmentId: text('department_id').notNull(),
    agencyId: text('agency_id').notNull(),
    charged: bigint('charged', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.conversationId, t.departmentId] })],
);
