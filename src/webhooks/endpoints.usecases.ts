// A seller's webhook endpoints (the platform's or an agency's): create (the signing secret shown
// once), list, change, switch on or off, delete; their deliveries and the attempts' log; replay.
// Everything is scoped by the caller's seller key: another seller's endpoint is "not found".
import { randomBytes } from 'node:crypto';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents, webhookEventTypes, type WebhookEventType } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { msg } from '../lib/message';
import { parse } from '../lib/validation';
import { SecretBox, secretHint } from '../payments/secret-box';
import { eventBody } from './deliver';
import { PLATFORM_SELLER } from './emit';
import { checkUrlForm, UrlRefused } from './url-safety';

export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
/** An endpoint as people and the API see it: never its secret, only its hint. */
export type EndpointView = Omit<WebhookEndpoint, 'secret' | 'sellerKey' | 'failureNoticeAt'>;

const url = z.string({ error: 'webhooks:form.urlRequired' }).trim().min(1, 'webhooks:form.urlRequired').max(2000, 'webhooks:form.urlTooLong');
const events = z
  .array(z.enum(webhookEventTypes, { error: 'webhooks:form.eventUnknown' }), { error: 'webhooks:form.eventsRequired' })
  .min(1, 'webhooks:form.eventsRequired')
  .transform((list) => [...new Set(list)] as WebhookEventType[]);
const description = z.string({ error: 'webhooks:form.descriptionTooLong' }).trim().max(200, 'webhooks:form.descriptionTooLong').nullable().optional();

export const createEndpointSchema = z.object({
  url: url.describe('Where events are POSTed: https (http only outside production)'),
  events: events.describe('The event types to send'),
  description: description.describe('A note for people (what the endpoint is for)'),
});
export const updateEndpointSchema = z.object({
  url: url.optional(),
  events: events.optional(),
  description,
  enabled: z.boolean({ error: 'webhooks:form.enabledBoolean' }).optional().describe('Switch the endpoint on or off (on again clears an automatic switch-off)'),
});
export const deliveryFilterSchema = z.object({
  status: z.enum(['pending', 'delivering', 'succeeded', 'failed'], { error: 'webhooks:form.statusUnknown' }).optional().describe('Only deliveries in this state'),
  limit: z.coerce.number().int().min(1).max(200).optional().describe('At most this many (50 unless given)'),
});

/** The caller's seller key: the platform, or its agency. Managing endpoints needs the billing permission. */
export function sellerKeyOfActor(actor: Actor): string {
  requireBilling(actor);
  if (actor.scope === 'platform') return PLATFORM_SELLER;
  if (actor.scope === 'agency' && actor.agencyId) return actor.agencyId;
  throw errors.wrongScope('platform or agency');
}

const box = (deps: Pick<Deps, 'config'>) => new SecretBox(deps.config.secretKeys);
export const viewOf = ({ secret: _s, sellerKey: _k, failureNoticeAt: _f, ...rest }: WebhookEndpoint): EndpointView => rest;
const notFound = () => new AppError('not_found', 404, 'webhooks:error.endpointNotFound');

function checkedUrl(deps: Pick<Deps, 'config'>, raw: string): string {
  try {
    return checkUrlForm(raw, deps.config.webhooks.strict).href;
  } catch (err) {
    if (err instanceof UrlRefused) throw new ValidationError({ url: msg(`webhooks:form.url.${err.code}`, err.params) });
    throw err;
  }
}

async function own(deps: Pick<Deps, 'db'>, sellerKey: string, endpointId: string): Promise<WebhookEndpoint> {
  const [row] = await deps.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.sellerKey, sellerKey)));
  if (!row) throw notFound();
  return row;
}

export async function listEndpoints(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<EndpointView[]> {
  const sellerKey = sellerKeyOfActor(params.actor);
  const rows = await deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.sellerKey, sellerKey)).orderBy(webhookEndpoints.createdAt).limit(100);
  return rows.map(viewOf);
}

