import { bigint, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt } from './common';

/**
 * One row per (account, conversation, department) that was charged: usage is counted per
 * conversation, not per reply, and this key makes a repeated request charge nothing.
 */
export const usageConversations = pgTable(
  'usage_conversations',
  {
    // An existing account: checked once per statement (trigger usage_conversations_accounts_exist,
    // migration 0010) instead of a per-row foreign key, as for the ledger.
    accountId: text('account_id').notNull(),
    conversationId: text('conversation_id').notNull(),
    departmentId: text('department_id').notNull(),
    agencyId: text('agency_id').notNull(),
    charged: bigint('charged', { mode: 'number' }).notNull(),
    /** The account's representative the event named (checked by usage_apply), if any. */
    representativeId: text('representative_id'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.conversationId, t.departmentId] })],
);
