// "Webhooks" (Settings): a seller (the platform, or an agency) adds endpoints, sees each one's
// deliveries and attempts, switches it on or off, sends deliveries again. Needs the billing
// permission; changes need an admin. The signing secret is shown once, after creation.
import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { webhookEventTypes } from '../../../db/schema';
import {
  createEndpoint, deleteEndpoint, getEndpoint, listAttempts, listDeliveries, listEndpoints, replayDelivery, replayFailed, updateEndpoint,
} from '../../webhooks/endpoints.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** The form's fields as the use case reads them (checkboxes: one value or several). */
const formInput = (req: Request) => {
  const b = (req.body ?? {}) as Record<string, unknown>;
  const events = b.events === undefined ? [] : Array.isArray(b.events) ? b.events : [b.events];
  return { url: b.url, events, description: typeof b.description === 'string' && b.description.trim() ? b.description : null };
};

export function webhookEndpointRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  r.use('/webhooks', requireUser(scope));
  const base = `/${scope}/webhooks`;
  const common = (req: Request) => ({ title: req.t('webhooks:title'), base, eventTypes: webhookEventTypes, strict: deps.config.webhooks.strict });

  const listLocals = async (req: Request) => ({ ...common(req), endpoints: await listEndpoints(deps, { actor: actorOf(req) }) });
  const oneLocals = async (req: Request) => {
    const actor = actorOf(req);
    const endpointId = String(req.params.id);
    const endpoint = await getEndpoint(deps, { actor, endpointId });
    return {
      ...common(req),
      endpoint,
      deliveries: await listDeliveries(deps, { actor, endpointId, filter: { limit: 50 } }),
      attempts: await listAttempts(deps, { actor, endpointId, limit: 30 }),
    };
  };

  r.get('/webhooks', async (req, res) => {
    await page(res, 'webhooks', await listLocals(req));
  });
  r.post('/webhooks', formAction({
    view: 'webhooks',
    locals: listLocals,
    action: async (req, res) => {
      const { endpoint, secret } = await createEndpoint(deps, { actor: actorOf(req), input: formInput(req) });
      flash(req, 'webhooks:flash.created', 'success', secret);
      res.redirect(`${base}/${endpoint.id}`);
    },
  }));
  r.get('/webhooks/:id', async (req, res) => {
    await page(res, 'webhook-endpoint', await oneLocals(req));
  });
  r.post('/webhooks/:id', formAction({
    view: 'webhook-endpoint',
    locals: oneLocals,
    action: async (req, res) => {
      await updateEndpoint(deps, { actor: actorOf(req), endpointId: String(req.params.id), input: formInput(req) });
      flash(req, 'webhooks:flash.saved');
      res.redirect(`${base}/${String(req.params.id)}`);
    },
  }));
  r.post('/webhooks/:id/switch', async (req, res) => {
    const on = (req.body as Record<string, unknown>)?.enabled === 'true';
    await updateEndpoint(deps, { actor: actorOf(req), endpointId: String(req.params.id), input: { enabled: on } });
    flash(req, on ? 'webhooks:flash.on' : 'webhooks:flash.off');
    res.redirect(`${base}/${String(req.params.id)}`);
  });
  r.post('/webhooks/:id/delete', async (req, res) => {
    await deleteEndpoint(deps, { actor: actorOf(req), endpointId: String(req.params.id) });
    flash(req, 'webhooks:flash.deleted');
    res.redirect(base);
  });
  r.post('/webhooks/:id/replay-failed', async (req, res) => {
    const count = await replayFailed(deps, { actor: actorOf(req), endpointId: String(req.params.id) });
    flash(req, count ? `webhooks:flash.replayedFailed{"count":${count}}` : 'webhooks:noFailed');
    res.redirect(`${base}/${String(req.params.id)}`);
  });
  r.post('/webhooks/:id/deliveries/:deliveryId/replay', async (req, res) => {
    await replayDelivery(deps, { actor: actorOf(req), endpointId: String(req.params.id), deliveryId: String(req.params.deliveryId) });
    flash(req, 'webhooks:flash.replayed');
    res.redirect(`${base}/${String(req.params.id)}`);
  });
  return r;
}
