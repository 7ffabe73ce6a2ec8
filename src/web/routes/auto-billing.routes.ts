import { Router, type Request } from 'express';
import { listAutoBillingCharges, updateAutoBilling, viewAutoBilling } from '../../auto-billing/settings';
import type { Deps } from '../../deps';
import { errors, ValidationError } from '../../lib/errors';
import { parseMoneyToMinor } from '../../lib/money';
import { localize } from '../../i18n/i18n';
import { addTestPaymentMethod, buyerOf, listPaymentMethods, makeDefaultPaymentMethod, removePaymentMethod } from '../../payments/payment-methods';
import { testCards } from '../../payments/gateway';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/**
 * Auto-billing settings, saved cards and history: /agency/auto-billing (buying from the platform)
 * and /portal/auto-billing (a client buying from its agency; shown only when the agency offers it).
 */
export function autoBillingRoutes(deps: Deps, scope: 'agency' | 'sub_account'): Router {
  const r = Router();
  const base = scope === 'agency' ? '/agency/auto-billing' : '/portal/auto-billing';
  r.use('/auto-billing', requireUser(scope), billingOnly);

  const locals = async (req: Request) => {
    const actor = actorOf(req);
    const view = await viewAutoBilling(deps, actor);
    // A client whose agency does not offer it does not see the page at all.
    if (!view.available) throw errors.notFound('Page');
    const [methods, charges] = await Promise.all([listPaymentMethods(deps, buyerOf(actor)), listAutoBillingCharges(deps, actor)]);
    return {
      title: req.t('autoBilling:title'), base, view, methods, charges, testCards, sandbox: deps.config.sandboxUrl !== null,
      money: (minor: number, currency: string) => req.fmt.money(minor, currency),
    };
  };
  r.get('/auto-billing', async (req, res) => {
    await page(res, 'auto-billing', await locals(req));
  });
  r.post('/auto-billing', formAction({
    view: 'auto-billing', locals,
    action: async (req, res) => {
      const b = req.body as Record<string, string>;
      const enabled = b.enabled === 'on';
      let cap: number | null | undefined;
      if (b.monthlyCap && b.monthlyCap.trim() !== '') {
        const parsed = parseMoneyToMinor(b.monthlyCap);
        if (typeof parsed === 'string') throw new ValidationError({ monthlyCap: req.t('autoBilling:flash.capInvalid', { problem: localize(req.t, parsed).replace(/price/g, 'amount') }) });
        cap = parsed;
      } else cap = null;
      const notifyEmails = (b.notifyEmails ?? '').split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean);
      try {
        await updateAutoBilling(deps, { actor: actorOf(req), input: { enabled, monthlyCapMinor: cap, paymentMethodId: b.paymentMethodId || null, notifyEmails } });
      } catch (err) {
        // The use case names the API field; the form calls it monthlyCap.
        if (err instanceof ValidationError && err.fields.monthlyCapMinor) throw new ValidationError({ ...err.fields, monthlyCap: err.fields.monthlyCapMinor }, err.message);
        throw err;
      }
      flash(req, enabled ? 'autoBilling:flash.on' : 'autoBilling:flash.off');
      res.redirect(base);
    },
  }));
  r.post('/auto-billing/methods', formAction({
    view: 'auto-billing', locals,
    action: async (req, res) => {
      const m = await addTestPaymentMethod(deps, { actor: actorOf(req), input: { testCard: (req.body as Record<string, string>).testCard } });
      flash(req, req.t('autoBilling:flash.testCardSaved', { brand: m.brand, last4: m.last4 }));
      res.redirect(base);
    },
  }));
  r.post('/auto-billing/methods/:id/default', async (req, res) => {
    await makeDefaultPaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    flash(req, 'autoBilling:flash.defaultChanged');
    res.redirect(base);
  });
  r.post('/auto-billing/methods/:id/delete', async (req, res) => {
    await removePaymentMethod(deps, { actor: actorOf(req), id: String(req.params.id) });
    flash(req, 'autoBilling:flash.removed');
    res.redirect(base);
  });
  return r;
}
