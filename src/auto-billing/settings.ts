// Auto-billing settings: who has it on, with which cap, card and notification addresses; what
// the seller offers to buy; the month's spending. The decision is src/auto-billing/decision.ts,
// the charge src/auto-billing/charge.ts.
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  agencies, autoBillingCharges, autoBillingSettings, paymentMethods, platform,
} from '../../db/schema';
import type { DbOrTx } from '../../db/client';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import { chatbotSlotOffer, offersOf } from '../catalog/offers';
import type { AccountOwner } from '../credits/ledger';
import type { Deps } from '../deps';
import { AppError, ValidationError } from '../lib/errors';
import { MAX_PRICE_MINOR } from '../lib/money';
import { msg } from '../lib/message';
import { parse } from '../lib/validation';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';
import type { TopupPackage } from './select-topups';

export type AutoBillingSettings = typeof autoBillingSettings.$inferSelect;
export type AutoBillingCharge = typeof autoBillingCharges.$inferSelect;

export const ownerKeyOf = (o: AccountOwner): string => (o.subAccountId ? `sub:${o.subAccountId}` : `agency:${o.agencyId}`);

export async function getAutoBillingSettings(deps: Pick<Deps, 'db'>, owner: AccountOwner): Promise<AutoBillingSettings> {
  const [row] = await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, ownerKeyOf(owner)));
  return row ?? {
    ownerKey: ownerKeyOf(owner), agencyId: owner.agencyId, subAccountId: owner.subAccountId, enabled: false, monthlyCapMinor: null, currency: null, paymentMethodId: null,
    notifyEmails: [], consecutiveDeclines: 0, retryAfter: null, disabledReason: null, updatedAt: new Date(0),
  };
}

// ---------------------------------------------------------------------------------------------
// What a seller offers

export interface Offer {
  /** Credit top-ups (platform: its top-up packages; agency: its published credit packages). */
  packages: (TopupPackage & { currency: string; name: string })[];
  /** Chatbot slots (platform only). */
  slotPriceMinor: number;
  currency: string;
  timeZone: string;
}

export async function offerOf(deps: { db: DbOrTx }, owner: AccountOwner, currency: string | null): Promise<Offer> {
  if (!owner.subAccountId) {
    const [p] = await deps.db.select().from(platform).limit(1);
    const rows = await offersOf(deps.db, null, { kinds: ['topup'], publishedOnly: true });
    const slot = await chatbotSlotOffer(deps.db);
    const cur = currency ?? p?.currency ?? 'USD';
    return {
      packages: rows
        .filter((r) => r.version.currency === cur)
        .map((r) => ({ id: r.id, credits: r.version.credits, priceMinor: r.version.priceMinor, currency: r.version.currency, name: `${r.version.credits.toLocaleString('en-US')} credits` })),
      slotPriceMinor: slot && slot.version.currency === cur ? slot.version.priceMinor : 0,
      currency: cur,
      timeZone: p?.timeZone || 'Europe/Istanbul',
    };
  }
  const [agency] = await deps.db.select({ timeZone: agencies.timeZone }).from(agencies).where(eq(agencies.id, owner.agencyId));
  const rows = await creditPackagesOf(deps, owner.agencyId);
  const cur = currency ?? rows[0]?.currency ?? 'USD';
  return { packages: rows.filter((r) => r.currency === cur), slotPriceMinor: 0, currency: cur, timeZone: agency?.timeZone ?? 'Europe/Istanbul' };
}

/** An agency's published credit packages without chatbots: what its clients' auto-billing buys. */
async function creditPackagesOf(deps: { db: DbOrTx }, agencyId: string) {
  const rows = await offersOf(deps.db, agencyId, { kinds: ['credit_pack'], publishedOnly: true });
  return rows
    .filter((r) => r.version.chatbots === 0 && r.version.credits > 0)
    .map((r) => ({ id: r.id, credits: r.version.credits, priceMinor: r.version.priceMinor, currency: r.version.currency, name: r.version.name }));
}

