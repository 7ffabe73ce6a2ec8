// The one catalog (DESIGN section 9; docs/catalog.md): every offer of every seller, its
// versions, and who may see, create, edit, publish and retire it. This module is the only writer
// of `offers` and `offer_versions`; the resale, billing-engine and platform views of the catalog
// (resold-packages.ts, billing-offers.ts, platform-offers.ts) read and write through it.
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { addonModules, agencies, creditAccounts, currencies, departments, offers, offerVersions, quantityUnits, type OfferBilling, type OfferKind } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import type { Clock } from '../lib/clock';
import { planInEffect } from '../billing/plan';
import { errors, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { MAX_PRICE_MINOR } from '../lib/money';
import { checkbox, name, opaqueId, parse, wholeNumber } from '../lib/validation';
import { msg } from '../lib/message';
import { optionalTaxRateField } from '../tax/identity';

export type Offer = typeof offers.$inferSelect;
export type OfferVersion = typeof offerVersions.$inferSelect;
export interface OfferView extends Offer {
  version: OfferVersion;
}

export const MAX_OFFER_CREDITS = 1_000_000_000;
/** Plan features an offer can carry besides the add-on modules. */
export const planModules = ['reselling'] as const;

/** Who sells what: an agency resells to its sub-accounts; the platform sells to agencies. */
export const agencyOfferKinds = ['credit_pack', 'prepaid_subscription', 'package', 'addon', 'quantity', 'extra_sessions'] as const satisfies readonly OfferKind[];
export const platformOfferKinds = ['plan', 'topup', 'chatbot_slot', 'package', 'addon', 'quantity', 'extra_sessions'] as const satisfies readonly OfferKind[];
/** Offers the billing engine subscribes to or charges (DESIGN section 6). */
export const billingEngineKinds = ['package', 'addon', 'quantity', 'extra_sessions'] as const satisfies readonly OfferKind[];

/** Id prefixes by kind: support staff read the kind from an id. */
const ID_PREFIX: Record<OfferKind, string> = {
  credit_pack: 'pkg', prepaid_subscription: 'pkg', package: 'bpk', addon: 'bpk', quantity: 'bpk', extra_sessions: 'bpk', topup: 'top', chatbot_slot: 'slt', plan: 'pln',
};

const currency = z.enum(currencies);
const count = (label: string) => wholeNumber(label, 0, 100_000_000).default(0);
const common = {
  name: name('Name'),
  priceMinor: wholeNumber('priceMinor', 1, MAX_PRICE_MINOR),
  currency,
  published: checkbox.optional(),
  /** The offer's own tax rate in percent ("20", "10", "1", "0"); blank or null: the seller's default. */
  taxRate: optionalTaxRateField.optional(),
};
const engineBilling = z.enum(['monthly', 'term'], { error: 'billing must be "monthly" or "term".' });
const engineTerm = z.union([z.null(), z.literal(3), z.literal(6), z.literal(12)], { error: 'termMonths must be 3, 6 or 12.' }).optional();
const engineCounts = {
  chatbotSessions: count('chatbotSessions'),
  representatives: count('representatives'),
  whatsappChannels: count('whatsappChannels'),
  instagramChannels: count('instagramChannels'),
  messengerChannels: count('messengerChannels'),
  modules: z.array(z.enum(addonModules)).max(addonModules.length).default([]),
};

/** What each kind of offer is made of; one schema per kind, shared by every screen and the API. */
export const offerSchemas = {
  credit_pack: z.object({
    ...common,
    credits: wholeNumber('credits', 0, MAX_OFFER_CREDITS),
    chatbots: wholeNumber('chatbots', 0, 10_000).default(0),
    departmentIds: z.array(opaqueId, { error: 'departmentIds must be a list of department ids.' }).max(200).default([]),
    termMonths: z.null({ error: 'A credit package has no term.' }).optional(),
  }),
  prepaid_subscription: z.object({
    ...common,
    credits: wholeNumber('credits', 0, MAX_OFFER_CREDITS),
    termMonths: wholeNumber('termMonths', 1, 36).nullable().optional(),
    chatbots: wholeNumber('chatbots', 0, 10_000).default(0),
    departmentIds: z.array(opaqueId, { error: 'departmentIds must be a list of department ids.' }).max(200).default([]),
  }),
  package: z.object({ ...common, billing: engineBilling, termMonths: engineTerm, ...engineCounts }),
  addon: z.object({ ...common, billing: engineBilling, termMonths: engineTerm, ...engineCounts }),
  quantity: z.object({
    ...common, billing: engineBilling, termMonths: engineTerm, ...engineCounts,
    unit: z.enum(quantityUnits).nullable().optional(),
  }),
  extra_sessions: z.object({ ...common, chatbotSessions: wholeNumber('chatbotSessions', 0, 100_000_000).default(0), billing: z.string().optional() }),
  topup: z.object({ ...common, name: name('Name').optional(), credits: wholeNumber('credits', 1, MAX_OFFER_CREDITS) }),
  chatbot_slot: z.object({ ...common, name: name('Name').default('Chatbot slot') }),
  plan: z.object({
    ...common,
    priceMinor: wholeNumber('priceMinor', 0, MAX_PRICE_MINOR),
    code: z.string({ error: 'code is required.' }).trim().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'code: lower-case letters, digits and dashes.'),
    credits: wholeNumber('credits', 0, MAX_OFFER_CREDITS).default(0),
    chatbots: wholeNumber('chatbots', 0, 10_000).default(0),
    modules: z.array(z.enum(planModules)).max(planModules.length).default([]),
  }),
} satisfies Record<OfferKind, z.ZodObject>;

