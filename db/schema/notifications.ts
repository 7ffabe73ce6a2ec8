import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz, updatedAt } from './common';
import { users } from './users';

/** What a notice is about: each person chooses, per category, the channels it reaches them by. */
export const notificationCategories = ['billing', 'credits', 'purchases', 'team'] as const;
export type NotificationCategory = (typeof notificationCategories)[number];
export const notificationChannels = ['email', 'in_app', 'push'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];

/**
 * A notice about an agency (sub_account_id null) or a sub-account, written once whoever reads it;
 * `user_id` set: a notice for that person alone (team and security). Who sees it in the app is
 * in notification_inbox.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id'),
    subAccountId: text('sub_account_id'),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    category: text('category', { enum: notificationCategories }),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    data: jsonb('data').notNull().default({}),
    readAt: tstz('read_at'),
    createdAt: createdAt(),
  },
  (t) => [index('notifications_owner_idx').on(t.agencyId, t.subAccountId, t.createdAt)],
);

/** One person's copy of a notice in their notification centre (written only when in-app is on for its category). */
export const notificationInbox = pgTable(
  'notification_inbox',
  {
    notificationId: text('notification_id').notNull().references(() => notifications.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    readAt: tstz('read_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.notificationId, t.userId] }),
    index('notification_inbox_user_idx').on(t.userId, t.createdAt),
    index('notification_inbox_unread_idx').on(t.userId).where(sql`${t.readAt} is null`),
  ],
);

/** A person's choices; a category without a row has every channel on. */
export const notificationPreferences = pgTable(
  'notification_preferences',
  {
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    category: text('category', { enum: notificationCategories }).notNull(),
    email: boolean('email').notNull().default(true),
    inApp: boolean('in_app').notNull().default(true),
    push: boolean('push').notNull().default(true),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.category] })],
);

/** A browser or phone that accepted Web Push for a person (the endpoint and keys its push service gave). */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text('endpoint').notNull(),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
    lastSentAt: tstz('last_sent_at'),
  },
  (t) => [uniqueIndex('push_subscriptions_endpoint_key').on(t.endpoint), index('push_subscriptions_user_idx').on(t.userId)],
);

/** One notice to one subscription: written with the notice, sent by the push.send job, once. */
export const pushMessages = pgTable(
  'push_messages',
  {
    id: text('id').primaryKey(),
    notificationId: text('notification_id').notNull().references(() => notifications.id, { onDelete: 'cascade' }),
    subscriptionId: text('subscription_id').notNull().references(() => pushSubscriptions.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: tstz('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('push_messages_key').on(t.notificationId, t.subscriptionId),
    index('push_messages_pending_idx').on(t.status, t.createdAt),
    check('push_messages_attempts_check', sql`${t.attempts} >= 0`),
  ],
);
