import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { tstz } from './common';

/** express-session rows: logins survive a restart and are shared by every web process. */
export const sessions = pgTable(
  'sessions',
  {
    sid: text('sid').primaryKey(),
    sess: jsonb('sess').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_idx').on(t.expiresAt)],
);
