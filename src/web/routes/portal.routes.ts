import { Router } from 'express';
import type { Deps } from '../../deps';
import { getSubAccount } from '../../tenancy/sub-accounts.usecases';
import { actorOf, requireUser } from '../middleware';
import { page } from '../render';
import { clientHome } from '../../dashboard/client-home';
import { formatMoney } from '../../lib/money';

/** The sub-account portal: the client's own account, users and keys. */
export function portalRoutes(deps: Deps): Router {
  const r = Router();
  r.use(requireUser('sub_account'));
  r.get('/', async (req, res) => {
    const actor = actorOf(req);
    const sub = await getSubAccount(deps, { actor, subAccountId: actor.subAccountId! });
    const locale = req.user?.user.locale === 'tr' ? 'tr' : 'en';
    const home = await clientHome(deps, { agencyId: sub.agencyId, subAccountId: sub.id }, locale);
    await page(res, 'portal/home', { title: sub.name, sub, home, money: (minor: number, currency: string) => formatMoney(minor, currency, locale) });
  });
  return r;
}
