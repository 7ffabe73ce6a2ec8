// The billing engine's catalog: what a seller offers on monthly or term billing (packages,
// add-ons, quantities) and its extra chatbot sessions. The platform sells to agencies, an agency
// (with the reselling module) to its sub-accounts; both through the packages API.
import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { addonModules, billingKinds, billingPackages, currencies, quantityUnits } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { MAX_PRICE_MINOR } from '../lib/money';
import { checkbox, name, parse, wholeNumber } from '../lib/validation';
import { requireReselling } from '../packages/packages.usecases';

export type BillingPackage = typeof billingPackages.$inferSelect;
export const BILLING_PACKAGE_PREFIX = 'bpk';
export const isBillingPackageId = (id: string) => id.startsWith(`${BILLING_PACKAGE_PREFIX}_`);

const count = (label: string) => wholeNumber(label, 0, 100_000_000).default(0);

const fields = {
  name: name('Name'),
  kind: z.enum(billingKinds, { error: `kind must be one of ${billingKinds.join(', ')}.` }).default('package'),
  billing: z.enum(['monthly', 'term', 'one_off'], { error: 'billing must be "monthly" or "term".' }).optional(),
  termMonths: z.union([z.null(), z.literal(3), z.literal(6), z.literal(12)], { error: 'termMonths must be 3, 6 or 12.' }).optional(),
  monthlyPriceMinor: wholeNumber('monthlyPriceMinor', 1, MAX_PRICE_MINOR),
  currency: z.enum(currencies, { error: `currency must be one of ${currencies.join(', ')}.` }),
  chatbotSessions: count('chatbotSessions'),
  representatives: count('representatives'),
  whatsappChannels: count('whatsappChannels'),
  instagramChannels: count('instagramChannels'),
  messengerChannels: count('messengerChannels'),
  modules: z.array(z.enum(addonModules, { error: `modules: each one of ${addonModules.join(', ')}.` })).max(addonModules.length).default([]),
  unit: z.enum(quantityUnits, { error: `unit must be one of ${quantityUnits.join(', ')}.` }).nullable().optional(),
  published: checkbox.default(true),
};

/** The shape rules between fields: term months only for terms, a unit only for quantities... */
function shapeRule(v: { kind: string; billing?: string | undefined; termMonths?: number | null | undefined; unit?: string | null | undefined; chatbotSessions: number; modules: string[] }, ctx: z.RefinementCtx): void {
  const add = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (v.kind === 'extra_sessions') {
    if (v.billing && v.billing !== 'one_off') add('billing', 'Extra sessions are a one-off purchase: leave billing out.');
    if (v.chatbotSessions < 1) add('chatbotSessions', 'Extra sessions need the number of sessions in one block (chatbotSessions, 1 or more).');
  } else if (!v.billing || v.billing === 'one_off') {
    add('billing', 'billing must be "monthly" or "term".');
  }
  if (v.billing === 'term' && !v.termMonths) add('termMonths', 'A term package needs termMonths: 3, 6 or 12.');
  if (v.billing !== 'term' && v.termMonths) add('termMonths', 'Only term packages have termMonths.');
  if (v.kind === 'quantity' && !v.unit) add('unit', `A quantity item needs a unit: ${quantityUnits.join(', ')}.`);
  if (v.kind !== 'quantity' && v.unit) add('unit', 'Only quantity items have a unit.');
  if (v.kind === 'addon' && v.modules.length === 0) add('modules', 'An add-on needs at least one module.');
}

export const createBillingPackageSchema = z.object(fields).superRefine(shapeRule);

/** The seller the actor acts for: null for the platform, or its agency (which needs the reselling module). */
async function sellerOf(deps: Deps, actor: Actor): Promise<string | null> {
  requireRole(actor, 'admin');
  if (actor.scope === 'platform') return null;
  if (actor.scope === 'agency') return requireReselling(deps, actor);
  throw errors.wrongScope('platform or agency');
}

