import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { ValidationError } from '../../lib/errors';
import { formatMoney, parseMoneyToMinor } from '../../lib/money';
import { sellerCheckout } from '../../payments/checkout-flow';
import { buyerOf } from '../../payments/payment-methods';
import { getWallet, startWalletTopup } from '../../wallets/wallets.usecases';
import type { WebContext } from '../app';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { formAction, page } from '../render';

/** /agency/whatsapp and /portal/whatsapp: the WhatsApp balance, its top-ups and movements. */
export function walletRoutes(deps: Deps, web: WebContext, scope: 'agency' | 'sub_account'): Router {
  const r = Router();
  const base = scope === 'agency' ? '/agency/whatsapp' : '/portal/whatsapp';
  r.use('/whatsapp', requireUser(scope), billingOnly);
  const locals = async (req: Request) => ({
    title: 'WhatsApp balance', base, wallet: await getWallet(deps, actorOf(req)),
    money: (minor: number, currency: string) => formatMoney(minor, currency, 'en'),
  });
  r.get('/whatsapp', async (req, res) => {
    await page(res, 'whatsapp', await locals(req));
  });
  r.post('/whatsapp/top-ups', formAction({
    view: 'whatsapp', locals,
    action: async (req, res) => {
      const b = req.body as Record<string, string>;
      const minor = parseMoneyToMinor(b.amount);
      if (typeof minor === 'string') throw new ValidationError({ amount: `Amount: ${minor.replace(/price/g, 'amount')}` });
      const actor = actorOf(req);
      const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
      const t = await startWalletTopup(deps, { actor, input: { amountMinor: minor, currency: b.currency }, gateway });
      res.redirect(t.next.kind === 'redirect' ? t.next.url : base);
    },
  }));
  return r;
}