/** Sub-account auto-billing exists only while the agency has it on and publishes a credit package. */
export async function subAccountsQualify(deps: Pick<Deps, 'db'>, agencyId: string): Promise<boolean> {
  const agencySettings = await getAutoBillingSettings(deps, { agencyId, subAccountId: null });
  return agencySettings.enabled && (await creditPackagesOf(deps, agencyId)).length > 0;
}

// ---------------------------------------------------------------------------------------------
// Settings

export const settingsSchema = z.object({
  enabled: z.boolean({ error: 'enabled must be true or false.' }),
  monthlyCapMinor: z
    .number({ error: 'monthlyCapMinor must be a whole number of minor units.' })
    .int('monthlyCapMinor must be a whole number of minor units.')
    .positive('The monthly cap must be more than zero.')
    .max(MAX_PRICE_MINOR, 'The monthly cap is too large.')
    .nullable()
    .optional(),
  currency: z.string().length(3, 'currency is a three-letter code.').toUpperCase().optional(),
  paymentMethodId: z.string().min(1).max(64).nullable().optional(),
  notifyEmails: z.array(z.email('Each notification address must be an email address.')).max(10, 'At most 10 notification addresses.').optional(),
});

export interface AutoBillingView {
  available: boolean;
  unavailableReason: string | null;
  settings: AutoBillingSettings;
  currency: string;
  spentThisMonthMinor: number;
  onInvoice: boolean;
}

const ownerOfActor = (actor: Actor): AccountOwner => {
  if (actor.scope === 'agency') return { agencyId: actor.agencyId!, subAccountId: null };
  if (actor.scope === 'sub_account') return { agencyId: actor.agencyId!, subAccountId: actor.subAccountId! };
  throw new AppError('wrong_scope', 403, 'This endpoint needs an agency or sub-account API key.');
};

export async function viewAutoBilling(deps: Pick<Deps, 'db' | 'clock' | 'config'>, actor: Actor): Promise<AutoBillingView> {
  requireBilling(actor);
  const owner = ownerOfActor(actor);
  const settings = await getAutoBillingSettings(deps, owner);
  const offer = await offerOf(deps, owner, settings.currency);
  const qualifies = owner.subAccountId ? await subAccountsQualify(deps, owner.agencyId) : true;
  const account = await getGatewayAccount(deps, owner.subAccountId ? owner.agencyId : null);
  const onInvoice = account ? !gatewayOf(deps, account).canChargeOffSession : false;
  return {
    available: qualifies,
    unavailableReason: qualifies ? null : 'Your provider does not offer automatic top-ups.',
    settings,
    currency: offer.currency,
    spentThisMonthMinor: await spentThisMonth(deps.db, settings.ownerKey, monthOf(deps.clock.now(), offer.timeZone)),
    onInvoice,
  };
}

