// A seller's webhook endpoints through the API (issue #19): the same use cases as the Webhooks page.
import { Router, type Request } from 'express';
import type { z } from 'zod';
import type { Deps } from '../../deps';
import {
  createEndpoint, deleteEndpoint, getEndpoint, listAttempts, listDeliveries, listEndpoints, replayDelivery, replayFailed, updateEndpoint,
  type AttemptView, type DeliveryView, type EndpointView,
} from '../../webhooks/endpoints.usecases';
import { actorOf } from '../middleware';
import type * as A from './schemas';
import { apiT, apiText } from './text';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const endpointJson = (e: EndpointView): z.infer<typeof A.WebhookEndpoint> => ({
  id: e.id, url: e.url, description: e.description, events: e.events, enabled: e.enabled, disabledReason: e.disabledReason,
  failingSince: iso(e.failingSince), secretHint: e.secretHint, createdAt: e.createdAt.toISOString(), updatedAt: e.updatedAt.toISOString(),
});

export function webhookApiRoutes(deps: Deps): Router {
  const r = Router();
  const id = (req: Request) => String(req.params.id);
  const deliveryJson = (req: Request, d: DeliveryView): z.infer<typeof A.WebhookDelivery> => ({
    id: d.id, eventId: d.eventId, eventType: d.eventType, status: d.status, attempts: d.attempts, nextAttemptAt: iso(d.nextAttemptAt),
    lastStatus: d.lastStatus, lastError: apiText(apiT(req), d.lastError), deliveredAt: iso(d.deliveredAt), createdAt: d.createdAt.toISOString(),
  });
  const attemptJson = (req: Request, a: AttemptView): z.infer<typeof A.WebhookAttempt> => ({
    id: a.id, deliveryId: a.deliveryId, eventId: a.eventId, eventType: a.eventType, attempt: a.attempt, url: a.url, requestHeaders: a.requestHeaders,
    requestBody: a.requestBody, responseStatus: a.responseStatus, responseBody: a.responseBody, error: apiText(apiT(req), a.error), durationMs: a.durationMs, createdAt: a.createdAt.toISOString(),
  });

  r.get('/webhook-endpoints', async (req, res) => {
    res.json({ data: (await listEndpoints(deps, { actor: actorOf(req) })).map(endpointJson) });
  });
  r.post('/webhook-endpoints', async (req, res) => {
    const { endpoint, secret } = await createEndpoint(deps, { actor: actorOf(req), input: body(req) });
    res.status(201).json({ ...endpointJson(endpoint), secret });
  });
  r.get('/webhook-endpoints/:id', async (req, res) => {
    res.json(endpointJson(await getEndpoint(deps, { actor: actorOf(req), endpointId: id(req) })));
  });
  r.patch('/webhook-endpoints/:id', async (req, res) => {
    res.json(endpointJson(await updateEndpoint(deps, { actor: actorOf(req), endpointId: id(req), input: body(req) })));
  });
  r.delete('/webhook-endpoints/:id', async (req, res) => {
    await deleteEndpoint(deps, { actor: actorOf(req), endpointId: id(req) });
    res.status(204).end();
  });
  r.get('/webhook-endpoints/:id/deliveries', async (req, res) => {
    const rows = await listDeliveries(deps, { actor: actorOf(req), endpointId: id(req), filter: req.query });
    res.json({ data: rows.map((d) => deliveryJson(req, d)) });
  });
  r.get('/webhook-endpoints/:id/attempts', async (req, res) => {
    const rows = await listAttempts(deps, { actor: actorOf(req), endpointId: id(req), ...(typeof req.query.deliveryId === 'string' ? { deliveryId: req.query.deliveryId } : {}) });
    res.json({ data: rows.map((a) => attemptJson(req, a)) });
  });
  r.post('/webhook-endpoints/:id/deliveries/:deliveryId/replay', async (req, res) => {
    await replayDelivery(deps, { actor: actorOf(req), endpointId: id(req), deliveryId: String(req.params.deliveryId) });
    res.status(202).json({ replayed: 1 });
  });
  r.post('/webhook-endpoints/:id/replay-failed', async (req, res) => {
    res.status(202).json({ replayed: await replayFailed(deps, { actor: actorOf(req), endpointId: id(req) }) });
  });
  return r;
}
