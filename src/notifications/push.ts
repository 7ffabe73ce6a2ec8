import { and, eq, lt, sql } from 'drizzle-orm';
import webpush from 'web-push';
import { z } from 'zod';
import type { Db, DbOrTx } from '../../db/client';
import { agencies, notifications, pushMessages, pushSubscriptions, users } from '../../db/schema';
import type { Deps } from '../deps';
import { formatterFor } from '../i18n/format';
import { isLang, tFor } from '../i18n/i18n';
import { ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Queue } from '../queue';
import { defineJob, enqueueJob } from '../queue/job';
import { noticeBody, noticeTitle } from './texts';

export const SEND_PUSH_JOB = 'push.send';
/** Past this many failed attempts a message is given up (the tick stops sending it again). */
export const MAX_PUSH_ATTEMPTS = 8;
/** How long a push service keeps a message for a phone that is off: a day, then the notice is stale. */
const PUSH_TTL_SECONDS = 24 * 3600;
const PUSH_TIMEOUT_MS = 15_000;

/** Sends one push message (claims it, sends it to its device's push service, marks it sent). */
export const sendPushJob = defineJob({
  name: SEND_PUSH_JOB,
  payload: z.object({ id: z.string().min(1) }),
  handle: (deps, { id }) => sendPushMessage(deps, id),
});

const subscriptionSchema = z.object({
  endpoint: z.string().url('notifications:push.invalid').max(2000).refine((u) => u.startsWith('https://') || u.startsWith('http://'), 'notifications:push.invalid'),
  p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}={0,2}$/, 'notifications:push.invalid'),
  auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}={0,2}$/, 'notifications:push.invalid'),
});

/** Stores (or moves to this person) the subscription a browser gave; the endpoint is the device's identity. */
export async function savePushSubscription(deps: Pick<Deps, 'db' | 'clock'>, params: { userId: string; input: unknown; userAgent?: string | null }): Promise<string> {
  const parsed = subscriptionSchema.safeParse(params.input);
  if (!parsed.success) throw new ValidationError({ _: 'notifications:push.invalid' });
  const s = parsed.data;
  const [row] = await deps.db
    .insert(pushSubscriptions)
    .values({ id: newId('pus'), userId: params.userId, endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth, userAgent: params.userAgent?.slice(0, 300) ?? null, createdAt: deps.clock.now() })
    .onConflictDoUpdate({ target: pushSubscriptions.endpoint, set: { userId: params.userId, p256dh: s.p256dh, auth: s.auth } })
    .returning({ id: pushSubscriptions.id });
  return row!.id;
}

/** Forgets this person's subscription with that endpoint (the browser unsubscribed). */
export async function removePushSubscription(db: DbOrTx, params: { userId: string; endpoint: string }): Promise<void> {
  await db.delete(pushSubscriptions).where(and(eq(pushSubscriptions.userId, params.userId), eq(pushSubscriptions.endpoint, params.endpoint)));
}

export async function pushDeviceCount(db: DbOrTx, userId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId));
  return row?.n ?? 0;
}

export const PUSH_SWEEP_JOB = 'push.sweep';
/** How often the sweep looks for push messages to send: a notice reaches a phone within seconds. */
export const PUSH_SWEEP_EVERY_MS = 10_000;

/**
 * Hands every pending push message to the push.send job. Notices are written inside their use
 * case's transaction, which has no queue, so the sweep is what sends them: new messages, and
 * those whose attempt failed or was lost. The job id carries the attempt count, so a message
 * whose last attempt failed is sent again, and one in flight is not queued twice.
 */
export const pushSweepJob = defineJob({
  name: PUSH_SWEEP_JOB,
  payload: z.object({}).passthrough(),
  handle: async (deps) => {
    return { queued: await dispatchPendingPushes(deps.queue, deps.db) };
  },
});

/** Push messages waiting to be sent, oldest first. */
export async function pendingPushes(db: DbOrTx): Promise<{ id: string; attempts: number }[]> {
  return db
    .select({ id: pushMessages.id, attempts: pushMessages.attempts })
    .from(pushMessages)
    .where(and(eq(pushMessages.status, 'pending'), lt(pushMessages.attempts, MAX_PUSH_ATTEMPTS)))
    .orderBy(pushMessages.createdAt)
    .limit(500);
}

