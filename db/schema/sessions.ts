import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { tstz } from './common';

/** express-session rows: logins survive a restart and are shared by every web process. */
export const sessions = pgTable(
  'sessions',
  {
    sid: text('sid').primaryKey(),
    sess: jsonb('sess').notNull(),
    /** The signed-in user (passport's id in `sess`), so a password change can end their sessions. */
    userId: text('user_id'),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_idx').on(t.expiresAt), index('sessions_user_idx').on(t.userId)],
);
