// The sellers' home pages: /agency and /platform. People without the billing permission see
// the money nowhere, so their home stays the list of clients (agencies) they manage.
import { Router, type Request, type Response } from 'express';
import { DashboardFigures, sellerDashboard } from '../../dashboard/dashboard';
import type { Deps } from '../../deps';
import { formatterFor } from '../../i18n/format';
import { actorOf, requireUser } from '../middleware';
import { page } from '../render';

export function dashboardRoutes(deps: Deps, scope: 'agency' | 'platform'): Router {
  const r = Router();
  const base = `/${scope}`;
  // This process's last aggregates per seller (shown with their time; src/dashboard/dashboard.ts).
  const figures = new DashboardFigures();
  r.get('/', requireUser(scope), async (req: Request, res: Response) => {
    const actor = actorOf(req);
    if (!actor.billing) return res.redirect(scope === 'agency' ? '/agency/sub-accounts' : '/platform/agencies');
    const d = await sellerDashboard(deps, { actor, figures });
    // The seller's own calendar: days and "this month" are its zone's.
    const fmt = formatterFor(req.lang, d.zone);
    res.locals.fmt = fmt;
    await page(res, `${scope}/home`, { title: req.t('nav:home'), d, base, who: scope === 'agency' ? 'clients' : 'agencies', money: fmt.money, day: fmt.date });
  });
  return r;
}
