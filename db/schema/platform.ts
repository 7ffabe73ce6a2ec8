import { bigint, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './common';

/** The operator. One row: a Kontor deployment serves one platform. */
export const platform = pgTable('platform', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timeZone: text('time_zone').notNull().default('Europe/Istanbul'),
  currency: text('currency').notNull().default('USD'),
  /** Price of one chatbot slot for agencies, in the platform currency's minor units. */
  chatbotSlotPriceMinor: bigint('chatbot_slot_price_minor', { mode: 'number' }).notNull().default(0),
  /** Days between an invoice's issue and its due date, for the invoices the platform issues to agencies. */
  invoiceDueDays: integer('invoice_due_days').notNull().default(10),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
