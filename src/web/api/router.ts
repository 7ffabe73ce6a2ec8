import { Router, type Request } from 'express';
import { createApiKey, listApiKeys, resolveKeyOwner, revokeApiKey } from '../../api-keys/api-keys.usecases';
import { moveTestClock } from '../../clock/test-clock.usecases';
import type { Deps } from '../../deps';
import { errors } from '../../lib/errors';
import { createAgency, getAgency, listAgencies, updateAgencyFlags, updateAgencySettings } from '../../tenancy/agencies.usecases';
import { createSubAccount, getSubAccount, listSubAccounts } from '../../tenancy/sub-accounts.usecases';
import { inviteUser } from '../../users/users.usecases';
import { actorOf, apiAuth, requireKeyScope } from '../middleware';
import { agencyJson, apiKeyJson, packageStateJson, subAccountJson } from './serializers';
import { packageState } from '../../purchases/purchases.usecases';
import type { WebContext } from '../app';
import { creditRoutes } from './credits.routes';
import { idempotency } from './idempotency';
import { offerRoutes } from './offers.routes';
import { packageRoutes } from './packages.routes';
import { catalogRoutes } from './catalog.routes';
import { paymentApiRoutes } from './payments.routes';
import { paymentSystemApiRoutes } from './payment-systems.routes';
import { installmentApiRoutes } from './installments.routes';
import { einvoiceApiRoutes } from './einvoice.routes';
import { autoBillingApiRoutes } from './auto-billing.routes';
import { walletApiRoutes } from './wallets.routes';
import { billingRoutes } from './billing.routes';
import { collectionApiRoutes } from './collections.routes';
import { creditNoteRoutes } from './credit-notes.routes';
import { reportApiRoutes } from './reports.routes';
import { presenceApiRoutes } from './presence.routes';
import { webhookApiRoutes } from './webhooks.routes';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const pageParams = (req: Request) => ({
  limit: Math.max(1, Math.min(Number(req.query.limit) || 100, 500)),
  ...(typeof req.query.before === 'string' ? { before: req.query.before } : {}),
});

/**
 * JSON API v1. Every route: Bearer key -> scope check -> use case -> serializer. The usage hot
 * path (POST /usage and /usage/batch) is registered by createApp ahead of this router.
 */