type Terms = Omit<OfferVersion, 'id' | 'offerId' | 'sellerAgencyId' | 'version' | 'createdAt'>;
const TERM_KEYS = [
  'name', 'billing', 'priceMinor', 'currency', 'termMonths', 'credits', 'chatbots', 'departmentIds', 'chatbotSessions', 'representatives',
  'whatsappChannels', 'instagramChannels', 'messengerChannels', 'modules', 'unit', 'taxRateBp',
] as const satisfies readonly (keyof Terms)[];

const BLANK: Omit<Terms, 'name' | 'billing' | 'priceMinor' | 'currency'> = {
  termMonths: null, credits: 0, chatbots: 0, departmentIds: [], chatbotSessions: 0, representatives: 0, whatsappChannels: 0, instagramChannels: 0, messengerChannels: 0, modules: [], unit: null, taxRateBp: null,
};

/** The cross-field rules of one kind (term months only for terms, a unit only for quantities...). */
function shapeRules(kind: OfferKind, t: Terms): Record<string, string> {
  const bad: Record<string, string> = {};
  if (kind === 'prepaid_subscription' && !t.termMonths) bad.termMonths = 'A subscription needs a term in months (1 to 36).';
  if (t.billing !== 'prepaid' && t.billing !== 'term' && t.termMonths) bad.termMonths = kind === 'credit_pack' ? 'A credit package has no term.' : 'Only term packages have termMonths.';
  if (kind === 'package' || kind === 'addon' || kind === 'quantity') {
    if (t.billing === 'term' && !t.termMonths) bad.termMonths = 'A term package needs termMonths: 3, 6 or 12.';
    if (t.billing !== 'term' && t.termMonths) bad.termMonths = 'Only term packages have termMonths.';
  }
  if (kind === 'quantity' && !t.unit) bad.unit = msg('errors:offer.unitNeeded', { units: quantityUnits.join(', ') });
  if (kind !== 'quantity' && t.unit) bad.unit = 'Only quantity items have a unit.';
  if (kind === 'addon' && t.modules.length === 0) bad.modules = 'An add-on needs at least one module.';
  if (kind === 'extra_sessions' && t.chatbotSessions < 1) bad.chatbotSessions = 'Extra sessions need the number of sessions in one block (chatbotSessions, 1 or more).';
  return bad;
}

