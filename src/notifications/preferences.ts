import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { notificationCategories, notificationChannels, notificationPreferences, type NotificationCategory, type NotificationChannel } from '../../db/schema';
import type { Deps } from '../deps';

export type PreferenceMatrix = Record<NotificationCategory, Record<NotificationChannel, boolean>>;

/** Every channel on: what a person gets until they change something. */
export function defaultMatrix(): PreferenceMatrix {
  const all = () => ({ email: true, in_app: true, push: true });
  return { billing: all(), credits: all(), purchases: all(), team: all() };
}

/** The matrices of several people (one query); people without rows get the defaults. */
export async function preferencesOf(db: DbOrTx, userIds: string[]): Promise<Map<string, PreferenceMatrix>> {
  const out = new Map<string, PreferenceMatrix>(userIds.map((id) => [id, defaultMatrix()]));
  if (userIds.length === 0) return out;
  const rows = await db.select().from(notificationPreferences).where(inArray(notificationPreferences.userId, [...new Set(userIds)]));
  for (const r of rows) {
    const m = out.get(r.userId);
    if (m) m[r.category] = { email: r.email, in_app: r.inApp, push: r.push };
  }
  return out;
}

export async function getPreferences(deps: Pick<Deps, 'db'>, userId: string): Promise<PreferenceMatrix> {
  return (await preferencesOf(deps.db, [userId])).get(userId)!;
}

/**
 * Saves the whole matrix from the profile form: a checkbox per category and channel, named
 * `<category>.<channel>`; an absent box is off. Without the push channel (no VAPID keys) the
 * push choices are kept as they were.
 */
export async function savePreferences(deps: Pick<Deps, 'db' | 'clock'>, params: { userId: string; input: unknown; pushAvailable: boolean }): Promise<PreferenceMatrix> {
  const body = z.record(z.string(), z.unknown()).catch({}).parse(params.input);
  const current = await getPreferences(deps, params.userId);
  const on = (v: unknown) => v === 'on' || v === 'true' || v === true || v === '1';
  const now = deps.clock.now();
  const next = defaultMatrix();
  await deps.db.transaction(async (tx) => {
    for (const category of notificationCategories) {
      for (const channel of notificationChannels) {
        next[category][channel] = channel === 'push' && !params.pushAvailable ? current[category].push : on(body[`${category}.${channel}`]);
      }
      const v = next[category];
      await tx
        .insert(notificationPreferences)
        .values({ userId: params.userId, category, email: v.email, inApp: v.in_app, push: v.push, updatedAt: now })
        .onConflictDoUpdate({ target: [notificationPreferences.userId, notificationPreferences.category], set: { email: v.email, inApp: v.in_app, push: v.push, updatedAt: now } });
    }
  });
  return next;
}

/** One cell, for tests and the API. */
export async function setPreference(db: DbOrTx, userId: string, category: NotificationCategory, channel: NotificationChannel, enabled: boolean): Promise<void> {
  const [row] = await db.select().from(notificationPreferences).where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.category, category)));
  const v = row ? { email: row.email, in_app: row.inApp, push: row.push } : { email: true, in_app: true, push: true };
  v[channel] = enabled;
  await db
    .insert(notificationPreferences)
    .values({ userId, category, email: v.email, inApp: v.in_app, push: v.push })
    .onConflictDoUpdate({ target: [notificationPreferences.userId, notificationPreferences.category], set: { email: v.email, inApp: v.in_app, push: v.push } });
}
