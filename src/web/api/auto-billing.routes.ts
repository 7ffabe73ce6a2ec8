import { Router, type Request } from 'express';
import type { AutoBillingCharge, AutoBillingView } from '../../auto-billing/settings';
import { listAutoBillingCharges, updateAutoBilling, viewAutoBilling } from '../../auto-billing/settings';
import type { Deps } from '../../deps';
import { actorOf } from '../middleware';
import { apiT, apiText } from './text';
import { tFor, type Translate } from '../../i18n/i18n';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const autoBillingJson = (v: AutoBillingView, t: Translate = tFor('en')): Answer<typeof A.AutoBilling> => ({
  available: v.available,
  unavailableReason: v.unavailableReason,
  enabled: v.settings.enabled,
  monthlyCapMinor: v.settings.monthlyCapMinor,
  currency: v.currency,
  paymentMethodId: v.settings.paymentMethodId,
  notifyEmails: v.settings.notifyEmails,
  spentThisMonthMinor: v.spentThisMonthMinor,
  consecutiveDeclines: v.settings.consecutiveDeclines,
  retryAfter: v.settings.retryAfter?.toISOString() ?? null,
  disabledReason: apiText(t, v.settings.disabledReason),
  /** The seller's gateway cannot charge a saved card: top-ups go on the open invoice. */
  onInvoice: v.onInvoice,
});

export const autoBillingChargeJson = (c: AutoBillingCharge, t: Translate = tFor('en')): Answer<typeof A.AutoBillingCharge> => ({
  id: c.id, trigger: c.trigger, status: c.status, deficitCredits: c.deficitCredits, deficitChatbots: c.deficitChatbots, credits: c.credits, chatbots: c.chatbots,
  items: c.items, amountMinor: c.amountMinor, currency: c.currency, paymentId: c.paymentId, failureReason: apiText(t, c.failureReason),
  createdAt: c.createdAt.toISOString(), completedAt: c.completedAt?.toISOString() ?? null, deliveredAt: c.deliveredAt?.toISOString() ?? null,
});

/** An agency's (from the platform) or a sub-account's (from its agency) auto-billing. */
export function autoBillingApiRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/auto-billing', async (req, res) => {
    res.json(autoBillingJson(await viewAutoBilling(deps, actorOf(req)), apiT(req)));
  });
  r.put('/auto-billing', async (req, res) => {
    res.json(autoBillingJson(await updateAutoBilling(deps, { actor: actorOf(req), input: body(req) }), apiT(req)));
  });
  r.get('/auto-billing/charges', async (req, res) => {
    res.json({ data: (await listAutoBillingCharges(deps, actorOf(req))).map((c) => autoBillingChargeJson(c, apiT(req))) });
  });
  return r;
}
