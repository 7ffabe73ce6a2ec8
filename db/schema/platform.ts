import { pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './common';

/** The operator. One row: a Kontor deployment serves one platform. */
export const platform = pgTable('platform', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  timeZone: text('time_zone').notNull().default('Europe/Istanbul'),
  currency: text('currency').notNull().default('USD'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