/** Normalised terms of one kind from its parsed input. */
function termsOf(kind: OfferKind, input: Record<string, unknown>): Terms {
  const v = input as Partial<Terms> & { name?: string; priceMinor: number; currency: Terms['currency']; taxRate?: number | null };
  const billing: OfferBilling =
    kind === 'prepaid_subscription' ? 'prepaid' : kind === 'plan' ? 'monthly' : kind === 'package' || kind === 'addon' || kind === 'quantity' ? (v.billing as OfferBilling) : 'one_off';
  const terms: Terms = {
    ...BLANK,
    name: v.name ?? (kind === 'topup' ? `${(v.credits ?? 0).toLocaleString('en-US')} credits` : ''),
    billing,
    priceMinor: v.priceMinor,
    currency: v.currency,
    termMonths: v.termMonths ?? null,
    credits: v.credits ?? 0,
    chatbots: kind === 'chatbot_slot' ? 1 : (v.chatbots ?? 0),
    departmentIds: [...new Set(v.departmentIds ?? [])].sort(),
    chatbotSessions: v.chatbotSessions ?? 0,
    representatives: v.representatives ?? 0,
    whatsappChannels: v.whatsappChannels ?? 0,
    instagramChannels: v.instagramChannels ?? 0,
    messengerChannels: v.messengerChannels ?? 0,
    modules: [...new Set(v.modules ?? [])],
    unit: v.unit ?? null,
    // The form's taxRate (percent, parsed to hundredths) when given, else the version's own.
    taxRateBp: v.taxRate !== undefined ? v.taxRate : (v.taxRateBp ?? null),
  };
  return terms;
}

function checkShape(kind: OfferKind, terms: Terms): void {
  const bad = shapeRules(kind, terms);
  if (Object.keys(bad).length) throw new ValidationError(bad);
}

/** Resale needs a plan with the reselling module: the agency's package screens and API. */
export async function requireReselling(deps: Pick<Deps, 'db' | 'clock'>, actor: Actor): Promise<string> {
  const agencyId = agencyIdOf(actor);
  requireBilling(actor);
  if (!(await sellsToClients(deps, agencyId))) throw errors.moduleRequired('reselling');
  return agencyId;
}

/**
 * Whether an agency may sell to its sub-accounts: the plan it is subscribed to today (a `plan`
 * offer of the platform's catalog, billed monthly; src/billing/plan.ts) includes the reselling
 * module, or the platform granted the module by hand (`agencies.reselling_module`).
 */
export async function sellsToClients(deps: { db: DbOrTx; clock: Clock }, agencyId: string): Promise<boolean> {
  const [row] = await deps.db.select({ granted: agencies.resellingModule }).from(agencies).where(eq(agencies.id, agencyId));
  if (!row) return false;
  if (row.granted) return true;
  return Boolean((await planInEffect(deps, agencyId))?.modules.includes('reselling'));
}

/** The seller an admin acts for: null for the platform, or its agency (which needs the reselling module). */
export async function sellerOf(deps: Pick<Deps, 'db' | 'clock'>, actor: Actor): Promise<string | null> {
  requireRole(actor, 'admin');
  if (actor.scope === 'platform') return null;
  if (actor.scope === 'agency') return requireReselling(deps, actor);
  throw errors.wrongScope('platform or agency');
}

const sellerIs = (sellerAgencyId: string | null) => (sellerAgencyId ? eq(offers.sellerAgencyId, sellerAgencyId) : isNull(offers.sellerAgencyId));

async function checkDepartments(db: DbOrTx, agencyId: string | null, ids: string[]) {
  if (ids.length === 0) return;
  if (!agencyId) throw new ValidationError({ departmentIds: 'The platform has no departments to include.' });
  const own = await db.select({ id: departments.id }).from(departments).where(and(eq(departments.agencyId, agencyId), inArray(departments.id, ids), isNull(departments.archivedAt)));
  const unknown = ids.filter((id) => !own.some((d) => d.id === id));
  if (unknown.length) throw new ValidationError({ departmentIds: msg('errors:departments.unknown', { ids: unknown.join(', ') }) });
}

const kindSchema = z.object({ kind: z.enum([...new Set([...agencyOfferKinds, ...platformOfferKinds])] as [OfferKind, ...OfferKind[]], { error: 'kind must be one of the catalog\'s kinds.' }) });

/**
 * A seller creates an offer (version 1). Unpublished unless `published` is given, except
 * the platform's top-ups, chatbot slots and plans, which are on sale once created.
 */
