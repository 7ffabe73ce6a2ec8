import { and, count, desc, eq, isNull, lt } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { notificationInbox, notifications } from '../../db/schema';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';

export interface InboxItem {
  id: string;
  kind: string;
  category: string | null;
  message: string;
  data: Record<string, unknown>;
  createdAt: Date;
  readAt: Date | null;
}

/** The header bell's number: this person's unread notices. */
export async function unreadCount(db: DbOrTx, userId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(notificationInbox).where(and(eq(notificationInbox.userId, userId), isNull(notificationInbox.readAt)));
  return row?.n ?? 0;
}

/** This person's notices, newest first, a page at a time (`before`: the last one's time). */
export async function listInbox(deps: Pick<Deps, 'db'>, params: { userId: string; limit?: number; before?: Date }): Promise<InboxItem[]> {
  const limit = Math.max(1, Math.min(params.limit ?? 50, 200));
  const rows = await deps.db
    .select({ id: notifications.id, kind: notifications.kind, category: notifications.category, message: notifications.message, data: notifications.data, createdAt: notificationInbox.createdAt, readAt: notificationInbox.readAt })
    .from(notificationInbox)
    .innerJoin(notifications, eq(notifications.id, notificationInbox.notificationId))
    .where(and(eq(notificationInbox.userId, params.userId), params.before ? lt(notificationInbox.createdAt, params.before) : undefined))
    .orderBy(desc(notificationInbox.createdAt), desc(notificationInbox.notificationId))
    .limit(limit);
  return rows.map((r) => ({ ...r, data: (r.data ?? {}) as Record<string, unknown> }));
}

/** Marks one of this person's notices read; another person's (or an unknown) id is not found. */
export async function markRead(deps: Pick<Deps, 'db' | 'clock'>, params: { userId: string; notificationId: string }): Promise<void> {
  const [row] = await deps.db.select({ readAt: notificationInbox.readAt }).from(notificationInbox)
    .where(and(eq(notificationInbox.userId, params.userId), eq(notificationInbox.notificationId, params.notificationId)));
  if (!row) throw new AppError('not_found', 404, 'notifications:error.notFound');
  if (row.readAt) return;
  await deps.db.update(notificationInbox).set({ readAt: deps.clock.now() })
    .where(and(eq(notificationInbox.userId, params.userId), eq(notificationInbox.notificationId, params.notificationId), isNull(notificationInbox.readAt)));
}

/** Marks every unread notice of this person read; returns how many. */
export async function markAllRead(deps: Pick<Deps, 'db' | 'clock'>, userId: string): Promise<number> {
  const rows = await deps.db.update(notificationInbox).set({ readAt: deps.clock.now() })
    .where(and(eq(notificationInbox.userId, userId), isNull(notificationInbox.readAt)))
    .returning({ id: notificationInbox.notificationId });
  return rows.length;
}