/** Sends the pending push messages now (the CLI, tests); the sweep job does the same on its schedule. */
export async function dispatchPendingPushes(queue: Queue, db: DbOrTx): Promise<number> {
  const pending = await pendingPushes(db);
  for (const p of pending) await enqueueJob(queue, sendPushJob, { id: p.id }, { jobId: `push:${p.id}:${p.attempts}` });
  return pending.length;
}

/**
 * The push.send job. The message is claimed with a row lock, encrypted for its device (RFC 8291)
 * and signed with the VAPID keys (RFC 8292), then posted to the device's push service. A 404 or 410
 * means the subscription is gone (uninstalled, revoked): it is removed, with its messages. Any
 * other failure fails the attempt, which the job layer retries; the tick sends again what stays
 * pending, up to MAX_PUSH_ATTEMPTS. A message already sent is skipped, so a rerun pushes nothing twice.
 */
export async function sendPushMessage(deps: Pick<Deps, 'db' | 'config' | 'clock'>, id: string): Promise<'sent' | 'skipped' | 'gone' | 'unconfigured'> {
  const vapid = deps.config.vapid;
  const outcome = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select({ message: pushMessages, sub: pushSubscriptions, notice: notifications, locale: users.locale, agencyLocale: agencies.locale, agencyZone: agencies.timeZone })
      .from(pushMessages)
      .innerJoin(pushSubscriptions, eq(pushSubscriptions.id, pushMessages.subscriptionId))
      .innerJoin(notifications, eq(notifications.id, pushMessages.notificationId))
      .innerJoin(users, eq(users.id, pushMessages.userId))
      .leftJoin(agencies, eq(agencies.id, notifications.agencyId))
      .where(and(eq(pushMessages.id, id), eq(pushMessages.status, 'pending')))
      .for('update', { of: pushMessages, skipLocked: true });
    if (!row) return 'skipped' as const;
    if (!vapid) {
      await tx.update(pushMessages).set({ status: 'failed', lastError: 'no VAPID keys configured' }).where(eq(pushMessages.id, id));
      return 'unconfigured' as const;
    }
    const lang = isLang(row.locale) ? row.locale : isLang(row.agencyLocale) ? row.agencyLocale : 'en';
    const t = tFor(lang);
    const fmt = formatterFor(lang, row.agencyZone ?? 'Europe/Istanbul');
    const notice = { kind: row.notice.kind, message: row.notice.message, data: (row.notice.data ?? {}) as Record<string, unknown> };
    const payload = JSON.stringify({ title: noticeTitle(t, notice.kind), body: noticeBody(t, fmt, notice), url: '/notifications', tag: row.notice.id });
    const request = webpush.generateRequestDetails(
      { endpoint: row.sub.endpoint, keys: { p256dh: row.sub.p256dh, auth: row.sub.auth } },
      payload,
      { vapidDetails: vapid, TTL: PUSH_TTL_SECONDS, urgency: 'normal', contentEncoding: 'aes128gcm' },
    );
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const res = await fetch(request.endpoint, { method: request.method, headers, body: request.body, signal: AbortSignal.timeout(PUSH_TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 404 || res.status === 410) {
      await tx.delete(pushSubscriptions).where(eq(pushSubscriptions.id, row.sub.id));
      return 'gone' as const;
    }
    if (!res.ok) throw new PushRefused(res.status);
    const now = deps.clock.now();
    await tx.update(pushMessages).set({ status: 'sent', sentAt: now, attempts: sql`${pushMessages.attempts} + 1`, lastError: null }).where(eq(pushMessages.id, id));
    await tx.update(pushSubscriptions).set({ lastSentAt: now }).where(eq(pushSubscriptions.id, row.sub.id));
    return 'sent' as const;
  }).catch(async (err: unknown) => {
    // The attempt is counted outside the rolled-back transaction, so the tick gives up in time.
    await recordFailure(deps.db, id, err);
    throw err;
  });
  return outcome;
}

class PushRefused extends Error {
  constructor(readonly status: number) {
    super(`the push service answered ${status}`);
  }
}

async function recordFailure(db: Db, id: string, err: unknown): Promise<void> {
  const message = err instanceof Error ? err.message : String(err);
  await db.update(pushMessages).set({
    attempts: sql`${pushMessages.attempts} + 1`,
    lastError: message.slice(0, 500),
    status: sql`case when ${pushMessages.attempts} + 1 >= ${MAX_PUSH_ATTEMPTS} then 'failed' else 'pending' end`,
  }).where(and(eq(pushMessages.id, id), eq(pushMessages.status, 'pending'))).catch(() => undefined);
}
