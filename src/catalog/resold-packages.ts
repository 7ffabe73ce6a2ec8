// Resold packages (DESIGN section 4): an agency's credit packs and prepaid subscriptions, the
// offers its sub-accounts buy through the portal. A view of the one catalog (./offers.ts) in the
// shape the purchase flow, its screens and the packages API speak.
import type { DbOrTx } from '../../db/client';
import { z } from 'zod';
import { packageTypes, type PackageType } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors, ValidationError } from '../lib/errors';
import { wholeNumber } from '../lib/validation';
import { createOffer, getOffer, offerSchemas, listOffers, offerVersion, requireReselling, reviseOffer, type OfferVersion, type OfferView } from './offers';

export { requireReselling } from './offers';
export { MAX_OFFER_CREDITS as MAX_PACKAGE_CREDITS } from './offers';

const RESALE = ['credit_pack', 'prepaid_subscription'] as const;

/** The package form's shape ("type" instead of the catalog's kind), checked by the form before it posts. */
export const createPackageSchema = offerSchemas.credit_pack.extend({
  type: z.enum(packageTypes, { error: 'type must be "credit" or "subscription".' }),
  termMonths: z.union([z.null(), wholeNumber('termMonths', 1, 36)]).optional(),
});

/** One version of a resold package: what a purchase bought. */
export interface PackageVersion {
  id: string;
  packageId: string;
  agencyId: string;
  version: number;
  name: string;
  type: PackageType;
  priceMinor: number;
  currency: OfferVersion['currency'];
  credits: number;
  termMonths: number | null;
  chatbots: number;
  departmentIds: string[];
  createdAt: Date;
}
export interface PackageView {
  id: string;
  agencyId: string;
  published: boolean;
  version: PackageVersion;
  createdAt: Date;
}

export const packageVersionOf = (v: OfferVersion): PackageVersion => ({
  id: v.id, packageId: v.offerId, agencyId: v.sellerAgencyId ?? '', version: v.version, name: v.name, type: v.billing === 'prepaid' ? 'subscription' : 'credit',
  priceMinor: v.priceMinor, currency: v.currency, credits: v.credits, termMonths: v.termMonths, chatbots: v.chatbots, departmentIds: v.departmentIds, createdAt: v.createdAt,
});
const viewOf = (o: OfferView): PackageView => ({ id: o.id, agencyId: o.sellerAgencyId ?? '', published: o.published, version: packageVersionOf(o.version), createdAt: o.createdAt });

/** The package's `type` ("credit" or "subscription") is the offer's kind. */
function asOfferInput(input: unknown, create: boolean): unknown {
  if (!input || typeof input !== 'object') return input;
  const { type, ...rest } = input as Record<string, unknown>;
  const kind = type === 'subscription' ? 'prepaid_subscription' : type === 'credit' ? 'credit_pack' : type;
  return { ...rest, ...(type !== undefined ? { kind } : {}), ...(create ? { published: rest.published ?? false } : {}) };
}

export async function createPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<PackageView> {
  requireRole(params.actor, 'admin');
  await requireReselling(deps, params.actor);
  const input = asOfferInput(params.input, true) as Record<string, unknown> | undefined;
  if (!RESALE.includes(input?.kind as (typeof RESALE)[number])) throw new ValidationError({ type: 'type must be "credit" or "subscription".' });
  return viewOf(await createOffer(deps, { actor: params.actor, input, audit: 'package.created' }));
}

/** Changed terms become a new version; buyers keep the version they bought. Publishing alone creates no version. */
export async function updatePackage(deps: Deps, params: { actor: Actor; packageId: string; input: unknown }): Promise<PackageView> {
  requireRole(params.actor, 'admin');
  await getPackage(deps, { actor: params.actor, packageId: params.packageId });
  return viewOf(await reviseOffer(deps, { actor: params.actor, offerId: params.packageId, input: asOfferInput(params.input, false), audit: 'package.updated' }));
}

/** The agency's packages (all of them), or for a sub-account its agency's published ones. */
export async function listPackages(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor }): Promise<PackageView[]> {
  const { actor } = params;
  if (!actor.agencyId) throw errors.wrongScope('agency or sub-account');
  return (await listOffers(deps, { actor, kinds: RESALE })).map(viewOf);
}

/** One package of the actor's agency (sub-accounts: only published ones); others are "not found". */
export async function getPackage(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; packageId: string }): Promise<PackageView> {
  const { actor } = params;
  if (!actor.agencyId) throw errors.notFound('Package');
  const offer = await getOffer(deps, { actor, offerId: params.packageId }).catch(() => undefined);
  if (!offer || offer.sellerAgencyId !== actor.agencyId || !RESALE.includes(offer.kind as (typeof RESALE)[number])) throw errors.notFound('Package');
  return viewOf(offer);
}

/** The version a purchase bought. */
export async function packageVersion(db: DbOrTx, versionId: string): Promise<PackageVersion | undefined> {
  const v = await offerVersion(db, versionId);
  return v && packageVersionOf(v);
}
