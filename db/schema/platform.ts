import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './common';

/** The operator. One row: a Kontor deployment serves one platform. */
export const platform = pgTable('platform', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timeZone: text('time_zone').notNull().default('Europe/Istanbul'),
  currency: text('currency').notNull().default('USD'),
  /** Days between an invoice's issue and its due date, for the invoices the platform issues to agencies. */
  invoiceDueDays: integer('invoice_due_days').notNull().default(10),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
