import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { formatMoney } from '../../lib/money';
import { listSellerPayments, refundPayment } from '../../payments/refunds';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** /platform/payments and /agency/payments: what the seller was paid, with refunds by an admin. */
export function sellerPaymentRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  const base = `/${scope}/payments`;
  r.use('/payments', requireUser(scope), billingOnly);
  const locals = async (req: Request) => ({
    title: 'Payments received', base, payments: await listSellerPayments(deps, actorOf(req)),
    money: (minor: number, currency: string) => formatMoney(minor, currency, 'en'),
  });
  r.get('/payments', async (req, res) => {
    await page(res, 'seller-payments', await locals(req));
  });
  r.post('/payments/:id/refund', formAction({
    view: 'seller-payments', locals,
    action: async (req, res) => {
      const p = await refundPayment(deps, { actor: actorOf(req), paymentId: String(req.params.id), reason: (req.body as Record<string, string>).reason });
      flash(req, `Payment refunded: ${formatMoney(p.refundedMinor, p.currency, 'en')}.`);
      res.redirect(base);
    },
  }));
  return r;
}
