import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import type { Payment } from '../../payments/gateway';
import { refundPayment } from '../../payments/refunds';
import { addTestPaymentMethod, buyerOf, listPaymentMethods, makeDefaultPaymentMethod, paymentMethodJson, removePaymentMethod } from '../../payments/payment-methods';
import { requireBilling } from '../../auth/policies';
import { startInvoicePayment } from '../../billing/collect';
import { startOverduePayment } from '../../billing/overdue-payment';
import { sellerCheckout } from '../../payments/checkout-flow';
import type { WebContext } from '../app';
import { actorOf } from '../middleware';
import { apiT, apiText } from './text';
import { tFor, type Translate } from '../../i18n/i18n';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const paymentJson = (p: Payment, t: Translate = tFor('en')): Answer<typeof A.Payment> => ({
  id: p.id, status: p.status, purpose: p.purpose, referenceId: p.referenceId, amountMinor: p.amountMinor, currency: p.currency, gateway: p.gateway,
  gatewayReference: p.gatewayReference, failureReason: apiText(t, p.failureReason), refundedMinor: p.refundedMinor,
  confirmedAt: p.confirmedAt?.toISOString() ?? null, refundedAt: p.refundedAt?.toISOString() ?? null, createdAt: p.createdAt.toISOString(),
});

/** Payments a seller took: refunds by the seller's admin (platform key for platform sales, agency key for the agency's). */
export function paymentApiRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  // The buyer pays an open invoice through its seller's gateway (the answer holds the pay link).
  // Every overdue invoice of the caller in one payment; pressed twice, the same payment.
  r.post('/invoices/pay-overdue', async (req, res) => {
    const actor = actorOf(req);
    const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
    const { paymentId, invoices, amountMinor, currency, next } = await startOverduePayment(deps, { actor, gateway });
    res.status(201).json({ paymentId, invoices, amountMinor, currency, checkoutUrl: next.kind === 'redirect' ? next.url : null });
  });
  r.post('/invoices/:id/pay', async (req, res) => {
    const actor = actorOf(req);
    const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
    const { paymentId, next } = await startInvoicePayment(deps, { actor, invoiceId: String(req.params.id), gateway });
    res.status(201).json({ paymentId, checkoutUrl: next.kind === 'redirect' ? next.url : null });
  });
  r.post('/payments/:id/refund', async (req, res) => {
    res.json(paymentJson(await refundPayment(deps, { actor: actorOf(req), paymentId: String(req.params.id), reason: body(req).reason }), apiT(req)));
  });

  // The caller's saved cards at its seller's gateway (agency: the platform's; sub-account: its agency's).
  r.get('/payment-methods', async (req, res) => {
    const actor = actorOf(req);
    requireBilling(actor);
    res.json({ data: (await listPaymentMethods(deps, buyerOf(actor))).map(paymentMethodJson) });
  });
  r.post('/payment-methods', async (req, res) => {
    res.status(201).json(paymentMethodJson(await addTestPaymentMethod(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.post('/payment-methods/:id/default', async (req, res) => {
    await makeDefaultPaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    res.status(204).end();
  });
  r.delete('/payment-methods/:id', async (req, res) => {
    await removePaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    res.status(204).end();
  });
  return r;
}