export async function createOffer(deps: Deps, params: { actor: Actor; input: unknown; audit?: string }): Promise<OfferView> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const { kind } = parse(kindSchema, params.input);
  const allowed: readonly OfferKind[] = sellerAgencyId ? agencyOfferKinds : platformOfferKinds;
  if (!allowed.includes(kind)) throw new ValidationError({ kind: msg(sellerAgencyId ? 'errors:offer.agencySells' : 'errors:offer.platformSells', { kinds: (sellerAgencyId ? agencyOfferKinds : platformOfferKinds).join(', ') }) });
  const input = parse(offerSchemas[kind], params.input) as Record<string, unknown> & { published?: boolean; code?: string };
  const terms = termsOf(kind, input);
  checkShape(kind, terms);
  await checkDepartments(deps.db, sellerAgencyId, terms.departmentIds);
  const published = input.published ?? (kind === 'topup' || kind === 'chatbot_slot' || kind === 'plan');
  const now = deps.clock.now();
  const id = newId(ID_PREFIX[kind]);
  const versionId = newId('ofv');
  await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(offers)
      .values({ id, sellerAgencyId, kind, code: kind === 'plan' ? input.code! : null, currentVersionId: versionId, published, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning({ id: offers.id });
    if (!row) throw errors.conflict('plan_code_taken', msg('errors:offer.planCodeTaken', { code: input.code }));
    await tx.insert(offerVersions).values({ id: versionId, offerId: id, sellerAgencyId, version: 1, ...terms, createdAt: now });
    await recordAudit(tx, params.actor, { action: params.audit ?? 'offer.created', targetType: 'offer', targetId: id, data: { kind, ...terms, published } }, now);
  });
  return getOffer(deps, { actor: params.actor, offerId: id });
}

/**
 * A seller edits an offer: changed terms become a new version (buyers keep the version they
 * bought); publishing or unpublishing alone adds none. A resold package may switch between a
 * credit pack and a prepaid subscription; no other kind changes.
 */
export async function reviseOffer(deps: Deps, params: { actor: Actor; offerId: string; input: unknown; audit?: string }): Promise<OfferView> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const current = await sellerOffer(deps.db, sellerAgencyId, params.offerId);
  const raw = (params.input && typeof params.input === 'object' ? params.input : {}) as Record<string, unknown>;
  let kind = current.kind;
  if (raw.kind !== undefined && raw.kind !== kind) {
    const resale = ['credit_pack', 'prepaid_subscription'];
    if (!(resale.includes(String(raw.kind)) && resale.includes(kind))) throw new ValidationError({ kind: 'An offer keeps its kind: create a new offer instead.' });
    kind = raw.kind as OfferKind;
  }
  const schema = offerSchemas[kind].partial().extend({ kind: z.string().optional() }).strict();
  const patch = parse(schema, raw) as Record<string, unknown> & { published?: boolean; code?: string };
  if (patch.code !== undefined && patch.code !== current.code) throw new ValidationError({ code: 'A plan keeps its code.' });
  const v = current.version;
  const merged: Record<string, unknown> = { ...v, ...Object.fromEntries(Object.entries(patch).filter(([, x]) => x !== undefined)) };
  if (kind === 'credit_pack') merged.termMonths = patch.termMonths ?? null;
  if (kind !== current.kind && kind === 'prepaid_subscription' && patch.termMonths === undefined) merged.termMonths = null;
  const next = termsOf(kind, merged);
  checkShape(kind, next);
  await checkDepartments(deps.db, sellerAgencyId, next.departmentIds);
  const changed = kind !== current.kind || TERM_KEYS.some((k) => JSON.stringify(next[k]) !== JSON.stringify(k === 'departmentIds' ? [...v.departmentIds].sort() : v[k]));
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    // Two edits at once: one after the other, each a version of its own.
    const [locked] = await tx.select({ currentVersionId: offers.currentVersionId }).from(offers).where(eq(offers.id, current.id)).for('update');
    let versionId = locked!.currentVersionId;
    if (changed) {
      const [{ last }] = (await tx.select({ last: sql<number>`max(${offerVersions.version})::int` }).from(offerVersions).where(eq(offerVersions.offerId, current.id))) as [{ last: number }];
      versionId = newId('ofv');
      await tx.insert(offerVersions).values({ id: versionId, offerId: current.id, sellerAgencyId, version: last + 1, ...next, createdAt: now });
    }
    await tx.update(offers).set({ kind, currentVersionId: versionId, published: patch.published ?? current.published, updatedAt: now }).where(eq(offers.id, current.id));
    await recordAudit(tx, params.actor, { action: params.audit ?? 'offer.updated', targetType: 'offer', targetId: current.id, data: { patch, newVersion: changed } }, now);
  });
  return getOffer(deps, { actor: params.actor, offerId: current.id });
}

