// A seller's payment system through the API (issue #19): the same use case, validation, sealing
// and "secrets are never shown again" as the Payment systems page.
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireBilling, requireRole } from '../../auth/policies';
import { requireReselling } from '../../catalog/resold-packages';
import type { Deps } from '../../deps';
import { gatewayRegistrations } from '../../gateways';
import { errors } from '../../lib/errors';
import { parse } from '../../lib/validation';
import { getGatewayAccount, saveGatewayAccount, viewOf, type GatewayAccountView } from '../../payments/gateway-accounts';
import { actorOf } from '../middleware';

export const bodySchema = z.record(z.string(), z.string({ error: 'Send every field as text.' }).max(4000, 'Too long (4,000 characters at most).'), { error: 'Send a JSON object of text fields.' });

/** Platform keys manage the platform's payment system; agency keys their agency's (with the reselling module). */
async function sellerOf(deps: Deps, req: Request): Promise<string | null> {
  const actor = actorOf(req);
  requireBilling(actor);
  if (actor.scope === 'platform') return null;
  if (actor.scope === 'agency') return requireReselling(deps, actor);
  throw errors.wrongScope('platform or agency');
}

export function paymentSystemApiRoutes(deps: Deps): Router {
  const r = Router();
  const json = (v: GatewayAccountView | null) =>
    v && { kind: v.kind, mode: v.mode, settings: v.settings, secretHints: v.secretHints, webhookUrl: `${deps.config.publicUrl}/webhooks/${v.id}`, updatedAt: v.updatedAt.toISOString() };
  const available = gatewayRegistrations.map((g) => ({ kind: g.kind, label: g.label, fields: g.credentialFields.map((f) => ({ name: f.name, label: f.label, secret: f.secret, required: f.required, ...(f.options ? { options: f.options.map((o) => o.value) } : {}) })) }));

  r.get('/payment-systems', async (req, res) => {
    const account = await getGatewayAccount(deps, await sellerOf(deps, req));
    res.json({ paymentSystem: json(account ? viewOf(account) : null), available });
  });
  r.put('/payment-systems', async (req, res) => {
    const seller = await sellerOf(deps, req);
    requireRole(actorOf(req), 'admin');
    const input = parse(bodySchema, req.body ?? {});
    const saved = await saveGatewayAccount(deps, actorOf(req), seller, input);
    res.json({ paymentSystem: json(saved), available });
  });
  return r;
}
