import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { tstz, updatedAt } from './common';

/** The test clock, shared by every process (outside production only). */
export const testClock = pgTable('test_clock', {
  id: text('id').primaryKey(),
  frozenAt: tstz('frozen_at'),
  offsetMs: bigint('offset_ms', { mode: 'number' }).notNull().default(0),
  updatedAt: updatedAt(),
});
