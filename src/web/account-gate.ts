import type { NextFunction, Request, Response } from 'express';
import type { Scope } from '../../db/schema';
import { buyerAccount } from '../billing/accounts';
import type { Deps } from '../deps';
import { entitlementStatus, usageOf } from '../entitlements/entitlements.usecases';
import { suspensionOf } from '../suspension/suspension.usecases';
import { page } from './render';
import type { AccessCache } from './access-cache';

/**
 * Sends a signed-in buyer to its invoice page while it cannot be served (DESIGN section 6): when
 * suspended (two overdue invoices, the platform's flag, or a suspended agency for its clients) or
 * over a limit (after a downgrade or a cancellation). The billing pages stay reachable, and so do
 * the profile and logout, which live outside /agency and /portal.
 */
export function accountGate(deps: Deps, cache: AccessCache, base: '/agency' | '/portal', scope: Scope) {
  const home = `${base}/billing`;
  return async (req: Request, res: Response, next: NextFunction) => {
    const actor = req.user?.actor;
    if (!actor || actor.scope !== scope || /^\/(billing|payment-methods)(\/|$)/.test(req.path)) return next();
    const agencyId = actor.agencyId!;
    const subAccountId = scope === 'sub_account' ? actor.subAccountId : null;
    // Suspension is read from the account's and its agency's rows, usage from its representatives
    // and channels: a pure function of rows whose changes are announced (src/web/access-cache.ts).
    const state = await cache.get(
      `g:${agencyId}|${subAccountId ?? ''}`,
      async () => {
        const account = await buyerAccount(deps.db, actor);
        const [suspension, used] = await Promise.all([suspensionOf(deps, account), usageOf(deps.db, account)]);
        // Most accounts use no more than the free representative and no channel: no need to look further.
        return { suspended: suspension.suspended, accountId: account.buyerId, beyondFree: used.representatives > 1 || used.whatsappChannels + used.instagramChannels + used.messengerChannels > 0 };
      },
      (v) => [`a:${agencyId}`, `x:${v.accountId}`, ...(subAccountId ? [`s:${subAccountId}`] : [])],
    );
    if (state.suspended) {
      // Only members with the billing permission can see the invoice page and pay.
      if (!actor.billing) {
        return page(res, 'error', { title: 'Account suspended', error: { code: 'account_suspended', message: 'This account is suspended for unpaid invoices. Someone with the billing permission can pay them on the billing page to bring it back at once.' } }, 403);
      }
      return res.redirect(home);
    }
    // Whether usage beyond the free allowance is covered depends on the packages held today (time
    // moves it): read every time, never cached.
    if (state.beyondFree) {
      if ((await entitlementStatus(deps, await buyerAccount(deps.db, actor))).overLimits.length > 0) return res.redirect(home);
    }
    next();
  };
}
