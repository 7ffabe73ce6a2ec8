import { Router } from 'express';
import type { Deps } from '../../deps';
import { getSubAccount } from '../../tenancy/sub-accounts.usecases';
import { actorOf, requireUser } from '../middleware';
import { page } from '../render';
import { clientHome } from '../../dashboard/client-home';

/** The sub-account portal: the client's own account, users and keys. */
export function portalRoutes(deps: Deps): Router {
  const r = Router();
  r.use(requireUser('sub_account'));
  r.get('/', async (req, res) => {
    const actor = actorOf(req);
    const sub = await getSubAccount(deps, { actor, subAccountId: actor.subAccountId! });
    const home = await clientHome(deps, { agencyId: sub.agencyId, subAccountId: sub.id }, req.lang);
    await page(res, 'portal/home', { title: sub.name, sub, home, money: req.fmt.money });
  });
  return r;
}
