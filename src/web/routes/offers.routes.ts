// Publishing, unpublishing and retiring an offer of the one catalog from the seller's screens:
// the agency's packages page and the platform's catalog page post here.
import { Router, type Request, type Response } from 'express';
import { createOffer, poolCoverage, retireOffer, reviseOffer } from '../../catalog/offers';
import { ValidationError, type FieldErrors } from '../../lib/errors';
import { parseMoneyToMinor } from '../../lib/money';
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
    const warning = poolWarning(req, o.version.name, await poolCoverage(deps.db, { sellerAgencyId: o.sellerAgencyId, kind: o.kind, credits: o.version.credits }));
    return withWarning(req, req.t('offers:flash.published', { name: o.version.name }), warning);
  }));
  r.post('/offers/:id/unpublish', act(async (req) => {
    const o = await reviseOffer(deps, { actor: actorOf(req), offerId: String(req.params.id), input: { published: false } });
    return req.t('offers:flash.unpublished', { name: o.version.name });
  }));
  r.post('/offers/:id/retire', act(async (req) => {
    await retireOffer(deps, { actor: actorOf(req), offerId: String(req.params.id) });
    return 'offers:flash.retired';
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

const BILLED_KINDS = ['package', 'addon', 'quantity', 'extra_sessions'] as const;
const COUNTS = ['chatbotSessions', 'representatives', 'whatsappChannels', 'instagramChannels', 'messengerChannels'] as const;

/**
 * The "new billed item" form -> createOffer input (a package, add-on, per-unit item or extra
 * sessions). Form-level problems (a price that is not money, a count that is not a whole number)
 * are reported with the use case's own, all at once.
 */
export function billedOfferInput(body: unknown): Record<string, unknown> {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (k: string) => (typeof b[k] === 'string' ? (b[k] as string).trim() : '');
  const fields: FieldErrors = {};
  const kind = text('kind');
  if (!(BILLED_KINDS as readonly string[]).includes(kind)) fields.kind = 'offers:error.kind';
  const price = parseMoneyToMinor(b.price);
  if (typeof price === 'string') fields.price = price;
  const counts: Record<string, number> = {};
  for (const k of COUNTS) {
    const s = text(k);
    if (s === '') continue;
    if (!/^\d{1,9}$/.test(s)) fields[k] = 'offers:error.wholeNumber';
    else counts[k] = Number(s);
  }
  const billing = kind === 'extra_sessions' ? undefined : text('billing') || 'monthly';
  const term = text('termMonths');
  const modules = b.modules === undefined ? [] : Array.isArray(b.modules) ? b.modules.map(String) : [String(b.modules)];
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return {
    kind, name: typeof b.name === 'string' ? b.name : '', priceMinor: price, currency: text('currency'), ...counts, modules,
    ...(billing ? { billing } : {}), ...(billing === 'term' ? { termMonths: Number(term) || null } : {}),
    ...(kind === 'quantity' ? { unit: text('unit') || null } : {}), published: b.published === 'on',
    // The offer's own tax rate in percent; blank: the seller's default.
    taxRate: text('taxRate'),
  };
}

/** Creates a billed item from the form; answers the flash text (with the pool warning when it applies). */
export async function createBilledOffer(deps: Deps, req: Request): Promise<string> {
  const o = await createOffer(deps, { actor: actorOf(req), input: billedOfferInput(req.body) });
  return req.t(o.published ? 'offers:flash.createdPublished' : 'offers:flash.createdDraft', { name: o.version.name });
}

/**
 * The warning a seller reads after publishing an offer its pool does not cover (a client who pays
 * waits for the pool), in the reader's language; null when the pool covers a sale.
 */
export function poolWarning(req: Request, name: string, c: { covered: boolean; pool: number; needed: number }): string | null {
  if (c.covered) return null;
  return req.t('offers:poolWarning', { name, needed: req.fmt.number(c.needed), pool: req.fmt.number(c.pool) });
}

/** A flash message followed by the pool warning, when there is one. */
export const withWarning = (req: Request, message: string, warning: string | null): string => (warning ? req.t('offers:withWarning', { message, warning }) : message);
