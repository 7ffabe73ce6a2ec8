import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { platform, testClock } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { requireRole, requireScope } from '../auth/policies';
import type { Deps } from '../deps';
import { DAY_MS, type TestClock } from '../lib/clock';
import { errors } from '../lib/errors';
import { parse } from '../lib/validation';

const ROW_ID = 'default';

export const testClockSchema = z.union([
  z.object({ now: z.iso.datetime({ offset: true, error: 'now must be an ISO-8601 date-time, e.g. 2026-01-31T09:00:00Z.' }) }).strict(),
  z.object({ advanceDays: z.number().int('advanceDays must be a whole number.').min(1).max(3660) }).strict(),
  z.object({ advanceSeconds: z.number().int().min(1).max(366 * 86_400) }).strict(),
  z.object({ reset: z.literal(true) }).strict(),
], { error: 'Send {"now": ISO-8601}, {"advanceDays": n}, {"advanceSeconds": n} or {"reset": true}.' });

/** Loads the shared test clock state into this process's clock. */
export async function loadTestClock(db: Db, clock: TestClock): Promise<void> {
  const [row] = await db.select().from(testClock).where(eq(testClock.id, ROW_ID));
  clock.frozenAt = row?.frozenAt ?? null;
  clock.offsetMs = row?.offsetMs ?? 0;
}

/**
 * Moves the test clock and persists it, so workers and other web processes follow. Time never
 * goes backwards while frozen: billing state was computed at the old "now".
 */
export async function moveTestClock(deps: Deps, params: { actor: Actor; input: unknown }): Promise<{ now: Date; frozen: boolean }> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const clock = deps.testClock;
  if (!clock) throw errors.notFound('Route');
  const input = parse(testClockSchema, params.input);
  if ('now' in input) {
    const target = new Date(input.now);
    if (clock.frozenAt && target < clock.frozenAt) {
      throw errors.badRequest('clock_backwards', 'The test clock cannot move backwards; reset it first.');
    }
    clock.set(target);
  } else if ('advanceDays' in input) clock.advance(input.advanceDays * DAY_MS);
  else if ('advanceSeconds' in input) clock.advance(input.advanceSeconds * 1000);
  else clock.reset();
  const row = { id: ROW_ID, frozenAt: clock.frozenAt, offsetMs: clock.offsetMs, updatedAt: new Date() };
  await deps.db.insert(testClock).values(row).onConflictDoUpdate({ target: testClock.id, set: row });
  return { now: clock.now(), frozen: clock.frozenAt !== null };
}

/**
 * The test clock as platform staff read it: a date and time in the platform's time zone
 * ("10 Mar 2026, 12:00 GMT+3"), never a raw ISO string.
 */
export async function formatTestClock(db: Db, at: Date): Promise<{ iso: string; label: string; zone: string }> {
  const [row] = await db.select({ zone: platform.timeZone }).from(platform).limit(1);
  const zone = row?.zone || 'UTC';
  const label = new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: zone, timeZoneName: 'short' }).format(at);
  return { iso: at.toISOString(), label, zone };
}
