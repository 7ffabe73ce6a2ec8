import { index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './common';

/**
 * Transactional outbox for email: a use case inserts the message in the same transaction as
 * its change, and a job sends it after commit. The idempotency key makes a rerun mail nothing twice.
 */
export const outboxEmails = pgTable(
  'outbox_emails',
  {
    id: text('id').primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    agencyId: text('agency_id'),
    to: text('to').array().notNull(),
    cc: text('cc').array().notNull().default([]),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    /** The From display name (the address is the platform's technical one); null: the configured MAIL_FROM as is. */
    fromName: text('from_name'),
    replyTo: text('reply_to'),
    attachments: jsonb('attachments').notNull().default([]),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: tstz('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('outbox_emails_key').on(t.idempotencyKey), index('outbox_emails_pending_idx').on(t.status, t.createdAt)],
);