export async function getEndpoint(deps: Pick<Deps, 'db'>, params: { actor: Actor; endpointId: string }): Promise<EndpointView> {
  return viewOf(await own(deps, sellerKeyOfActor(params.actor), params.endpointId));
}

/** At most this many endpoints per seller. */
export const MAX_ENDPOINTS = 20;

/** Creates an endpoint; its signing secret is returned here once and never shown again. */
export async function createEndpoint(deps: Pick<Deps, 'db' | 'clock' | 'config'>, params: { actor: Actor; input: unknown }): Promise<{ endpoint: EndpointView; secret: string }> {
  const sellerKey = sellerKeyOfActor(params.actor);
  requireRole(params.actor, 'admin');
  const input = parse(createEndpointSchema, params.input);
  const href = checkedUrl(deps, input.url);
  const id = newId('whe');
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(webhookEndpoints).where(eq(webhookEndpoints.sellerKey, sellerKey));
    if (n >= MAX_ENDPOINTS) throw new AppError('too_many_endpoints', 409, msg('webhooks:error.tooMany', { max: MAX_ENDPOINTS }));
    const [created] = await tx.insert(webhookEndpoints).values({
      id, sellerKey, sellerAgencyId: sellerKey === PLATFORM_SELLER ? null : sellerKey, url: href, description: input.description ?? null, events: input.events,
      secret: box(deps).seal(secret, id), secretHint: secretHint(secret), createdAt: now, updatedAt: now,
    }).returning();
    await recordAudit(tx, params.actor, { action: 'webhook_endpoint.created', targetType: 'webhook_endpoint', targetId: id, data: { url: href, events: input.events } }, now);
    return created!;
  });
  return { endpoint: viewOf(row), secret };
}

export async function updateEndpoint(deps: Pick<Deps, 'db' | 'clock' | 'config'>, params: { actor: Actor; endpointId: string; input: unknown }): Promise<EndpointView> {
  const sellerKey = sellerKeyOfActor(params.actor);
  requireRole(params.actor, 'admin');
  const input = parse(updateEndpointSchema, params.input);
  const current = await own(deps, sellerKey, params.endpointId);
  const now = deps.clock.now();
  const set: Partial<WebhookEndpoint> = { updatedAt: now };
  if (input.url !== undefined) set.url = checkedUrl(deps, input.url);
  if (input.events !== undefined) set.events = input.events;
  if (input.description !== undefined) set.description = input.description;
  if (input.enabled === true && !current.enabled) Object.assign(set, { enabled: true, disabledReason: null, failingSince: null });
  if (input.enabled === false && current.enabled) Object.assign(set, { enabled: false, disabledReason: 'manual' });
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.update(webhookEndpoints).set(set).where(and(eq(webhookEndpoints.id, current.id), eq(webhookEndpoints.sellerKey, sellerKey))).returning();
    await recordAudit(tx, params.actor, { action: 'webhook_endpoint.changed', targetType: 'webhook_endpoint', targetId: current.id, data: { ...input } }, now);
    return viewOf(row!);
  });
}

/** Deletes an endpoint with its deliveries and log. */
export async function deleteEndpoint(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; endpointId: string }): Promise<void> {
  const sellerKey = sellerKeyOfActor(params.actor);
  requireRole(params.actor, 'admin');
  const current = await own(deps, sellerKey, params.endpointId);
  await deps.db.transaction(async (tx) => {
    await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, current.id));
    await recordAudit(tx, params.actor, { action: 'webhook_endpoint.deleted', targetType: 'webhook_endpoint', targetId: current.id, data: { url: current.url } }, deps.clock.now());
  });
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: WebhookEventType;
  status: 'pending' | 'delivering' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export async function listDeliveries(deps: Pick<Deps, 'db'>, params: { actor: Actor; endpointId: string; filter?: unknown }): Promise<DeliveryView[]> {
  const endpoint = await own(deps, sellerKeyOfActor(params.actor), params.endpointId);
  const f = parse(deliveryFilterSchema, params.filter ?? {});
  const rows = await deps.db
    .select({ d: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookDeliveries.endpointId, endpoint.id), f.status ? eq(webhookDeliveries.status, f.status) : undefined))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(f.limit ?? 50);
  return rows.map(({ d, type }) => ({
    id: d.id, eventId: d.eventId, eventType: type, status: d.status, attempts: d.attempts, nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt : null,
    lastStatus: d.lastStatus, lastError: d.lastError, deliveredAt: d.deliveredAt, createdAt: d.createdAt,
  }));
}

