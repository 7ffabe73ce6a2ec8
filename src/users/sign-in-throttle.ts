import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { signInFailures } from '../../db/schema';
import { sha256 } from '../lib/tokens';

export const SIGN_IN_WINDOW_MINUTES = 15;

export interface SignInAttempt {
  keys: string[];
  windowStart: Date;
}

export type SignInVerdict =
  | { limited: null; attempt: SignInAttempt }
  | { limited: 'address' | 'email'; retryAfterSeconds: number };

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
  const addressKey = `address:${sha256(params.address)}`;
  const emailKey = `email:${sha256(`${params.address}|${params.email.trim().toLowerCase()}`)}`;
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
