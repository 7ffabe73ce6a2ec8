import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { listSellerPayments, refundPayment } from '../../payments/refunds';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** /platform/payments and /agency/payments: what the seller was paid, with refunds by an admin. */
export function sellerPaymentRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  const base = `/${scope}/payments`;
  r.use('/payments', requireUser(scope), billingOnly);
  const locals = async (req: Request) => ({
    title: req.t('paymentSystems:received.title'), base, payments: await listSellerPayments(deps, actorOf(req)),
    money: req.fmt.money,
  });
  r.get('/payments', async (req, res) => {
    await page(res, 'seller-payments', await locals(req));
  });
  r.post('/payments/:id/refund', formAction({
    view: 'seller-payments', locals,
    action: async (req, res) => {
      const p = await refundPayment(deps, { actor: actorOf(req), paymentId: String(req.params.id), reason: (req.body as Record<string, string>).reason });
      flash(req, req.t('paymentSystems:flash.refunded', { amount: req.fmt.money(p.refundedMinor, p.currency) }));
      res.redirect(base);
    },
  }));
  return r;
}
