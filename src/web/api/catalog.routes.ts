import { Router, type Request } from 'express';
import {
  chatbotSlotPrice, createPlan, createTopupPackage, listAgencyOrders, listPlans, listTopupPackages, setChatbotSlotPrice, startAgencyOrder,
  quoteAgencyOrder, type AgencyOrder, type PlatformPlan, type TopupPackage,
} from '../../catalog/catalog.usecases';
import type { Deps } from '../../deps';
import type { WebContext } from '../app';
import { actorOf, requireKeyScope } from '../middleware';
import { sellerCheckout } from '../../payments/checkout-flow';
import { chargeJson } from './charge-json';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const topupJson = (t: TopupPackage): Answer<typeof A.TopupPackage> => ({ id: t.id, credits: t.credits, priceMinor: t.priceMinor, currency: t.currency, createdAt: t.createdAt.toISOString() });
export const planJson = (p: PlatformPlan): Answer<typeof A.Plan> => ({
  id: p.id, code: p.code, name: p.name, resellingModule: p.resellingModule, includedChatbots: p.includedChatbots,
  monthlyCredits: p.monthlyCredits, priceMinor: p.priceMinor, currency: p.currency, published: p.published,
});
export const orderJson = (o: AgencyOrder): Answer<typeof A.Order> => ({
  id: o.id, kind: o.kind, topupPackageId: o.topupPackageId, quantity: o.quantity, credits: o.credits, amountMinor: o.amountMinor,
  currency: o.currency, status: o.status, appliedAt: o.appliedAt?.toISOString() ?? null, createdAt: o.createdAt.toISOString(),
});

/** The platform's catalog (top-ups, plans, chatbot slot price) and agencies' orders from it. */
export function catalogRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.get('/topup-packages', async (_req, res) => {
    res.json({ data: (await listTopupPackages(deps)).map(topupJson) });
  });
  r.post('/topup-packages', requireKeyScope('platform'), async (req, res) => {
    res.status(201).json(topupJson(await createTopupPackage(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.get('/plans', async (_req, res) => {
    res.json({ data: (await listPlans(deps)).map(planJson) });
  });
  r.post('/plans', requireKeyScope('platform'), async (req, res) => {
    res.status(201).json(planJson(await createPlan(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.get('/chatbot-slot-price', async (_req, res) => {
    res.json(await chatbotSlotPrice(deps));
  });
  r.put('/chatbot-slot-price', requireKeyScope('platform'), async (req, res) => {
    res.json(await setChatbotSlotPrice(deps, { actor: actorOf(req), input: body(req) }));
  });
  r.get('/orders', requireKeyScope('agency'), async (req, res) => {
    res.json({ data: (await listAgencyOrders(deps, { actor: actorOf(req) })).map(orderJson) });
  });
  r.post('/orders/quote', requireKeyScope('agency'), async (req, res) => {
    res.json(chargeJson(await quoteAgencyOrder(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.post('/orders', requireKeyScope('agency'), async (req, res) => {
    const { order, next, charge } = await startAgencyOrder(deps, { actor: actorOf(req), input: body(req), gateway: await sellerCheckout(deps, web.payLinks, web.gateway, null) });
    res.status(201).json({ ...orderJson(order), checkoutUrl: next.kind === 'redirect' ? next.url : null, charge: chargeJson(charge) });
  });
  return r;
}