/** GET/PUT /api/v1/auto-billing and the settings screens. */
export async function updateAutoBilling(deps: Deps, params: { actor: Actor; input: unknown }): Promise<AutoBillingView> {
  const { actor } = params;
  requireBilling(actor);
  requireRole(actor, 'admin');
  const owner = ownerOfActor(actor);
  const input = parse(settingsSchema, params.input);
  if (owner.subAccountId && !(await subAccountsQualify(deps, owner.agencyId))) {
    throw new AppError('auto_billing_unavailable', 403, 'Automatic top-ups are not offered by your provider (it needs auto-billing on and a published credit package).');
  }
  const current = await getAutoBillingSettings(deps, owner);
  const offer = await offerOf(deps, owner, input.currency ?? current.currency);
  if (input.currency && !offer.packages.length && !offer.slotPriceMinor) {
    throw new ValidationError({ currency: msg('errors:autoBilling.nothingSoldIn', { currency: input.currency }) });
  }
  const cap = input.monthlyCapMinor === undefined ? current.monthlyCapMinor : input.monthlyCapMinor;
  const fields: Record<string, string> = {};
  if (input.enabled && !cap) fields.monthlyCapMinor = 'Set a monthly cap before switching auto-billing on: it is never exceeded.';

  let methodId = input.paymentMethodId === undefined ? current.paymentMethodId : input.paymentMethodId;
  const sellerAccount = await getGatewayAccount(deps, owner.subAccountId ? owner.agencyId : null);
  const onInvoice = sellerAccount ? !gatewayOf(deps, sellerAccount).canChargeOffSession : false;
  if (methodId) {
    const [m] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.id, methodId), isNull(paymentMethods.deletedAt), owner.subAccountId ? eq(paymentMethods.buyerSubAccountId, owner.subAccountId) : and(eq(paymentMethods.buyerAgencyId, owner.agencyId), isNull(paymentMethods.buyerSubAccountId))));
    if (!m) fields.paymentMethodId = 'Choose one of your saved payment methods.';
  }
  if (input.enabled && !onInvoice && !methodId) {
    const [m] = await deps.db.select({ id: paymentMethods.id }).from(paymentMethods).where(and(isNull(paymentMethods.deletedAt), owner.subAccountId ? eq(paymentMethods.buyerSubAccountId, owner.subAccountId) : and(eq(paymentMethods.buyerAgencyId, owner.agencyId), isNull(paymentMethods.buyerSubAccountId)), sellerAccount ? eq(paymentMethods.gatewayAccountId, sellerAccount.id) : sql`false`)).limit(1);
    if (!m) fields.paymentMethodId = 'Save a payment method before switching auto-billing on.';
    methodId = null; // the default method is used
  }
  if (Object.keys(fields).length) throw new ValidationError(fields, Object.values(fields)[0]);

  const now = deps.clock.now();
  const values = {
    ownerKey: ownerKeyOf(owner), agencyId: owner.agencyId, subAccountId: owner.subAccountId, enabled: input.enabled, monthlyCapMinor: cap ?? null, currency: offer.currency,
    paymentMethodId: methodId ?? null, notifyEmails: input.notifyEmails ?? current.notifyEmails,
    // Switching on again starts afresh after automatic switch-off or declines.
    ...(input.enabled && !current.enabled ? { consecutiveDeclines: 0, retryAfter: null, disabledReason: null } : {}),
    updatedAt: now,
  };
  await deps.db.transaction(async (tx) => {
    await tx.insert(autoBillingSettings).values(values).onConflictDoUpdate({ target: autoBillingSettings.ownerKey, set: values });
    await recordAudit(tx, actor, { action: 'auto_billing.updated', targetType: 'auto_billing', targetId: values.ownerKey, data: { enabled: values.enabled, monthlyCapMinor: values.monthlyCapMinor, currency: values.currency } }, now);
  });
  return viewAutoBilling(deps, actor);
}

export async function listAutoBillingCharges(deps: Pick<Deps, 'db'>, actor: Actor): Promise<AutoBillingCharge[]> {
  requireBilling(actor);
  const owner = ownerOfActor(actor);
  return deps.db.select().from(autoBillingCharges).where(eq(autoBillingCharges.ownerKey, ownerKeyOf(owner))).orderBy(desc(autoBillingCharges.createdAt)).limit(200);
}

export const monthOf = (at: Date, zone: string) => DateTime.fromJSDate(at, { zone }).toFormat('yyyy-MM');

export async function spentThisMonth(db: DbOrTx, ownerKey: string, month: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<string>`coalesce(sum(${autoBillingCharges.amountMinor}), 0)` })
    .from(autoBillingCharges)
    .where(and(eq(autoBillingCharges.ownerKey, ownerKey), eq(autoBillingCharges.month, month), inArray(autoBillingCharges.status, ['pending', 'succeeded', 'on_invoice'])));
  return Number(row?.total ?? 0);
}

