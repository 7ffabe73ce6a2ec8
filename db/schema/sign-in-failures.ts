import { index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { tstz } from './common';

/**
 * Failed sign-ins counted per key (a client address, or an address and an email; both hashed)
 * and fixed time window, in the database so every web process sees the same counts.
 */
export const signInFailures = pgTable(
  'sign_in_failures',
  {
    key: text('key').notNull(),
    windowStart: tstz('window_start').notNull(),
    failures: integer('failures').notNull(),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] }), index('sign_in_failures_window_idx').on(t.windowStart)],
);