/** A seller retires an offer: no longer listed or sold; buyers keep what they hold. */
export async function retireOffer(deps: Deps, params: { actor: Actor; offerId: string }): Promise<void> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const current = await sellerOffer(deps.db, sellerAgencyId, params.offerId);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(offers).set({ archivedAt: now, published: false, updatedAt: now }).where(and(eq(offers.id, current.id), isNull(offers.archivedAt)));
    await recordAudit(tx, params.actor, { action: 'offer.retired', targetType: 'offer', targetId: current.id, data: { kind: current.kind } }, now);
  });
}

/** One live offer of a seller, with its current version; anything else is not found. */
export async function sellerOffer(db: DbOrTx, sellerAgencyId: string | null, offerId: string, kinds?: readonly OfferKind[]): Promise<OfferView> {
  const [row] = await db
    .select({ o: offers, v: offerVersions })
    .from(offers)
    .innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId))
    .where(and(eq(offers.id, offerId), sellerIs(sellerAgencyId), isNull(offers.archivedAt), kinds ? inArray(offers.kind, [...kinds]) : undefined));
  if (!row) throw errors.notFound('Offer');
  return { ...row.o, version: row.v };
}

/** A seller's live offers with their current versions (buyers: the published ones only). */
export async function offersOf(db: DbOrTx, sellerAgencyId: string | null, opts: { kinds?: readonly OfferKind[]; publishedOnly?: boolean } = {}): Promise<OfferView[]> {
  const rows = await db
    .select({ o: offers, v: offerVersions })
    .from(offers)
    .innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId))
    .where(and(sellerIs(sellerAgencyId), isNull(offers.archivedAt), opts.kinds ? inArray(offers.kind, [...opts.kinds]) : undefined, opts.publishedOnly ? eq(offers.published, true) : undefined))
    .orderBy(asc(offers.kind), asc(offerVersions.billing), asc(offerVersions.priceMinor), desc(offers.createdAt), asc(offers.id));
  return rows.map((r) => ({ ...r.o, version: r.v }));
}

/** Whose catalog the actor looks at: as a seller its own (drafts too), as a buyer its seller's published offers. */
export function catalogScopeOf(actor: Actor, asBuyer: boolean): { sellerAgencyId: string | null; publishedOnly: boolean } {
  if (actor.scope === 'platform') return { sellerAgencyId: null, publishedOnly: false };
  if (actor.scope === 'sub_account') return { sellerAgencyId: actor.agencyId!, publishedOnly: true };
  return asBuyer ? { sellerAgencyId: null, publishedOnly: true } : { sellerAgencyId: actor.agencyId!, publishedOnly: false };
}

/**
 * The catalog the actor sees: a seller its own offers (what its buyers see is the published
 * ones, `buyerPreview`), a buyer its seller's published ones. A sub-account sees nothing once
 * its agency's plan loses the reselling module.
 */
export async function listOffers(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; asBuyer?: boolean; buyerPreview?: boolean; kinds?: readonly OfferKind[] }): Promise<OfferView[]> {
  const { actor } = params;
  if (actor.scope !== 'platform' && !actor.agencyId) throw errors.wrongScope('platform, agency or sub-account');
  const scope = catalogScopeOf(actor, params.asBuyer ?? false);
  if (actor.scope === 'sub_account' && !(await sellsToClients(deps, actor.agencyId!))) return [];
  return offersOf(deps.db, scope.sellerAgencyId, { kinds: params.kinds, publishedOnly: scope.publishedOnly || Boolean(params.buyerPreview) });
}

/** One offer the actor may see: its own as a seller, or a published one of its seller as a buyer. */
export async function getOffer(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; offerId: string }): Promise<OfferView> {
  const { actor } = params;
  const [row] = await deps.db
    .select({ o: offers, v: offerVersions })
    .from(offers)
    .innerJoin(offerVersions, eq(offerVersions.id, offers.currentVersionId))
    .where(and(eq(offers.id, params.offerId), isNull(offers.archivedAt)));
  if (!row) throw errors.notFound('Offer');
  const o = row.o;
  const own = actor.scope === 'platform' ? o.sellerAgencyId === null : actor.scope === 'agency' && o.sellerAgencyId === actor.agencyId;
  const buyable = o.published && (actor.scope === 'sub_account' ? o.sellerAgencyId === actor.agencyId : actor.scope === 'agency' && o.sellerAgencyId === null);
  if (!own && !buyable) throw errors.notFound('Offer');
  if (!own && actor.scope === 'sub_account' && !(await sellsToClients(deps, actor.agencyId!))) throw errors.notFound('Offer');
  return { ...o, version: row.v };
}

