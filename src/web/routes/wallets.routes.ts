import { checkoutQuoter } from '../../billing/checkout-amount';
import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { ValidationError } from '../../lib/errors';
import { parseMoneyToMinor } from '../../lib/money';
import { localize } from '../../i18n/i18n';
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
  const locals = async (req: Request) => {
    const actor = actorOf(req);
    // The tax a seller whose prices exclude it adds to a top-up (its default rate), said before paying.
    const sample = (await checkoutQuoter(deps.db, { agencyId: actor.agencyId!, subAccountId: actor.subAccountId ?? null }))(0);
    return { title: req.t('paymentSystems:wallet.title'), base, wallet: await getWallet(deps, actor), money: req.fmt.money, topupTax: sample.mode === 'exclusive' && sample.rateBp > 0 ? sample.rateBp : null };
  };
  r.get('/whatsapp', async (req, res) => {
    await page(res, 'whatsapp', await locals(req));
  });
  r.post('/whatsapp/top-ups', formAction({
    view: 'whatsapp', locals,
    action: async (req, res) => {
      const b = req.body as Record<string, string>;
      const minor = parseMoneyToMinor(b.amount);
      if (typeof minor === 'string') throw new ValidationError({ amount: req.t('paymentSystems:wallet.amountError', { problem: localize(req.t, minor) }) });
      const actor = actorOf(req);
      const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
      const t = await startWalletTopup(deps, { actor, input: { amountMinor: minor, currency: b.currency }, gateway });
      res.redirect(t.next.kind === 'redirect' ? t.next.url : base);
    },
  }));
  return r;
}
