import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { signInFailures } from '../../db/schema';
import type { Logger } from '../lib/logger';
import { sharedRedis } from '../lib/redis';
import { sha256 } from '../lib/tokens';

export const SIGN_IN_WINDOW_MINUTES = 15;

export interface SignInAttempt {
  keys: string[];
  windowStart: Date;
  /** Where it was counted (the database unless said). */
  store?: 'redis';
}

export type SignInVerdict =
  | { limited: null; attempt: SignInAttempt }
  | { limited: 'address' | 'email'; retryAfterSeconds: number };

/** The two counters of an attempt: the client address, and the address with this email (hashed). */
function signInKeys(address: string, email: string): { addressKey: string; emailKey: string } {
  return { addressKey: `address:${sha256(address)}`, emailKey: `email:${sha256(`${address}|${email.trim().toLowerCase()}`)}` };
}

/**
 * Counts a sign-in attempt before the password is checked, for the client address and for the
 * address with this email, in the current fixed 15-minute window (database time, so every web
 * process shares the counts). Counting first means a burst of parallel attempts is counted as it
 * arrives, not after its slow password checks. A success is taken back with `forgiveSignInAttempt`.
 */
export async function startSignInAttempt(
  db: Db,
  params: { address: string; email: string; perAddress: number; perEmail: number },
): Promise<SignInVerdict> {
  const { addressKey, emailKey } = signInKeys(params.address, params.email);
  // One statement for both keys, always in the same order (two attempts never wait on each other in a cycle).
  const rows = await db
    .insert(signInFailures)
    .values([addressKey, emailKey].map((key) => ({ key, windowStart: sql`date_bin(${`${SIGN_IN_WINDOW_MINUTES} minutes`}::interval, now(), timestamptz '2000-01-01 00:00:00+00')`, failures: 1 })))
    .onConflictDoUpdate({ target: [signInFailures.key, signInFailures.windowStart], set: { failures: sql`${signInFailures.failures} + 1` } })
    .returning({ key: signInFailures.key, failures: signInFailures.failures, windowStart: signInFailures.windowStart, now: sql<Date>`now()`.mapWith((v: string | Date) => new Date(v)) });
  const count = (key: string) => rows.find((r) => r.key === key)?.failures ?? 0;
  const windowStart = rows[0]!.windowStart;
  const retryAfterSeconds = Math.max(1, Math.ceil((windowStart.getTime() + SIGN_IN_WINDOW_MINUTES * 60_000 - rows[0]!.now.getTime()) / 1000));
  if (count(addressKey) > params.perAddress) return { limited: 'address', retryAfterSeconds };
  if (count(emailKey) > params.perEmail) return { limited: 'email', retryAfterSeconds };
  return { limited: null, attempt: { keys: [addressKey, emailKey], windowStart } };
}

/** A successful sign-in does not count against the address or the email. */
export async function forgiveSignInAttempt(db: Db, attempt: SignInAttempt): Promise<void> {
  await db
    .update(signInFailures)
    .set({ failures: sql`greatest(${signInFailures.failures} - 1, 0)` })
    .where(and(inArray(signInFailures.key, attempt.keys), eq(signInFailures.windowStart, attempt.windowStart)));
}

/** Windows older than an hour count for nothing any more (run by the tick). */
export async function pruneSignInFailures(db: Db): Promise<number> {
  const rows = await db.delete(signInFailures).where(lt(signInFailures.windowStart, sql`now() - interval '1 hour'`)).returning({ key: signInFailures.key });
  return rows.length;
}

/** Where sign-in attempts are counted: one interface, the database or Redis behind it. */
export interface SignInCounts {
  start(params: { address: string; email: string; perAddress: number; perEmail: number }): Promise<SignInVerdict>;
  forgive(attempt: SignInAttempt): Promise<void>;
}

const WINDOW_MS = SIGN_IN_WINDOW_MINUTES * 60_000;

/**
 * The counts for the web processes: in Redis when it is configured (REDIS_URL: one counter per key
 * and 15-minute window, shared by every process, gone an hour after its window), in the database
 * otherwise. Same keys, same windows, same verdicts. While Redis cannot be reached, the database
 * counts (logged): a sign-in is never refused or let through for want of Redis.
 */
export function signInCounts(db: Db, redis?: { url: string; prefix: string; logger: Logger }): SignInCounts {
  const inDb: SignInCounts = { start: (p) => startSignInAttempt(db, p), forgive: (a) => forgiveSignInAttempt(db, a) };
  if (!redis) return inDb;
  const counter = (key: string, windowStart: Date) => `${redis.prefix}:signin:${key}:${windowStart.getTime()}`;
  const fallBack = <T>(what: string, inDatabase: () => Promise<T>) => (err: unknown): Promise<T> => {
    redis.logger.warn(`sign-in limit: Redis unavailable, ${what} in the database`, { error: String(err) });
    return inDatabase();
  };
  return {
    async start(p) {
      const { addressKey, emailKey } = signInKeys(p.address, p.email);
      const now = Date.now();
      const windowStart = new Date(Math.floor(now / WINDOW_MS) * WINDOW_MS);
      try {
        const client = await sharedRedis(redis.url, redis.logger);
        const [a, , e] = (await client.multi()
          .incr(counter(addressKey, windowStart)).pExpire(counter(addressKey, windowStart), WINDOW_MS + 3_600_000)
          .incr(counter(emailKey, windowStart)).pExpire(counter(emailKey, windowStart), WINDOW_MS + 3_600_000)
          .exec()) as unknown as [number, unknown, number, unknown];
        const retryAfterSeconds = Math.max(1, Math.ceil((windowStart.getTime() + WINDOW_MS - now) / 1000));
        if (a > p.perAddress) return { limited: 'address', retryAfterSeconds };
        if (e > p.perEmail) return { limited: 'email', retryAfterSeconds };
        return { limited: null, attempt: { keys: [addressKey, emailKey], windowStart, store: 'redis' } };
      } catch (err) {
        return fallBack('counting', () => inDb.start(p))(err);
      }
    },
    async forgive(attempt) {
      if (attempt.store !== 'redis') return inDb.forgive(attempt);
      try {
        const client = await sharedRedis(redis.url, redis.logger);
        const m = client.multi();
        for (const key of attempt.keys) m.decr(counter(key, attempt.windowStart));
        await m.exec();
      } catch (err) {
        redis.logger.warn('sign-in limit: Redis unavailable, a success was not taken back', { error: String(err) });
      }
    },
  };
}
