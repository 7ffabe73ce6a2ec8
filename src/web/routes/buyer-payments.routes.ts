import { Router, type NextFunction, type Request, type Response } from 'express';
import { startInvoicePayment } from '../../billing/collect';
import { startOverduePayment } from '../../billing/overdue-payment';
import type { Deps } from '../../deps';
import { sellerCheckout } from '../../payments/checkout-flow';
import { testCards } from '../../payments/gateway';
import { getGatewayAccount } from '../../payments/gateway-accounts';
import { addTestPaymentMethod, buyerOf, listPaymentMethods, makeDefaultPaymentMethod, removePaymentMethod } from '../../payments/payment-methods';
import type { WebContext } from '../app';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash } from '../render';

/**
 * A buyer's side of payments on the billing page (/portal/billing, /agency/billing): the saved
 * cards block (listed into res.locals for the page), adding a sandbox test card, making one the
 * default, removing one, and "Pay now" on an open invoice through the seller's gateway. All of it
 * needs the billing permission (DESIGN section 1).
 */
export function buyerPaymentRoutes(deps: Deps, web: WebContext, scope: 'agency' | 'sub_account'): Router {
  const r = Router();
  const home = scope === 'agency' ? '/agency/billing' : '/portal/billing';
  r.use(['/billing', '/payment-methods'], requireUser(scope), billingOnly);
  r.get('/billing', async (req: Request, res: Response, next: NextFunction) => {
    const buyer = buyerOf(actorOf(req));
    const account = await getGatewayAccount(deps, buyer.sellerAgencyId);
    res.locals.paymentMethods = { methods: await listPaymentMethods(deps, buyer), testCards, sandbox: deps.config.sandboxUrl !== null && account?.mode === 'test', gateway: account?.kind ?? null };
    next();
  });
  r.post('/payment-methods', async (req, res) => {
    const m = await addTestPaymentMethod(deps, { actor: actorOf(req), input: { testCard: (req.body as Record<string, string>).testCard } });
    flash(req, req.t('billing:cards.saved', { brand: m.brand, last4: m.last4 }));
    res.redirect(home);
  });
  r.post('/payment-methods/:id/default', async (req, res) => {
    await makeDefaultPaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    flash(req, 'billing:cards.defaultChanged');
    res.redirect(home);
  });
  r.post('/payment-methods/:id/delete', async (req, res) => {
    await removePaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    flash(req, 'billing:cards.removed');
    res.redirect(home);
  });
  // "Pay all overdue": one payment for every overdue invoice (src/billing/overdue-payment.ts).
  r.post('/billing/pay-overdue', async (req, res) => {
    const actor = actorOf(req);
    const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
    const { next } = await startOverduePayment(deps, { actor, gateway });
    res.redirect(next.kind === 'redirect' ? next.url : home);
  });
  r.post('/billing/invoices/:id/pay', async (req, res) => {
    const actor = actorOf(req);
    const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
    const { next } = await startInvoicePayment(deps, { actor, invoiceId: String(req.params.id), gateway });
    res.redirect(next.kind === 'redirect' ? next.url : home);
  });
  return r;
}
