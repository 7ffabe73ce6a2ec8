// Which seller's settings an API caller manages (payment system, installments, e-invoice
// integrator): platform keys the platform's (null), agency keys their own agency's once it
// resells. Everyone else is refused; the caller needs the billing permission.
import type { Request } from 'express';
import { requireBilling } from '../../auth/policies';
import { requireReselling } from '../../catalog/resold-packages';
import type { Deps } from '../../deps';
import { errors } from '../../lib/errors';
import { actorOf } from '../middleware';

export async function sellerOfCaller(deps: Deps, req: Request): Promise<string | null> {
  const actor = actorOf(req);
  requireBilling(actor);
  if (actor.scope === 'platform') return null;
  if (actor.scope === 'agency') return requireReselling(deps, actor);
  throw errors.wrongScope('platform or agency');
}