export type AttemptView = typeof webhookAttempts.$inferSelect & { eventType: WebhookEventType; eventId: string; requestBody: string };

/** The log: the endpoint's latest attempts (request, answer, timing), newest first. */
export async function listAttempts(deps: Pick<Deps, 'db'>, params: { actor: Actor; endpointId: string; deliveryId?: string; limit?: number }): Promise<AttemptView[]> {
  const endpoint = await own(deps, sellerKeyOfActor(params.actor), params.endpointId);
  const rows = await deps.db
    .select({ a: webhookAttempts, e: webhookEvents })
    .from(webhookAttempts)
    .innerJoin(webhookDeliveries, eq(webhookDeliveries.id, webhookAttempts.deliveryId))
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookAttempts.endpointId, endpoint.id), params.deliveryId ? eq(webhookAttempts.deliveryId, params.deliveryId) : undefined))
    .orderBy(desc(webhookAttempts.createdAt), desc(webhookAttempts.id))
    .limit(Math.max(1, Math.min(params.limit ?? 50, 200)));
  return rows.map(({ a, e }) => ({ ...a, eventType: e.type, eventId: e.id, requestBody: eventBody({ id: e.id, type: e.type, data: e.data, created_at: e.createdAt }) }));
}

/**
 * Sends deliveries again, with the same event id (the receiver de-duplicates on it), from now and
 * for another three days. A delivery being sent now is not touched. Returns how many were queued.
 */
async function replay(deps: Pick<Deps, 'db' | 'clock'>, actor: Actor, endpoint: WebhookEndpoint, which: { deliveryId: string } | { failed: true }): Promise<number> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const moved = await tx
      .update(webhookDeliveries)
      .set({ status: 'pending', nextAttemptAt: now, windowStart: now, updatedAt: now })
      .where(and(
        eq(webhookDeliveries.endpointId, endpoint.id),
        'deliveryId' in which ? and(eq(webhookDeliveries.id, which.deliveryId), inArray(webhookDeliveries.status, ['succeeded', 'failed'])) : eq(webhookDeliveries.status, 'failed'),
      ))
      .returning({ id: webhookDeliveries.id });
    await recordAudit(tx, actor, { action: 'webhook_delivery.replayed', targetType: 'webhook_endpoint', targetId: endpoint.id, data: { deliveries: moved.length, ...('deliveryId' in which ? { deliveryId: which.deliveryId } : { failed: true }) } }, now);
    return moved.length;
  });
}

export async function replayDelivery(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; endpointId: string; deliveryId: string }): Promise<void> {
  const sellerKey = sellerKeyOfActor(params.actor);
  requireRole(params.actor, 'admin');
  const endpoint = await own(deps, sellerKey, params.endpointId);
  const [d] = await deps.db.select({ status: webhookDeliveries.status }).from(webhookDeliveries).where(and(eq(webhookDeliveries.id, params.deliveryId), eq(webhookDeliveries.endpointId, endpoint.id)));
  if (!d) throw new AppError('not_found', 404, 'webhooks:error.deliveryNotFound');
  if (d.status === 'pending' || d.status === 'delivering') throw new AppError('delivery_in_progress', 409, 'webhooks:error.inProgress');
  await replay(deps, params.actor, endpoint, { deliveryId: params.deliveryId });
}

export async function replayFailed(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; endpointId: string }): Promise<number> {
  const sellerKey = sellerKeyOfActor(params.actor);
  requireRole(params.actor, 'admin');
  return replay(deps, params.actor, await own(deps, sellerKey, params.endpointId), { failed: true });
}
