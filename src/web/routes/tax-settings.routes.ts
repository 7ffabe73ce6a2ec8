import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { rateInput } from '../../tax/identity';
import { getSellerTaxSettings, saveSellerTaxSettings } from '../../tax/seller-settings';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** /platform/tax-settings and /agency/tax-settings: the seller's legal identity and the tax its invoices carry. */
export function taxSettingsRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  const base = `/${scope}/tax-settings`;
  r.use('/tax-settings', requireUser(scope), billingOnly);
  const locals = async (req: Request) => {
    const s = await getSellerTaxSettings(deps, { actor: actorOf(req) });
    // The form's values: the saved ones, or a Turkish seller's defaults (KDV 20%, prices without tax).
    const saved = s
      ? { ...s, defaultRate: rateInput(s.defaultRateBp), taxEnabled: s.taxEnabled ? 'on' : '' }
      : { country: 'TR', defaultRate: '20', priceMode: 'exclusive', taxEnabled: '' };
    return { title: req.t('tax:settings.title'), base, saved, enabledAt: s?.taxEnabled ? s.enabledAt : null };
  };
  r.get('/tax-settings', async (req, res) => {
    await page(res, 'tax-settings', await locals(req));
  });
  r.post('/tax-settings', formAction({
    view: 'tax-settings', locals,
    action: async (req, res) => {
      // An unticked checkbox sends nothing: on this form that means "off".
      const body = req.body as Record<string, unknown>;
      await saveSellerTaxSettings(deps, { actor: actorOf(req), input: { ...body, taxEnabled: body.taxEnabled ?? '' } });
      flash(req, 'tax:settings.saved');
      res.redirect(base);
    },
  }));
  return r;
}
