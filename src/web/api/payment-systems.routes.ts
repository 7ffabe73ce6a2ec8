// A seller's payment system through the API (issue #19): the same use case, validation, sealing
// and "secrets are never shown again" as the Payment systems page.
import { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../../auth/policies';
import type { Deps } from '../../deps';
import { gatewayRegistrations } from '../../gateways';
import { parse } from '../../lib/validation';
import { getGatewayAccount, saveGatewayAccount, viewOf, type GatewayAccountView } from '../../payments/gateway-accounts';
import { actorOf } from '../middleware';
import { sellerOfCaller } from './seller';

export const bodySchema = z.record(z.string(), z.string({ error: 'Send every field as text.' }).max(4000, 'Too long (4,000 characters at most).'), { error: 'Send a JSON object of text fields.' });


export function paymentSystemApiRoutes(deps: Deps): Router {
  const r = Router();
  const json = (v: GatewayAccountView | null) =>
    v && { kind: v.kind, mode: v.mode, settings: v.settings, secretHints: v.secretHints, webhookUrl: `${deps.config.publicUrl}/webhooks/${v.id}`, updatedAt: v.updatedAt.toISOString() };
  const available = gatewayRegistrations.map((g) => ({ kind: g.kind, label: g.label, fields: g.credentialFields.map((f) => ({ name: f.name, label: f.label, secret: f.secret, required: f.required, ...(f.options ? { options: f.options.map((o) => o.value) } : {}) })) }));

  r.get('/payment-systems', async (req, res) => {
    const account = await getGatewayAccount(deps, await sellerOfCaller(deps, req));
    res.json({ paymentSystem: json(account ? viewOf(account) : null), available });
  });
  r.put('/payment-systems', async (req, res) => {
    const seller = await sellerOfCaller(deps, req);
    requireRole(actorOf(req), 'admin');
    const input = parse(bodySchema, req.body ?? {});
    const saved = await saveGatewayAccount(deps, actorOf(req), seller, input);
    res.json({ paymentSystem: json(saved), available });
  });
  return r;
}