export async function createBillingPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<BillingPackage> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const input = parse(createBillingPackageSchema, params.input);
  const now = deps.clock.now();
  const billing = input.kind === 'extra_sessions' ? 'one_off' : input.billing!;
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(billingPackages)
      .values({
        id: newId(BILLING_PACKAGE_PREFIX), sellerAgencyId, name: input.name, kind: input.kind, billing, termMonths: billing === 'term' ? input.termMonths! : null,
        monthlyPriceMinor: input.monthlyPriceMinor, currency: input.currency, chatbotSessions: input.chatbotSessions, representatives: input.representatives,
        whatsappChannels: input.whatsappChannels, instagramChannels: input.instagramChannels, messengerChannels: input.messengerChannels,
        modules: [...new Set(input.modules)], unit: input.kind === 'quantity' ? input.unit! : null, published: input.published, createdAt: now, updatedAt: now,
      })
      .returning();
    await recordAudit(tx, params.actor, { action: 'billing_package.created', targetType: 'billing_package', targetId: row!.id, data: { ...input } }, now);
    return row!;
  });
}

const updateSchema = z.object({ name: fields.name.optional(), monthlyPriceMinor: fields.monthlyPriceMinor.optional(), published: checkbox.optional() }).strict();

/**
 * A seller edits an item's name, price or visibility. Subscriptions keep the terms they started
 * with; a new price applies to new subscriptions only.
 */
export async function updateBillingPackage(deps: Deps, params: { actor: Actor; packageId: string; input: unknown }): Promise<BillingPackage> {
  const sellerAgencyId = await sellerOf(deps, params.actor);
  const current = await sellerPackage(deps, sellerAgencyId, params.packageId);
  const patch = parse(updateSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.update(billingPackages).set({ ...patch, updatedAt: now }).where(eq(billingPackages.id, current.id)).returning();
    await recordAudit(tx, params.actor, { action: 'billing_package.updated', targetType: 'billing_package', targetId: current.id, data: patch }, now);
    return row!;
  });
}

async function sellerPackage(deps: Pick<Deps, 'db'>, sellerAgencyId: string | null, id: string): Promise<BillingPackage> {
  const [row] = await deps.db
    .select()
    .from(billingPackages)
    .where(and(eq(billingPackages.id, id), sellerAgencyId ? eq(billingPackages.sellerAgencyId, sellerAgencyId) : isNull(billingPackages.sellerAgencyId), isNull(billingPackages.archivedAt)));
  if (!row) throw errors.notFound('Package');
  return row;
}

/**
 * Billing packages the actor sees: a seller its own (all), a buyer its seller's published ones
 * (an agency: the platform's, when `asBuyer`; a sub-account: its agency's).
 */
export async function listBillingPackages(deps: Pick<Deps, 'db'>, params: { actor: Actor; asBuyer?: boolean }): Promise<BillingPackage[]> {
  const { actor } = params;
  const seller = sellerScopeOf(actor, params.asBuyer ?? actor.scope === 'sub_account');
  return deps.db
    .select()
    .from(billingPackages)
    .where(and(seller.id ? eq(billingPackages.sellerAgencyId, seller.id) : isNull(billingPackages.sellerAgencyId), isNull(billingPackages.archivedAt), seller.publishedOnly ? eq(billingPackages.published, true) : undefined))
    .orderBy(asc(billingPackages.kind), asc(billingPackages.billing), asc(billingPackages.monthlyPriceMinor), asc(billingPackages.id));
}

function sellerScopeOf(actor: Actor, asBuyer: boolean): { id: string | null; publishedOnly: boolean } {
  if (actor.scope === 'platform') return { id: null, publishedOnly: false };
  if (actor.scope === 'sub_account') return { id: actor.agencyId!, publishedOnly: true };
  return asBuyer ? { id: null, publishedOnly: true } : { id: actor.agencyId!, publishedOnly: false };
}

/** One billing package the actor may see (as seller or buyer); any other id is not found. */
export async function getBillingPackage(deps: Pick<Deps, 'db'>, params: { actor: Actor; packageId: string }): Promise<BillingPackage> {
  const { actor, packageId } = params;
  const [row] = await deps.db.select().from(billingPackages).where(and(eq(billingPackages.id, packageId), isNull(billingPackages.archivedAt)));
  if (!row) throw errors.notFound('Package');
  const own = actor.scope === 'platform' ? row.sellerAgencyId === null : actor.scope === 'agency' && row.sellerAgencyId === actor.agencyId;
  const buyable = row.published && (actor.scope === 'sub_account' ? row.sellerAgencyId === actor.agencyId : actor.scope === 'agency' && row.sellerAgencyId === null);
  if (!own && !buyable) throw errors.notFound('Package');
  return row;
}
