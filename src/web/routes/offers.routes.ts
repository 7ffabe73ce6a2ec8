// Publishing, unpublishing and retiring an offer of the one catalog from the seller's screens:
// the agency's packages page and the platform's catalog page post here.
import { Router, type Request, type Response } from 'express';
import { coverageWarning, poolCoverage, retireOffer, reviseOffer } from '../../catalog/offers';
import type { Deps } from '../../deps';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash } from '../render';

function offerActions(deps: Deps, back: string): Router {
  const r = Router();
  const act = (run: (req: Request) => Promise<string>) => async (req: Request, res: Response) => {
    flash(req, await run(req));
    res.redirect(back);
  };
  r.post('/offers/:id/publish', act(async (req) => {
    const o = await reviseOffer(deps, { actor: actorOf(req), offerId: String(req.params.id), input: { published: true } });
    const warning = coverageWarning(o.version.name, await poolCoverage(deps.db, { sellerAgencyId: o.sellerAgencyId, kind: o.kind, credits: o.version.credits }));
    return `${o.version.name} is published: buyers can see and buy it.${warning ? ` ${warning}` : ''}`;
  }));
  r.post('/offers/:id/unpublish', act(async (req) => {
    const o = await reviseOffer(deps, { actor: actorOf(req), offerId: String(req.params.id), input: { published: false } });
    return `${o.version.name} is a draft again: buyers no longer see it; what they hold is unchanged.`;
  }));
  r.post('/offers/:id/retire', act(async (req) => {
    await retireOffer(deps, { actor: actorOf(req), offerId: String(req.params.id) });
    return 'Retired: nobody can buy it any more; buyers keep what they hold.';
  }));
  return r;
}

/** /agency/offers/... (the reselling module is checked by the use case). */
export function agencyOfferRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/offers', requireUser('agency'), billingOnly);
  r.use(offerActions(deps, '/agency/packages'));
  return r;
}

/** /platform/offers/... */
export function platformOfferRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/offers', requireUser('platform'), billingOnly);
  r.use(offerActions(deps, '/platform/catalog'));
  return r;
}
