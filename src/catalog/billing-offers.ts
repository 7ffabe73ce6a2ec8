// The billing engine's part of the catalog (DESIGN section 6): monthly or term packages,
// add-ons, per-unit quantities and one-off extra chatbot sessions, sold by the platform to
// agencies and by an agency (with the reselling module) to its sub-accounts. A view of the one
// catalog (./offers.ts) in the shape the subscription engine copies onto a subscription.
import type { DbOrTx } from '../../db/client';
import type { AddonModule, BillingKind, BillingModel, QuantityUnit } from '../../db/schema';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { errors, ValidationError } from '../lib/errors';
import { msg } from '../lib/message';
import { billingEngineKinds, createOffer, getOffer, listOffers, offersOf, reviseOffer, sellerOf, sellerOffer, type OfferView } from './offers';

/** A billing-engine offer with its current terms; `monthlyPriceMinor` is the price per month (per block for extra sessions). */
export interface BillingPackage {
  id: string;
  sellerAgencyId: string | null;
  name: string;
  kind: BillingKind;
  billing: BillingModel;
  termMonths: number | null;
  monthlyPriceMinor: number;
  currency: OfferView['version']['currency'];
  chatbotSessions: number;
  representatives: number;
  whatsappChannels: number;
  instagramChannels: number;
  messengerChannels: number;
  modules: AddonModule[];
  unit: QuantityUnit | null;
  published: boolean;
  /** The version the terms come from. */
  versionId: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const BILLING_PACKAGE_PREFIX = 'bpk';
export const isBillingPackageId = (id: string) => id.startsWith(`${BILLING_PACKAGE_PREFIX}_`);

export const billingPackageOf = (o: OfferView): BillingPackage => ({
  id: o.id, sellerAgencyId: o.sellerAgencyId, name: o.version.name, kind: o.kind as BillingKind, billing: o.version.billing as BillingModel, termMonths: o.version.termMonths,
  monthlyPriceMinor: o.version.priceMinor, currency: o.version.currency, chatbotSessions: o.version.chatbotSessions, representatives: o.version.representatives,
  whatsappChannels: o.version.whatsappChannels, instagramChannels: o.version.instagramChannels, messengerChannels: o.version.messengerChannels,
  modules: o.version.modules as AddonModule[], unit: o.version.unit as QuantityUnit | null, published: o.published, versionId: o.version.id, version: o.version.version,
  createdAt: o.createdAt, updatedAt: o.updatedAt,
});

/** The billing packages API speaks `monthlyPriceMinor` and a default kind of "package"; the catalog `priceMinor`. */
function asOfferInput(input: unknown): Record<string, unknown> {
  const { monthlyPriceMinor, ...rest } = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  return { ...rest, ...(monthlyPriceMinor !== undefined ? { priceMinor: monthlyPriceMinor } : {}) };
}

export async function createBillingPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<BillingPackage> {
  await sellerOf(deps, params.actor);
  const input: Record<string, unknown> = { kind: 'package', published: true, ...asOfferInput(params.input) };
  if (!(billingEngineKinds as readonly unknown[]).includes(input.kind)) throw new ValidationError({ kind: msg('errors:zodField.oneOf', { field: 'kind', values: billingEngineKinds.join(', ') }) });
  if (input.kind === 'extra_sessions' && input.billing !== undefined && input.billing !== 'one_off') throw new ValidationError({ billing: 'Extra sessions are a one-off purchase: leave billing out.' });
  if (input.kind !== 'extra_sessions' && (input.billing === undefined || input.billing === 'one_off')) throw new ValidationError({ billing: 'billing must be "monthly" or "term".' });
  const { billing, ...forSessions } = input;
  return billingPackageOf(await createOffer(deps, { actor: params.actor, input: input.kind === 'extra_sessions' ? forSessions : { ...forSessions, billing }, audit: 'billing_package.created' }));
}

/**
 * A seller edits an item's name, price or visibility: a new version of the offer. Subscriptions
 * keep the terms they started with; a new price applies to new subscriptions only.
 */
export async function updateBillingPackage(deps: Deps, params: { actor: Actor; packageId: string; input: unknown }): Promise<BillingPackage> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const raw = asOfferInput(params.input);
  const unknown = Object.keys(raw).filter((k) => !['name', 'priceMinor', 'published'].includes(k));
  if (unknown.length) throw new ValidationError(Object.fromEntries(unknown.map((k) => [k, 'Only the name, the price and publishing can be changed here.'])));
  const own = await sellerOffer(deps.db, sellerAgencyId, params.packageId, billingEngineKinds).catch(() => { throw errors.notFound('Package'); });
  return billingPackageOf(await reviseOffer(deps, { actor: params.actor, offerId: own.id, input: raw, audit: 'billing_package.updated' }));
}

/**
 * Billing packages the actor sees: a seller its own (all), a buyer its seller's published ones
 * (an agency: the platform's, when `asBuyer`; a sub-account: its agency's).
 */
export async function listBillingPackages(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; asBuyer?: boolean }): Promise<BillingPackage[]> {
  const asBuyer = params.asBuyer ?? params.actor.scope === 'sub_account';
  if (params.actor.scope === 'sub_account') {
    // Billing-engine offers of the agency are the client's, whatever the reselling module says.
    return (await offersOf(deps.db, params.actor.agencyId!, { kinds: billingEngineKinds, publishedOnly: true })).map(billingPackageOf);
  }
  return (await listOffers(deps, { actor: params.actor, asBuyer, kinds: billingEngineKinds })).map(billingPackageOf);
}

/** One billing package the actor may see (as seller or buyer); any other id is not found. */
export async function getBillingPackage(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; packageId: string }): Promise<BillingPackage> {
  const offer = await getOfferAny(deps, params.actor, params.packageId);
  if (!offer || !(billingEngineKinds as readonly string[]).includes(offer.kind)) throw errors.notFound('Package');
  return billingPackageOf(offer);
}

/** getOffer, where a sub-account buys its agency's billing offers with or without the reselling module. */
async function getOfferAny(deps: Pick<Deps, 'db' | 'clock'>, actor: Actor, offerId: string): Promise<OfferView | undefined> {
  if (actor.scope === 'sub_account') {
    const o = await sellerOffer(deps.db, actor.agencyId!, offerId, billingEngineKinds).catch(() => undefined);
    return o?.published ? o : undefined;
  }
  return getOffer(deps, { actor, offerId }).catch(() => undefined);
}

/** The seller's published extra-session blocks, cheapest first (the buyer picks one or gets the cheapest). */
export async function extraSessionOffers(db: DbOrTx, sellerAgencyId: string | null): Promise<BillingPackage[]> {
  return (await offersOf(db, sellerAgencyId, { kinds: ['extra_sessions'], publishedOnly: true })).map(billingPackageOf).sort((a, b) => a.monthlyPriceMinor - b.monthlyPriceMinor || a.id.localeCompare(b.id));
}
