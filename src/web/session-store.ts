import { eq, lt, sql } from 'drizzle-orm';
import session from 'express-session';
import type { Db } from '../../db/client';
import { sessions } from '../../db/schema';
import type { AccessCache } from './access-cache';

const DEFAULT_TTL_MS = 24 * 3600 * 1000;
/**
 * A rolling session's expiry is pushed forward on every request; written only when it moves by at
 * least this much (a session then lives up to this much less than its full age after its last
 * request), so a page view costs no write.
 */
const TOUCH_EVERY_MS = 60 * 1000;
/** Sessions read but not yet written back, at most this many (a bound, not a cache to keep). */
const MAX_READ = 10_000;

/** A session's row as cached: its data as JSON text (each request parses its own copy). */
interface CachedRow {
  sess: string;
  expiresAt: number;
  userId: string | null;
}

/**
 * express-session store on our own database, through drizzle, so it works the same on PGlite and
 * Postgres. Session expiry uses wall-clock time on purpose: moving the test clock a month ahead
 * must not sign everybody out.
 *
 * With a cache (the web process's AccessCache), a session's row is read once and then served from
 * memory until it changes (docs/decisions.md, "The session row is cached per process"): every update
 * or deletion of a row, by any process (a flash message, a sign-out, a password change ending the
 * user's other sessions, the pruning of expired ones), is announced at commit (`sid:<id>`, trigger
 * `sessions_access`), and this process drops its own copy before and after each of its own writes.
 * A row not found is never cached.
 */
export class DbSessionStore extends session.Store {
  /** What each session read by this process holds in its row: touch() skips a write that changes nothing that matters. */
  private readonly read = new Map<string, { expiresAt: number; userId: string | null }>();

  constructor(
    private readonly db: Db,
    private readonly cache?: AccessCache,
  ) {
    super();
  }

  private readRow(sid: string): Promise<CachedRow | null> {
    return this.db
      .select()
      .from(sessions)
      .where(eq(sessions.sid, sid))
      .then(([row]) => (row ? { sess: JSON.stringify(row.sess), expiresAt: row.expiresAt.getTime(), userId: row.userId } : null));
  }

  /** Drops this process's copy of a session it is writing (before the write, and again once written). */
  private forget(sid: string): void {
    this.cache?.invalidate(`sid:${sid}`);
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
    const row = this.cache ? this.cache.get(`sess:${sid}`, () => this.readRow(sid), (r) => (r ? [`sid:${sid}`] : null)) : this.readRow(sid);
    row.then((r) => {
      const live = r !== null && r.expiresAt > Date.now();
      if (live) {
        if (this.read.size >= MAX_READ) this.read.clear();
        this.read.set(sid, { expiresAt: r.expiresAt, userId: r.userId });
      }
      cb(null, live ? (JSON.parse(r.sess) as session.SessionData) : null);
    }, cb);
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.read.delete(sid);
    this.forget(sid);
    const row = { sid, sess: sess as unknown as Record<string, unknown>, userId: this.userIdOf(sess), expiresAt: this.expiry(sess) };
    this.db
      .insert(sessions)
      .values(row)
      .onConflictDoUpdate({ target: sessions.sid, set: { sess: row.sess, userId: row.userId, expiresAt: row.expiresAt } })
      .then(() => (this.forget(sid), cb?.()), (e) => (this.forget(sid), cb?.(e)));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.read.delete(sid);
    this.forget(sid);
    this.db.delete(sessions).where(eq(sessions.sid, sid)).then(() => (this.forget(sid), cb?.()), (e) => (this.forget(sid), cb?.(e)));
  }

  override touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    const stored = this.read.get(sid);
    this.read.delete(sid);
    const expiresAt = this.expiry(sess);
    const userId = this.userIdOf(sess);
    if (stored && stored.userId === userId && expiresAt.getTime() - stored.expiresAt < TOUCH_EVERY_MS) {
      cb?.();
      return;
    }
    // Also fills user_id on sessions written before the column existed.
    this.forget(sid);
    this.db.update(sessions).set({ expiresAt, userId }).where(eq(sessions.sid, sid)).then(() => (this.forget(sid), cb?.()), () => (this.forget(sid), cb?.()));
  }
}

export async function pruneExpiredSessions(db: Db): Promise<number> {
  const rows = await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`)).returning({ sid: sessions.sid });
  return rows.length;
}
