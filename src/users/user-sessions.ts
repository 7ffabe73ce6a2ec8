import { and, eq, isNull, ne, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { sessions } from '../../db/schema';

/**
 * Ends a user's sessions, all of them or all but `keepSessionId` (the one the change was made in).
 * Sessions written before `sessions.user_id` existed are found by passport's id in the session
 * data until the store has filled the column (it does so on their next request).
 */
export async function endUserSessions(db: DbOrTx, params: { userId: string; keepSessionId?: string | null }): Promise<number> {
  const ofUser = or(eq(sessions.userId, params.userId), and(isNull(sessions.userId), sql`${sessions.sess}->'passport'->>'user' = ${params.userId}`));
  const rows = await db
    .delete(sessions)
    .where(params.keepSessionId ? and(ofUser, ne(sessions.sid, params.keepSessionId)) : ofUser)
    .returning({ sid: sessions.sid });
  return rows.length;
}