export function apiRouter(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use(apiAuth(web.keyCache));
  r.use(web.rateLimiter.middleware('by-method'));
  r.use(idempotency(deps));

  r.get('/me', (req, res) => {
    const a = actorOf(req);
    res.json({ scope: a.scope === 'sub_account' ? 'sub-account' : a.scope, apiKeyId: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId });
  });

  // Platform: agencies and their keys.
  r.get('/agencies', requireKeyScope('platform'), async (req, res) => {
    const rows = await listAgencies(deps, { actor: actorOf(req), ...pageParams(req) });
    res.json({ data: rows.map(agencyJson) });
  });
  r.post('/agencies', requireKeyScope('platform'), async (req, res) => {
    res.status(201).json(agencyJson(await createAgency(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.get('/agencies/:id', requireKeyScope('platform'), async (req, res) => {
    res.json(agencyJson(await getAgency(deps, { actor: actorOf(req), agencyId: String(req.params.id) })));
  });
  r.patch('/agencies/:id', requireKeyScope('platform'), async (req, res) => {
    const actor = actorOf(req);
    const current = await getAgency(deps, { actor, agencyId: String(req.params.id) });
    const input = { suspended: current.manualSuspended, resellingModule: current.resellingModule, planCode: current.planCode ?? undefined, ...body(req) };
    res.json(agencyJson(await updateAgencyFlags(deps, { actor, agencyId: current.id, input })));
  });
  r.post('/agencies/:id/api-keys', requireKeyScope('platform'), async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { agencyId: String(req.params.id) });
    const { key, apiKey } = await createApiKey(deps, { actor, owner, input: body(req) });
    res.status(201).json({ ...apiKeyJson(apiKey), key });
  });

  // Agency: its own settings.
  r.get('/agency', requireKeyScope('agency'), async (req, res) => {
    res.json(agencyJson(await getAgency(deps, { actor: actorOf(req), agencyId: actorOf(req).agencyId! })));
  });
  r.patch('/agency', requireKeyScope('agency'), async (req, res) => {
    res.json(agencyJson(await updateAgencySettings(deps, { actor: actorOf(req), input: body(req) })));
  });

  // Agency: sub-accounts and their keys.
  r.get('/sub-accounts', requireKeyScope('agency'), async (req, res) => {
    const rows = await listSubAccounts(deps, { actor: actorOf(req), ...pageParams(req) });
    res.json({ data: rows.map(subAccountJson) });
  });
  r.post('/sub-accounts', requireKeyScope('agency'), async (req, res) => {
    res.status(201).json(subAccountJson(await createSubAccount(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.get('/sub-accounts/:id', requireKeyScope('agency'), async (req, res) => {
    const sub = await getSubAccount(deps, { actor: actorOf(req), subAccountId: String(req.params.id) });
    res.json({ ...subAccountJson(sub), ...packageStateJson(await packageState(deps, sub.id)) });
  });
  r.post('/sub-accounts/:id/api-keys', requireKeyScope('agency'), async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { subAccountId: String(req.params.id) });
    const { key, apiKey } = await createApiKey(deps, { actor, owner, input: body(req) });
    res.status(201).json({ ...apiKeyJson(apiKey), key });
  });

  // Any scope: invite users into the caller's tenant (an agency key may name one of its sub-accounts).
  r.post('/invitations', async (req, res) => {
    const actor = actorOf(req);
    const agencyIdForPlatform = actor.scope === 'platform' && typeof body(req).agencyId === 'string' ? String(body(req).agencyId) : undefined;
    const inv = await inviteUser(deps, { actor, input: { ...body(req), agencyId: undefined }, ...(agencyIdForPlatform ? { agencyIdForPlatform } : {}) });
    res.status(201).json({ id: inv.invitationId, email: inv.email });
  });

  // Any scope: the caller's own keys.
  r.get('/api-keys', async (req, res) => {
    const owner = await resolveKeyOwner(deps, actorOf(req), {});
    res.json({ data: (await listApiKeys(deps, { owner })).map(apiKeyJson) });
  });
  r.delete('/api-keys/:id', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, {});
    const key = await revokeApiKey(deps, { actor, owner, keyId: String(req.params.id) });
    web.keyCache.invalidateKey(key.id);
    res.json(apiKeyJson(key));
  });

  r.use(creditRoutes(deps));
  r.use(offerRoutes(deps));
  r.use(packageRoutes(deps));
  r.use(catalogRoutes(deps, web));
  r.use(paymentApiRoutes(deps, web));
  r.use(paymentSystemApiRoutes(deps));
  r.use(installmentApiRoutes(deps));
  r.use(einvoiceApiRoutes(deps));
  r.use(autoBillingApiRoutes(deps));
  r.use(walletApiRoutes(deps, web));
  r.use(billingRoutes(deps));
  r.use(collectionApiRoutes(deps));
  r.use(creditNoteRoutes(deps));
  r.use(reportApiRoutes(deps));
  r.use(presenceApiRoutes(deps));
  r.use(webhookApiRoutes(deps));

  // Outside production only: the test clock. In production the route does not exist.
  if (deps.testClock) {
    r.get('/test-clock', requireKeyScope('platform'), (_req, res) => {
      res.json({ now: deps.clock.now().toISOString(), frozen: deps.testClock!.frozenAt !== null });
    });
    r.post('/test-clock', requireKeyScope('platform'), async (req, res) => {
      const result = await moveTestClock(deps, { actor: actorOf(req), input: body(req) });
      // Jobs compute what is due from the clock, so a tick after a move runs whatever fell due.
      await deps.queue.enqueue('tick', { reason: 'test-clock' });
      res.json({ now: result.now.toISOString(), frozen: result.frozen });
    });
  }

  r.use(() => {
    throw errors.notFound('Route');
  });
  return r;
}
