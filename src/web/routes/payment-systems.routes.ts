import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { requireBilling, requireRole } from '../../auth/policies';
import { gatewayRegistrations } from '../../gateways';
import { getGatewayAccount, saveGatewayAccount, viewOf } from '../../payments/gateway-accounts';
import { actorOf, requireUser } from '../middleware';
import { requireReselling } from '../../catalog/resold-packages';
import { flash, formAction, page } from '../render';
import { resellingGate } from './reselling-gate';
import { installmentCounts, offersInstallments, planOf, saveInstallmentPlan, surchargeText } from '../../payments/installments';

/**
 * "Payment systems": a seller (the platform, or an agency) picks its gateway and enters what its
 * provider gave it. Needs the billing permission and an admin role. Secrets are never shown again.
 */
export function paymentSystemRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  r.use(requireUser(scope));
  // An agency without the reselling module sees what the module is for, not an error page.
  if (scope === 'agency') r.use('/payment-systems', resellingGate(deps, () => 'nav:paymentSystems'));
  const sellerOf = (req: Request) => (scope === 'platform' ? null : actorOf(req).agencyId);
  const base = `/${scope}/payment-systems`;
  // Saving the seller's payment system or its installments: a billing admin (an agency: with the reselling module).
  const sellerAdmin = async (req: Request) => {
    const actor = actorOf(req);
    requireBilling(actor);
    requireRole(actor, 'admin');
    if (scope === 'agency') await requireReselling(deps, actor);
    return actor;
  };

  const locals = async (req: Request) => {
    requireBilling(actorOf(req));
    // Agencies sell to clients only with the reselling module.
    if (scope === 'agency') await requireReselling(deps, actorOf(req));
    const account = await getGatewayAccount(deps, sellerOf(req));
    return {
      title: req.t('nav:paymentSystems'),
      base,
      account: account ? viewOf(account) : null,
      registrations: gatewayRegistrations,
      webhookUrl: account ? `${deps.config.publicUrl}/webhooks/${account.id}` : null,
      callbackPattern: `${deps.config.publicUrl}/payments/callback/<payment id>`,
      sandboxAvailable: deps.config.sandboxUrl !== null,
      installments: account && offersInstallments(account.kind) ? { counts: installmentCounts, plan: planOf(account), surchargeText } : null,
    };
  };
  r.get('/payment-systems', async (req, res) => {
    await page(res, 'payment-systems', await locals(req));
  });
  r.post('/payment-systems', formAction({
    view: 'payment-systems',
    locals,
    action: async (req, res) => {
      const actor = await sellerAdmin(req);
      const saved = await saveGatewayAccount(deps, actor, sellerOf(req), req.body as Record<string, string>);
      flash(req, req.t('paymentSystems:flash.saved', { kind: saved.kind, mode: req.t(`paymentSystems:modeWord.${saved.mode}`) }));
      res.redirect(base);
    },
  }));
  // Installments (NestPay and iyzico only): which counts, their surcharges, a minimum amount.
  r.post('/payment-systems/installments', formAction({
    view: 'payment-systems',
    locals,
    action: async (req, res) => {
      const actor = await sellerAdmin(req);
      const plan = await saveInstallmentPlan(deps, actor, sellerOf(req), req.body as Record<string, unknown>);
      flash(req, plan ? req.t('installments:settings.saved', { counts: plan.offers.map((o) => o.count).join(', ') }) : req.t('installments:settings.cleared'));
      res.redirect(base);
    },
  }));
  return r;
}
