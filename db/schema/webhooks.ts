import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './common';

/** What a seller can subscribe an endpoint to (docs/webhooks.md). */
export const webhookEventTypes = [
  'purchase.completed', 'invoice.issued', 'invoice.paid', 'payment.failed', 'credits.low', 'auto_billing.charged', 'auto_billing.failed',
  'account.suspended', 'account.reactivated', 'subscription.started', 'subscription.changed', 'subscription.cancelled',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const webhookDeliveryStatuses = ['pending', 'delivering', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/**
 * A seller's webhook endpoint: the platform (seller_key 'platform') or an agency (its id). The
 * signing secret is sealed (src/payments/secret-box.ts, bound to the endpoint id): Kontor needs
 * it to sign, so it cannot be hashed; it is shown once, at creation.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    sellerKey: text('seller_key').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').array().$type<WebhookEventType[]>().notNull(),
    secret: text('secret').notNull(),
    secretHint: text('secret_hint').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Why it is off: 'manual' (the seller) or 'failing' (switched off after failing for days). */
    disabledReason: text('disabled_reason', { enum: ['manual', 'failing'] }),
    /** First failed attempt since the last success; null while it answers. */
    failingSince: tstz('failing_since'),
    /** Last "deliveries failed" notice (at most one a day per endpoint). */
    failureNoticeAt: tstz('failure_notice_at'),
    createdAt: createdAt(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_seller_idx').on(t.sellerKey, t.createdAt)],
);

/**
 * The event outbox: written in the transaction of the change it reports (src/webhooks/emit.ts),
 * with one delivery per subscribed endpoint of its recipients in the same statement.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    type: text('type').$type<WebhookEventType>().notNull(),
    /** The account it is about (agency_id on every tenant row). */
    agencyId: text('agency_id'),
    subAccountId: text('sub_account_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_events_agency_idx').on(t.agencyId, t.createdAt)],
);

/** One event for one endpoint: claimed by a worker with a lease, retried with back-off for three days. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    sellerKey: text('seller_key').notNull(),
    status: text('status', { enum: webhookDeliveryStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /**
     * When it is due. A claimed delivery ('delivering') holds a lease until this time: past it,
     * another worker takes it again (a worker killed mid-send), so one predicate finds both.
     */
    nextAttemptAt: tstz('next_attempt_at').notNull(),
    /** Start of its retry window (the event's time, or the replay's). */
    windowStart: tstz('window_start').notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: tstz('delivered_at'),
    createdAt: createdAt(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_endpoint').on(t.eventId, t.endpointId),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);

/** The delivery log: each attempt's request, answer and timing. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: text('id').primaryKey(),
    deliveryId: text('delivery_id').notNull().references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id').notNull(),
    attempt: integer('attempt').notNull(),
    url: text('url').notNull(),
    /** The request's headers (with its signature); its body is the event's, the same bytes every attempt (eventBody). */
    requestHeaders: jsonb('request_headers').$type<Record<string, string>>().notNull(),
    /** The answer's status, null when none came (refused address, timeout, connection error). */
    responseStatus: integer('response_status'),
    /** The answer's body, truncated (2 KB). */
    responseBody: text('response_body'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_attempts_endpoint_idx').on(t.endpointId, t.createdAt), index('webhook_attempts_delivery_idx').on(t.deliveryId, t.createdAt)],
);