/** One version by id (what a purchase bought), whatever the offer's state now. */
export async function offerVersion(db: DbOrTx, versionId: string): Promise<OfferVersion | undefined> {
  const [v] = await db.select().from(offerVersions).where(eq(offerVersions.id, versionId));
  return v;
}

/** The platform's chatbot-slot offer (one at most), or undefined when slots are not for sale. */
export async function chatbotSlotOffer(db: DbOrTx): Promise<OfferView | undefined> {
  const [slot] = await offersOf(db, null, { kinds: ['chatbot_slot'], publishedOnly: true });
  return slot;
}

/** Sets the price of the platform's chatbot slots: a new version of its one slot offer, or the offer itself. */
export async function setChatbotSlotOffer(deps: Deps, params: { actor: Actor; priceMinor: number; currency: string }): Promise<OfferView> {
  const [existing] = await offersOf(deps.db, null, { kinds: ['chatbot_slot'] });
  const input = { priceMinor: params.priceMinor, currency: params.currency, published: true };
  if (existing) return reviseOffer(deps, { actor: params.actor, offerId: existing.id, input, audit: 'chatbot_slot_price.set' });
  return createOffer(deps, { actor: params.actor, input: { kind: 'chatbot_slot', ...input }, audit: 'chatbot_slot_price.set' });
}


/** Seeds an offer inside a running transaction (the demo world and tests): version 1 with the given terms. */
export async function insertOffer(
  tx: DbOrTx,
  o: { sellerAgencyId: string | null; kind: OfferKind; code?: string; published?: boolean; terms: Partial<Terms> & Pick<Terms, 'name' | 'priceMinor' | 'currency'> },
  now: Date,
): Promise<string> {
  const id = newId(ID_PREFIX[o.kind]);
  const versionId = newId('ofv');
  const terms = termsOf(o.kind, { ...o.terms });
  checkShape(o.kind, terms);
  await tx.insert(offers).values({ id, sellerAgencyId: o.sellerAgencyId, kind: o.kind, code: o.code ?? null, currentVersionId: versionId, published: o.published ?? true, createdAt: now, updatedAt: now });
  await tx.insert(offerVersions).values({ id: versionId, offerId: id, sellerAgencyId: o.sellerAgencyId, version: 1, ...terms, createdAt: now });
  return id;
}

/** Every version of one of the seller's offers, newest first: what was sold when. */
export async function offerHistory(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; offerId: string }): Promise<OfferVersion[]> {
  const offer = await getOffer(deps, params);
  const own = params.actor.scope === 'platform' ? offer.sellerAgencyId === null : offer.sellerAgencyId === params.actor.agencyId && params.actor.scope === 'agency';
  if (!own) throw errors.notFound('Offer');
  return deps.db.select().from(offerVersions).where(eq(offerVersions.offerId, offer.id)).orderBy(desc(offerVersions.version));
}

/**
 * Whether the agency's pool covers one sale of a resold offer (its credits now, for a prepaid
 * subscription its first month). Publishing one it does not cover is allowed; the seller is
 * warned, because a paid purchase would wait for credits.
 */
export async function poolCoverage(db: DbOrTx, offer: { sellerAgencyId: string | null; kind: OfferKind; credits: number }): Promise<{ covered: boolean; pool: number; needed: number }> {
  const needed = offer.kind === 'credit_pack' || offer.kind === 'prepaid_subscription' ? offer.credits : 0;
  if (!offer.sellerAgencyId || needed === 0) return { covered: true, pool: 0, needed };
  const [acc] = await db.select({ balance: creditAccounts.balance }).from(creditAccounts).where(and(eq(creditAccounts.agencyId, offer.sellerAgencyId), isNull(creditAccounts.subAccountId)));
  const pool = acc?.balance ?? 0;
  return { covered: pool >= needed, pool, needed };
}

/** The warning a seller reads after publishing an offer its pool does not cover (a message), or null. */
export function coverageWarning(name: string, c: { covered: boolean; pool: number; needed: number }): string | null {
  if (c.covered) return null;
  return msg('errors:offer.poolShort', { name, needed: c.needed, pool: c.pool });
}
