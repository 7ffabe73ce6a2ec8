// The sellers' home pages: /agency and /platform. People without the billing permission see
// the money nowhere, so their home stays the list of clients (agencies) they manage.
import { Router, type Request, type Response } from 'express';
import { DateTime } from 'luxon';
import { sellerDashboard } from '../../dashboard/dashboard';
import type { Deps } from '../../deps';
import { localeOf, moneyFor } from '../locale';
import { actorOf, requireUser } from '../middleware';
import { page } from '../render';

export function dashboardRoutes(deps: Deps, scope: 'agency' | 'platform'): Router {
  const r = Router();
  const base = `/${scope}`;
  r.get('/', requireUser(scope), async (req: Request, res: Response) => {
    const actor = actorOf(req);
    if (!actor.billing) return res.redirect(scope === 'agency' ? '/agency/sub-accounts' : '/platform/agencies');
    const d = await sellerDashboard(deps, { actor });
    const locale = localeOf(req) === 'tr' ? 'tr-TR' : 'en-GB';
    const day = (at: Date) => DateTime.fromJSDate(at).setZone(d.zone).setLocale(locale).toLocaleString(DateTime.DATE_MED);
    await page(res, `${scope}/home`, { title: 'Home', d, base, who: scope === 'agency' ? 'clients' : 'agencies', money: moneyFor(req), day });
  });
  return r;
}
