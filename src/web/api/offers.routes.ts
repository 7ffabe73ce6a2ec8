import { Router, type Request } from 'express';
import { z } from 'zod';
import { offerKinds, type OfferKind } from '../../../db/schema';
import { coverageWarning, createOffer, getOffer, listOffers, offerHistory, poolCoverage, retireOffer, reviseOffer, type OfferVersion, type OfferView } from '../../catalog/offers';
import type { Deps } from '../../deps';
import { parse } from '../../lib/validation';
import { actorOf } from '../middleware';
import { apiT, apiText } from './text';
import type { Translate } from '../../i18n/i18n';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const offerVersionJson = (v: OfferVersion): Answer<typeof A.OfferVersion> => ({
  id: v.id, number: v.version, name: v.name, billing: v.billing, priceMinor: v.priceMinor, currency: v.currency, termMonths: v.termMonths, credits: v.credits,
  chatbots: v.chatbots, departmentIds: v.departmentIds, chatbotSessions: v.chatbotSessions, representatives: v.representatives, whatsappChannels: v.whatsappChannels,
  instagramChannels: v.instagramChannels, messengerChannels: v.messengerChannels, modules: v.modules, unit: v.unit, createdAt: v.createdAt.toISOString(),
});
export const offerJson = (o: OfferView): Answer<typeof A.Offer> => ({
  id: o.id, kind: o.kind, seller: o.sellerAgencyId ? 'agency' : 'platform', code: o.code, published: o.published,
  version: offerVersionJson(o.version), createdAt: o.createdAt.toISOString(), updatedAt: o.updatedAt.toISOString(),
});

export const listQuery = z.object({
  kind: z.enum(offerKinds).optional(),
  seller: z.enum(['platform'], { error: 'seller can only be "platform" (what an agency buys).' }).optional(),
  view: z.enum(['buyers'], { error: 'view can only be "buyers" (what the seller\'s buyers see).' }).optional(),
});

/**
 * The one catalog (DESIGN section 9): every offer of the caller's seller. A seller (platform or
 * agency key) sees its own offers, drafts included, and `?view=buyers` what its buyers see; a
 * buyer sees its seller's published offers (an agency the platform's with `?seller=platform`).
 */
export function offerRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/offers', async (req, res) => {
    const actor = actorOf(req);
    const q = parse(listQuery, req.query);
    const kinds: OfferKind[] | undefined = q.kind ? [q.kind] : undefined;
    const rows = await listOffers(deps, { actor, asBuyer: q.seller === 'platform', buyerPreview: q.view === 'buyers', kinds });
    res.json({ data: rows.map(offerJson) });
  });
  r.get('/offers/:id', async (req, res) => {
    res.json(offerJson(await getOffer(deps, { actor: actorOf(req), offerId: String(req.params.id) })));
  });
  r.get('/offers/:id/versions', async (req, res) => {
    res.json({ data: (await offerHistory(deps, { actor: actorOf(req), offerId: String(req.params.id) })).map(offerVersionJson) });
  });
  // A published resold offer the agency's pool does not cover carries a warning (a buyer who pays
  // would wait for credits); nothing is refused.
  const withWarnings = async (o: OfferView, t: Translate) => {
    const c = o.published ? await poolCoverage(deps.db, { sellerAgencyId: o.sellerAgencyId, kind: o.kind, credits: o.version.credits }) : { covered: true, pool: 0, needed: 0 };
    return { ...offerJson(o), warnings: c.covered ? [] : [{ code: 'pool_does_not_cover', message: apiText(t, coverageWarning(o.version.name, c)!), poolCredits: c.pool, creditsPerSale: c.needed }] };
  };
  r.post('/offers', async (req, res) => {
    res.status(201).json(await withWarnings(await createOffer(deps, { actor: actorOf(req), input: body(req) }), apiT(req)));
  });
  r.patch('/offers/:id', async (req, res) => {
    res.json(await withWarnings(await reviseOffer(deps, { actor: actorOf(req), offerId: String(req.params.id), input: body(req) }), apiT(req)));
  });
  r.post('/offers/:id/retire', async (req, res) => {
    await retireOffer(deps, { actor: actorOf(req), offerId: String(req.params.id) });
    res.status(204).end();
  });
  return r;
}
