import type { NextFunction, Request, Response } from 'express';
import { requireReselling } from '../../catalog/resold-packages';
import type { Deps } from '../../deps';
import { AppError } from '../../lib/errors';
import { actorOf } from '../middleware';
import { page } from '../render';

/**
 * Agency pages that exist only with the reselling module (packages, purchases, payment systems):
 * without it the page says what the module does and whom to ask (the upgrade page, titled as the
 * page the agency opened), never an error page. Billing permission is checked by each page.
 */
export function resellingGate(deps: Deps, titleKey: (req: Request) => string) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      await requireReselling(deps, actorOf(req));
    } catch (err) {
      if (err instanceof AppError && err.code === 'module_required') return page(res, 'agency/upgrade', { title: req.t(titleKey(req)) }, 403);
      throw err;
    }
    next();
  };
}
