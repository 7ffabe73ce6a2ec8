import { eq, lt, sql } from 'drizzle-orm';
import session from 'express-session';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';

const DEFAULT_TTL_MS = 24 * 3600 * 1000;

/**
 * express-session store on our own database, through drizzle, so it works the same on PGlite and
 * Postgres. Session expiry uses wall-clock time on purpose: moving the test clock a month ahead
 * must not sign everybody out.
 */
export class DbSessionStore extends session.Store {
  constructor(private readonly db: Db) {
    super();
  }

  /** passport keeps the signed-in user's id in the session; the column lets it be found by user. */
  private userIdOf(sess: session.SessionData): string | null {
    const user = (sess as { passport?: { user?: unknown } }).passport?.user;
    return typeof user === 'string' ? user : null;
  }

  private expiry(sess: session.SessionData): Date {
    const exp = sess.cookie?.expires;
    return exp ? new Date(exp) : new Date(Date.now() + DEFAULT_TTL_MS);
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    this.db
      .select()
      .from(sessions)
      .where(eq(sessions.sid, sid))
      .then(([row]) => cb(null, row && row.expiresAt.getTime() > Date.now() ? (row.sess as session.SessionData) : null), cb);
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const row = { sid, sess: sess as unknown as Record<string, unknown>, userId: this.userIdOf(sess), expiresAt: this.expiry(sess) };
    this.db
      .insert(sessions)
      .values(row)
      .onConflictDoUpdate({ target: sessions.sid, set: { sess: row.sess, userId: row.userId, expiresAt: row.expiresAt } })
      .then(() => cb?.(), (e) => cb?.(e));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.db.delete(sessions).where(eq(sessions.sid, sid)).then(() => cb?.(), (e) => cb?.(e));
  }

  override touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    // Also fills user_id on sessions written before the column existed.
    this.db.update(sessions).set({ expiresAt: this.expiry(sess), userId: this.userIdOf(sess) }).where(eq(sessions.sid, sid)).then(() => cb?.(), () => cb?.());
  }
}

export async function pruneExpiredSessions(db: Db): Promise<number> {
  const rows = await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`)).returning({ sid: sessions.sid });
  return rows.length;
}
