import type { NextFunction, Request, Response } from 'express';
import type { Scope } from '../../db/schema';
import { buyerAccount } from '../billing/accounts';
import type { Deps } from '../deps';
import { entitlementStatus, usageOf } from '../entitlements/entitlements.usecases';
import { suspensionOf } from '../suspension/suspension.usecases';
import { page } from './render';

/**
 * Sends a signed-in buyer to its invoice page while it cannot be served (DESIGN section 6): when
 * suspended (two overdue invoices, the platform's flag, or a suspended agency for its clients) or
 * over a limit (after a downgrade or a cancellation). The billing pages stay reachable, and so do
 * the profile and logout, which live outside /agency and /portal.
 */
export function accountGate(deps: Deps, base: '/agency' | '/portal', scope: Scope) {
  const home = `${base}/billing`;
  return async (req: Request, res: Response, next: NextFunction) => {
    const actor = req.user?.actor;
    if (!actor || actor.scope !== scope || /^\/(billing|payment-methods)(\/|$)/.test(req.path)) return next();
    const account = await buyerAccount(deps.db, actor);
    // Most accounts use no more than the free representative and no channel: no need to look further.
    const [suspension, used] = await Promise.all([suspensionOf(deps, account), usageOf(deps.db, account)]);
    if (suspension.suspended) {
      // Only members with the billing permission can see the invoice page and pay.
      if (!actor.billing) {
        return page(res, 'error', { title: 'Account suspended', error: { code: 'account_suspended', message: 'This account is suspended for unpaid invoices. Someone with the billing permission can pay them on the billing page to bring it back at once.' } }, 403);
      }
      return res.redirect(home);
    }
    if (used.representatives > 1 || used.whatsappChannels + used.instagramChannels + used.messengerChannels > 0) {
      if ((await entitlementStatus(deps, account)).overLimits.length > 0) return res.redirect(home);
    }
    next();
  };
}
