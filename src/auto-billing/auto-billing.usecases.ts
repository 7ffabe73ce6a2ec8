import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { defineJob, noPayload } from '../queue/job';
import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  agencies, autoBillingCharges, autoBillingSettings, notifications, packages, packageVersions, paymentEvents, paymentMethods, payments, platform, subAccounts, topupPackages,
  type AutoBillingTrigger,
} from '../../db/schema';
import type { DbOrTx, Tx } from '../../db/client';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import { transferToSubAccount } from '../credits/credits.usecases';
import { creditAccount, lockAccount, type AccountOwner } from '../credits/ledger';
import { accountRecipients } from '../credits/low-balance';
import type { Deps } from '../deps';
import { AppError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { formatMoney, MAX_PRICE_MINOR } from '../lib/money';
import { parse } from '../lib/validation';
import { rowsOf } from '../lib/rows';
import { dispatchEmails, queueEmail } from '../mail/outbox';
import { GatewayTimeoutError, type ChargeResult } from '../payments/gateway';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';
import { listPaymentMethods } from '../payments/payment-methods';
import { selectTopups, type TopupPackage } from './select-topups';
import { chargeTopupOnAccount } from '../billing/account-charges';

export type AutoBillingSettings = typeof autoBillingSettings.$inferSelect;
export type AutoBillingCharge = typeof autoBillingCharges.$inferSelect;

export const ownerKeyOf = (o: AccountOwner): string => (o.subAccountId ? `sub:${o.subAccountId}` : `agency:${o.agencyId}`);

/** After the n-th decline in a row, no charge is tried for this long; the third switches it off. */
export const DECLINE_BACKOFF_MS = [0, 15 * 60_000, 60 * 60_000, 6 * 3600_000];
export const MAX_DECLINES = 3;
/** Immediate retries of a charge whose answer timed out (same idempotency key: one charge at most). */
const TIMEOUT_RETRIES = 2;

export async function getAutoBillingSettings(deps: Pick<Deps, 'db'>, owner: AccountOwner): Promise<AutoBillingSettings> {
  const [row] = await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, ownerKeyOf(owner)));
  return row ?? {
    ownerKey: ownerKeyOf(owner), agencyId: owner.agencyId, subAccountId: owner.subAccountId, enabled: false, monthlyCapMinor: null, currency: null, paymentMethodId: null,
    notifyEmails: [], consecutiveDeclines: 0, retryAfter: null, disabledReason: null, updatedAt: new Date(0),
  };
}

// ---------------------------------------------------------------------------------------------
// What a seller offers

interface Offer {
  /** Credit top-ups (platform: its top-up packages; agency: its published credit packages). */
  packages: (TopupPackage & { currency: string; name: string })[];
  /** Chatbot slots (platform only). */
  slotPriceMinor: number;
  currency: string;
  timeZone: string;
}

async function offerOf(deps: { db: DbOrTx }, owner: AccountOwner, currency: string | null): Promise<Offer> {
  if (!owner.subAccountId) {
    const [p] = await deps.db.select().from(platform).limit(1);
    const rows = await deps.db.select().from(topupPackages).where(and(isNull(topupPackages.sellerAgencyId), isNull(topupPackages.archivedAt)));
    const cur = currency ?? p?.currency ?? 'USD';
    return {
      packages: rows.filter((r) => r.currency === cur).map((r) => ({ id: r.id, credits: r.credits, priceMinor: r.priceMinor, currency: r.currency, name: `${r.credits.toLocaleString('en-US')} credits` })),
      slotPriceMinor: p && p.currency === cur ? p.chatbotSlotPriceMinor : 0,
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
  const rows = await deps.db
    .select({ id: packages.id, credits: packageVersions.credits, priceMinor: packageVersions.priceMinor, currency: packageVersions.currency, name: packageVersions.name })
    .from(packages)
    .innerJoin(packageVersions, eq(packageVersions.id, packages.currentVersionId))
    .where(and(eq(packages.agencyId, agencyId), eq(packages.published, true), isNull(packages.archivedAt), eq(packageVersions.type, 'credit'), eq(packageVersions.chatbots, 0), sql`${packageVersions.credits} > 0`));
  return rows;
}

/** Sub-account auto-billing exists only while the agency has it on and publishes a credit package. */
export async function subAccountsQualify(deps: Pick<Deps, 'db'>, agencyId: string): Promise<boolean> {
  const agencySettings = await getAutoBillingSettings(deps, { agencyId, subAccountId: null });
  return agencySettings.enabled && (await creditPackagesOf(deps, agencyId)).length > 0;
}

// ---------------------------------------------------------------------------------------------
// Settings

const settingsSchema = z.object({
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
    throw new ValidationError({ currency: `Nothing is sold in ${input.currency}: the cap must be in the currency of the top-up packages.` });
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

// ---------------------------------------------------------------------------------------------
// The engine

const monthOf = (at: Date, zone: string) => DateTime.fromJSDate(at, { zone }).toFormat('yyyy-MM');

async function spentThisMonth(db: DbOrTx, ownerKey: string, month: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<string>`coalesce(sum(${autoBillingCharges.amountMinor}), 0)` })
    .from(autoBillingCharges)
    .where(and(eq(autoBillingCharges.ownerKey, ownerKey), eq(autoBillingCharges.month, month), inArray(autoBillingCharges.status, ['pending', 'succeeded', 'on_invoice'])));
  return Number(row?.total ?? 0);
}

export interface Need {
  owner: AccountOwner;
  /** Credits the operation needs in the account (not the deficit: the engine reads the balance). */
  credits: number;
  /** Free chatbot slots the agency needs (agencies only). */
  chatbots?: number;
  trigger: AutoBillingTrigger;
  reference: string;
  /**
   * The most the caller may wait for a charge (its own or one in flight). Past it ensureFunds
   * throws 402 topup_pending (retryAfterSeconds in the details) and the charge goes on without
   * the caller. Unset: wait for the gateway (background jobs, purchases).
   */
  maxWaitMs?: number;
}

const RETRY_AFTER_SECONDS = 2;
export const topupPending = () =>
  new AppError('topup_pending', 402, 'An automatic top-up is being charged for this account; retry in a few seconds.', { retryAfterSeconds: RETRY_AFTER_SECONDS });

export type EnsureResult = 'covered' | 'off';

async function available(deps: { db: DbOrTx; clock: Deps['clock'] }, owner: AccountOwner): Promise<{ credits: number; freeSlots: number }> {
  const now = deps.clock.now();
  const [acct] = rowsOf<{ balance: string }>(await deps.db.execute(sql`
    select coalesce(sum(l.remaining), 0) as balance
    from credit_accounts a join credit_lots l on l.account_id = a.id
    where a.agency_id = ${owner.agencyId} and ${owner.subAccountId ? sql`a.sub_account_id = ${owner.subAccountId}` : sql`a.sub_account_id is null`}
      and l.remaining > 0 and (l.expires_at is null or l.expires_at > ${now.toISOString()})`));
  let freeSlots = 0;
  if (!owner.subAccountId) {
    const [row] = await deps.db.select({ slots: agencies.chatbotSlots, used: sql<string>`(select coalesce(sum(chatbots), 0) from sub_accounts where agency_id = ${owner.agencyId})` }).from(agencies).where(eq(agencies.id, owner.agencyId));
    freeSlots = (row?.slots ?? 0) - Number(row?.used ?? 0);
  }
  return { credits: Number(acct?.balance ?? 0), freeSlots };
}

/**
 * Makes sure the account holds what an operation needs, buying the shortfall when auto-billing is
 * on: charge first, then grant, then notify. Concurrent shortages of one account share one charge
 * (one pending charge per account, enforced by a unique index). Returns 'off' when auto-billing is
 * not on (the operation fails as before); throws an AppError (402/503) when it is on but cannot buy.
 */
export async function ensureFunds(deps: Deps, need: Need): Promise<EnsureResult> {
  const deadline = need.maxWaitMs === undefined ? undefined : Date.now() + need.maxWaitMs;
  for (let round = 0; round < 4; round++) {
    const settings = await getAutoBillingSettings(deps, need.owner);
    if (!settings.enabled) return 'off';
    if (need.owner.subAccountId && !(await subAccountsQualify(deps, need.owner.agencyId))) return 'off';
    const step = await decide(deps, settings, need);
    if (step.kind === 'covered' || step.kind === 'off') return step.kind;
    if (step.kind === 'wait') {
      await waitForCharge(deps, step.charge.id, deadline);
      continue;
    }
    if (step.kind === 'deliver') {
      // Paid but not delivered yet (e.g. the pool was short at that instant): deliver, never buy again.
      await deliver(deps, step.charge.id, step.charge.status as 'succeeded' | 'on_invoice');
      continue;
    }
    if (step.kind === 'backoff') throw new AppError('auto_billing_backoff', 402, `Automatic top-up paused after a declined charge; next try after ${step.until.toISOString()}.`);
    if (step.kind === 'refuse') throw await refuse(deps, settings, need, step.code, step.message, step.extra);
    if (deadline === undefined) await runCharge(deps, step.charge, settings);
    else await chargeWithin(deps, step.charge, settings, deadline);
  }
  if (deadline !== undefined) throw topupPending();
  throw new AppError('auto_billing_pending', 503, 'An automatic top-up is still being processed; try again shortly.');
}

/**
 * Runs the charge, waiting for it until the deadline at most. A charge still running then goes on
 * in this process (and, should the process die, the reconciliation job resumes it); the caller
 * gets topup_pending and its retry finds the charge settled.
 */
async function chargeWithin(deps: Deps, charge: AutoBillingCharge, settings: AutoBillingSettings, deadline: number): Promise<void> {
  let late = false;
  const running = runCharge(deps, charge, settings);
  running.catch((err: unknown) => {
    if (late && !(err instanceof AppError)) deps.logger.error('automatic top-up failed after its request stopped waiting', { chargeId: charge.id, error: String(err) });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(0, deadline - Date.now()))));
  try {
    if ((await Promise.race([running.then(() => 'done' as const), timeout])) === 'late') {
      late = true;
      throw topupPending();
    }
  } finally {
    clearTimeout(timer);
  }
}

type Step =
  | { kind: 'covered' }
  | { kind: 'off' }
  | { kind: 'wait'; charge: AutoBillingCharge }
  | { kind: 'deliver'; charge: AutoBillingCharge }
  | { kind: 'charge'; charge: AutoBillingCharge }
  | { kind: 'backoff'; until: Date }
  | { kind: 'refuse'; code: string; message: string; extra: { month?: string; amountMinor?: number; currency?: string } };

/**
 * One decision under the account's settings row lock: is a charge in flight, is anything still
 * missing, may we buy it (back-off, cap), and if so the pending charge is inserted. Deciding
 * under the lock means two requests can never both see "nothing in flight, balance short" and
 * charge twice; the gateway call itself happens after the lock is released.
 */
async function decide(deps: Deps, settings: AutoBillingSettings, need: Need): Promise<Step> {
  const offer = await offerOf(deps, need.owner, settings.currency);
  const now = deps.clock.now();
  const month = monthOf(now, offer.timeZone);
  return deps.db.transaction(async (tx): Promise<Step> => {
    const [locked] = await tx.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, settings.ownerKey)).for('update');
    if (!locked?.enabled) return { kind: 'off' };
    const inFlight = await pendingCharge({ db: tx }, settings.ownerKey);
    if (inFlight) return inFlight.status === 'pending' ? { kind: 'wait', charge: inFlight } : { kind: 'deliver', charge: inFlight };
    const have = await available({ db: tx, clock: deps.clock }, need.owner);
    const deficitCredits = Math.max(0, need.credits - have.credits);
    const deficitChatbots = Math.max(0, (need.chatbots ?? 0) - have.freeSlots);
    if (deficitCredits === 0 && deficitChatbots === 0) return { kind: 'covered' };
    if (locked.retryAfter && locked.retryAfter > now) return { kind: 'backoff', until: locked.retryAfter };

    let items: AutoBillingCharge['items'] = [];
    let credits = 0;
    if (deficitCredits > 0) {
      if (offer.packages.length === 0) return { kind: 'refuse', code: 'no_topup_packages', message: `No top-up package is on sale in ${offer.currency}.`, extra: { month } };
      const selection = selectTopups(deficitCredits, offer.packages);
      items = selection.items;
      credits = selection.totalCredits;
    }
    if (deficitChatbots > 0 && offer.slotPriceMinor <= 0) return { kind: 'refuse', code: 'not_for_sale', message: 'Chatbot slots are not for sale yet.', extra: { month } };
    const amountMinor = items.reduce((sum, i) => sum + i.priceMinor, 0) + deficitChatbots * offer.slotPriceMinor;
    const spent = await spentThisMonth(tx, settings.ownerKey, month);
    if (locked.monthlyCapMinor !== null && spent + amountMinor > locked.monthlyCapMinor) {
      return {
        kind: 'refuse', code: 'auto_billing_cap_reached',
        message: `The monthly auto-billing cap of ${formatMoney(locked.monthlyCapMinor, offer.currency, 'en')} would be exceeded (spent ${formatMoney(spent, offer.currency, 'en')}, this top-up ${formatMoney(amountMinor, offer.currency, 'en')}).`,
        extra: { month, amountMinor, currency: offer.currency },
      };
    }
    const [row] = await tx
      .insert(autoBillingCharges)
      .values({
        id: newId('abc'), ownerKey: settings.ownerKey, agencyId: need.owner.agencyId, subAccountId: need.owner.subAccountId, trigger: need.trigger, reference: need.reference,
        deficitCredits, deficitChatbots, credits, chatbots: deficitChatbots, items, amountMinor, currency: offer.currency, status: 'pending', month, createdAt: now,
      })
      .returning();
    return { kind: 'charge', charge: row! };
  });
}

/** The account's charge in flight: pending at the gateway, or paid and not yet delivered. */
async function pendingCharge(deps: { db: DbOrTx }, ownerKey: string): Promise<AutoBillingCharge | undefined> {
  const [row] = await deps.db
    .select()
    .from(autoBillingCharges)
    .where(and(eq(autoBillingCharges.ownerKey, ownerKey), sql`(${autoBillingCharges.status} = 'pending' or (${autoBillingCharges.status} in ('succeeded', 'on_invoice') and ${autoBillingCharges.deliveredAt} is null))`))
    .limit(1);
  return row;
}

/** Waits (polling) until a pending charge is settled, up to the gateway's timeout and retries. */
async function waitForCharge(deps: Deps, id: string, callerDeadline?: number): Promise<void> {
  const deadline = callerDeadline ?? Date.now() + deps.config.gatewayTimeoutMs * (TIMEOUT_RETRIES + 1) + 2_000;
  while (Date.now() < deadline) {
    const [row] = await deps.db.select({ status: autoBillingCharges.status, deliveredAt: autoBillingCharges.deliveredAt }).from(autoBillingCharges).where(eq(autoBillingCharges.id, id));
    if (!row || row.status !== 'pending') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (callerDeadline !== undefined) throw topupPending();
  throw new AppError('auto_billing_pending', 503, 'An automatic top-up is still being processed; try again shortly.');
}

/**
 * Records a refusal (cap reached, nothing to buy) once per account, reason and month, with one
 * notice and email; returns the error the operation fails with.
 */
async function refuse(deps: Deps, settings: AutoBillingSettings, need: Need, code: string, message: string, extra: { month?: string; amountMinor?: number; currency?: string } = {}): Promise<AppError> {
  const now = deps.clock.now();
  const month = extra.month ?? monthOf(now, 'UTC');
  const already = await deps.db
    .select({ id: autoBillingCharges.id })
    .from(autoBillingCharges)
    .where(and(eq(autoBillingCharges.ownerKey, settings.ownerKey), eq(autoBillingCharges.status, 'refused'), eq(autoBillingCharges.month, month), eq(autoBillingCharges.failureReason, code)))
    .limit(1);
  if (already.length === 0) {
    const mailIds = await deps.db.transaction(async (tx) => {
      await tx.insert(autoBillingCharges).values({
        id: newId('abc'), ownerKey: settings.ownerKey, agencyId: need.owner.agencyId, subAccountId: need.owner.subAccountId, trigger: need.trigger, reference: need.reference,
        amountMinor: extra.amountMinor ?? 0, currency: extra.currency ?? settings.currency ?? 'USD', status: 'refused', failureReason: code, month, createdAt: now, completedAt: now,
      });
      return [await notify(tx, settings, need.owner, 'auto_billing_refused', `Automatic top-up not made: ${message}`, { code }, now, `auto-refused:${settings.ownerKey}:${month}:${code}`)];
    });
    await dispatchEmails(deps.queue, mailIds);
  }
  return new AppError(code, 402, message);
}

async function runCharge(deps: Deps, charge: AutoBillingCharge, settings: AutoBillingSettings): Promise<void> {
  const owner: AccountOwner = { agencyId: charge.agencyId, subAccountId: charge.subAccountId };
  // A client's credits come out of its agency's pool: the pool is made ready first (itself
  // auto-billed when the agency has it on), so the client is never charged for credits that
  // cannot be delivered.
  if (owner.subAccountId && charge.credits > 0) {
    try {
      const pool = await ensureFunds(deps, { owner: { agencyId: owner.agencyId, subAccountId: null }, credits: charge.credits, trigger: 'purchase', reference: `auto:${charge.id}` });
      const have = await available(deps, { agencyId: owner.agencyId, subAccountId: null });
      if (pool === 'off' && have.credits < charge.credits) throw new AppError('provider_out_of_credits', 402, 'Your provider is out of credits; the automatic top-up was not charged.');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await finish(deps, charge.id, 'failed', `provider_out_of_credits: ${reason}`);
      if (err instanceof AppError && err.code === 'provider_out_of_credits') throw err;
      if (!(err instanceof AppError)) throw err;
      // The agency's own auto-billing could not top up its pool: the client is not charged.
      throw new AppError('provider_out_of_credits', 402, 'Your provider is out of credits; the automatic top-up was not charged.');
    }
  }

  const sellerAgencyId = owner.subAccountId ? owner.agencyId : null;
  const account = await getGatewayAccount(deps, sellerAgencyId);
  if (!account) {
    await finish(deps, charge.id, 'failed', 'payments_not_configured');
    throw new AppError('payments_not_configured', 402, 'The seller has no payment system: the automatic top-up could not be charged.');
  }
  const gateway = gatewayOf(deps, account);
  if (!gateway.canChargeOffSession) {
    // NestPay 3D_PAY cannot charge without the card holder: the top-up goes on the open invoice.
    await deliver(deps, charge.id, 'on_invoice');
    return;
  }
  const method = await chargeableMethod(deps, settings, owner);
  if (!method) {
    await finish(deps, charge.id, 'failed', 'no_payment_method');
    throw new AppError('payment_method_required', 402, 'No saved payment method to charge for the automatic top-up.');
  }
  const now = deps.clock.now();
  const paymentId = newId('pay');
  const idempotencyKey = `auto:${charge.id}`;
  await deps.db.transaction(async (tx) => {
    await tx.insert(payments).values({
      id: paymentId, sellerAgencyId, buyerAgencyId: owner.agencyId, buyerSubAccountId: owner.subAccountId, purpose: 'auto_topup', referenceId: charge.id,
      amountMinor: charge.amountMinor, currency: charge.currency as 'USD', gateway: account.kind, gatewayAccountId: account.id, paymentMethodId: method.id, idempotencyKey, createdAt: now,
    });
    await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId, fromStatus: null, toStatus: 'pending', createdAt: now });
    await tx.update(autoBillingCharges).set({ paymentId, paymentMethodId: method.id }).where(eq(autoBillingCharges.id, charge.id));
  });
  const [payment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
  const result = await chargeWithRetries(deps, () =>
    gateway.chargeOffSession({ payment: payment!, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey, description: describe(charge) }),
  );
  if (result === 'timeout') throw new AppError('auto_billing_pending', 503, 'The payment system did not answer in time; the top-up will be completed once it does (never charged twice).');
  await settleCharge(deps, charge.id, result);
  if (result.status !== 'succeeded') {
    const [after] = await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, settings.ownerKey));
    throw new AppError('auto_billing_declined', 402, `The automatic top-up was declined: ${result.reason}.${after && !after.enabled ? ' Auto-billing is now switched off.' : ''}`);
  }
}

async function chargeWithRetries(deps: Deps, charge: () => Promise<ChargeResult>): Promise<ChargeResult | 'timeout'> {
  for (let attempt = 0; attempt <= TIMEOUT_RETRIES; attempt++) {
    try {
      return await charge();
    } catch (err) {
      if (!(err instanceof GatewayTimeoutError)) throw err;
      deps.logger.warn('auto-billing charge timed out; retrying with the same idempotency key', { attempt });
    }
  }
  return 'timeout';
}

async function chargeableMethod(deps: Pick<Deps, 'db'>, settings: AutoBillingSettings, owner: AccountOwner) {
  const methods = await listPaymentMethods(deps, { agencyId: owner.agencyId, subAccountId: owner.subAccountId, sellerAgencyId: owner.subAccountId ? owner.agencyId : null });
  return methods.find((m) => m.id === settings.paymentMethodId) ?? methods[0];
}

const describe = (c: Pick<AutoBillingCharge, 'credits' | 'chatbots'>) =>
  [c.credits > 0 ? `${c.credits.toLocaleString('en-US')} credits` : null, c.chatbots > 0 ? `${c.chatbots} chatbot slot(s)` : null].filter(Boolean).join(' and ') || 'top-up';

/** Records the gateway's answer: success delivers; a decline backs off and, the third time, switches off. */
export async function settleCharge(deps: Deps, chargeId: string, result: ChargeResult): Promise<void> {
  const now = deps.clock.now();
  const [charge] = await deps.db.select().from(autoBillingCharges).where(eq(autoBillingCharges.id, chargeId));
  if (!charge || charge.status !== 'pending') return;
  if (result.status === 'succeeded') {
    await deps.db.transaction(async (tx) => {
      if (charge.paymentId) {
        await tx.update(payments).set({ status: 'confirmed', confirmedAt: now, gatewayReference: result.gatewayReference }).where(and(eq(payments.id, charge.paymentId), eq(payments.status, 'pending')));
        await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: charge.paymentId, fromStatus: 'pending', toStatus: 'confirmed', raw: result.raw, createdAt: now });
      }
      await tx.update(autoBillingCharges).set({ status: 'succeeded', completedAt: now }).where(and(eq(autoBillingCharges.id, charge.id), eq(autoBillingCharges.status, 'pending')));
      await tx.update(autoBillingSettings).set({ consecutiveDeclines: 0, retryAfter: null }).where(eq(autoBillingSettings.ownerKey, charge.ownerKey));
    });
    await deliver(deps, charge.id, 'succeeded');
    return;
  }
  const mailIds = await deps.db.transaction(async (tx) => {
    if (charge.paymentId) {
      await tx.update(payments).set({ status: 'failed', failureReason: result.reason }).where(and(eq(payments.id, charge.paymentId), eq(payments.status, 'pending')));
      await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: charge.paymentId, fromStatus: 'pending', toStatus: 'failed', raw: result.raw, createdAt: now });
    }
    await tx.update(autoBillingCharges).set({ status: 'declined', failureReason: result.reason, completedAt: now }).where(and(eq(autoBillingCharges.id, charge.id), eq(autoBillingCharges.status, 'pending')));
    const [s] = await tx.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, charge.ownerKey)).for('update');
    if (!s) return [];
    const declines = s.consecutiveDeclines + 1;
    const off = declines >= MAX_DECLINES;
    await tx.update(autoBillingSettings).set({
      consecutiveDeclines: declines,
      retryAfter: new Date(now.getTime() + (DECLINE_BACKOFF_MS[Math.min(declines, DECLINE_BACKOFF_MS.length - 1)] ?? 0)),
      ...(off ? { enabled: false, disabledReason: `Switched off after ${declines} declined charges in a row (last: ${result.reason}).` } : {}),
      updatedAt: now,
    }).where(eq(autoBillingSettings.ownerKey, s.ownerKey));
    const owner = { agencyId: charge.agencyId, subAccountId: charge.subAccountId };
    const message = off
      ? `Automatic top-up declined (${result.reason}) for the ${declines}th time in a row: auto-billing is now switched off. Update your payment method and switch it on again.`
      : `Automatic top-up of ${describe(charge)} for ${formatMoney(charge.amountMinor, charge.currency, 'en')} was declined (${result.reason}). Next try in ${Math.round((DECLINE_BACKOFF_MS[declines] ?? 0) / 60_000)} minutes at the earliest.`;
    return [await notify(tx, s, owner, off ? 'auto_billing_disabled' : 'auto_billing_declined', message, { chargeId: charge.id, declines }, now, `auto-declined:${charge.id}`)];
  });
  await dispatchEmails(deps.queue, mailIds);
}

async function finish(deps: Pick<Deps, 'db' | 'clock'>, chargeId: string, status: 'failed', reason: string): Promise<void> {
  await deps.db.update(autoBillingCharges).set({ status, failureReason: reason, completedAt: deps.clock.now() }).where(and(eq(autoBillingCharges.id, chargeId), eq(autoBillingCharges.status, 'pending')));
}

/**
 * Grants what a charge bought, once (ledger idempotency key `auto:<charge id>`), and notifies.
 * `status` is what the charge becomes: succeeded (charged) or on_invoice (added to the open invoice).
 */
async function deliver(deps: Deps, chargeId: string, status: 'succeeded' | 'on_invoice'): Promise<void> {
  const now = deps.clock.now();
  const mailIds = await deps.db.transaction(async (tx) => {
    const [charge] = await tx.select().from(autoBillingCharges).where(eq(autoBillingCharges.id, chargeId)).for('update');
    if (!charge || charge.deliveredAt) return [];
    const ids: (string | null)[] = [];
    const key = `auto:${charge.id}`;
    if (charge.subAccountId) {
      if (charge.credits > 0) {
        const r = await transferToSubAccount(tx, { agencyId: charge.agencyId, subAccountId: charge.subAccountId, credits: charge.credits, source: 'topup', reason: 'grant', reference: key, idempotencyKey: key, note: 'Automatic top-up' }, now);
        ids.push(...r.mailIds);
      }
    } else {
      if (charge.credits > 0) {
        const pool = await lockAccount(tx, { agencyId: charge.agencyId, subAccountId: null }, now);
        await creditAccount(tx, pool, { amount: charge.credits, source: 'topup', reason: 'grant', reference: key, idempotencyKey: key, note: 'Automatic top-up from the platform' }, now);
      }
      if (charge.chatbots > 0) await tx.update(agencies).set({ chatbotSlots: sql`${agencies.chatbotSlots} + ${charge.chatbots}`, updatedAt: now }).where(eq(agencies.id, charge.agencyId));
    }
    // On the open invoice: the cut bills it with the month's invoice, in full.
    if (status === 'on_invoice' && charge.amountMinor > 0) {
      await chargeTopupOnAccount(tx, { agencyId: charge.agencyId, subAccountId: charge.subAccountId, description: `Automatic top-up: ${describe(charge)}`, quantity: 1, unitPriceMinor: charge.amountMinor, currency: charge.currency as 'TRY' | 'USD' | 'EUR', now });
    }
    await tx.update(autoBillingCharges).set({ status, completedAt: charge.completedAt ?? now, deliveredAt: now }).where(eq(autoBillingCharges.id, charge.id));
    const [s] = await tx.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, charge.ownerKey));
    const why = { purchase: 'a purchase needed more than was available', monthly_grant: 'a monthly grant needed more than was available', agency_usage: 'your chatbot ran out of credits', sub_account_usage: 'your chatbot ran out of credits' }[charge.trigger];
    const how = status === 'on_invoice' ? 'added to your open invoice' : 'charged to your saved card';
    const message = `Automatic top-up: bought ${describe(charge)} for ${formatMoney(charge.amountMinor, charge.currency, 'en')} (${how}) because ${why}.`;
    if (s) ids.push(await notify(tx, s, { agencyId: charge.agencyId, subAccountId: charge.subAccountId }, 'auto_billing_charged', message, { chargeId: charge.id, status }, now, `auto-charged:${charge.id}`));
    return ids;
  });
  await dispatchEmails(deps.queue, mailIds);
}

/** One in-app notice and one email (to the notification addresses, else the account's billing contacts). */
async function notify(tx: Tx, s: AutoBillingSettings, owner: AccountOwner, kind: string, message: string, data: Record<string, unknown>, now: Date, key: string): Promise<string | null> {
  await tx.insert(notifications).values({ id: newId('ntf'), agencyId: owner.agencyId, subAccountId: owner.subAccountId, kind, message, data, createdAt: now });
  const fallback = await accountRecipients(tx, owner.agencyId, owner.subAccountId);
  const to = s.notifyEmails.length ? s.notifyEmails : fallback.to;
  if (to.length === 0) return null;
  return queueEmail(tx, { idempotencyKey: key, agencyId: owner.agencyId, at: now, message: { to, cc: s.notifyEmails.length ? [] : fallback.cc, subject: `Auto-billing: ${fallback.name}`, text: `${message}\n` } });
}

/**
 * Reconciliation (tick): a charge left pending by a timeout or a crash is sent again with the same
 * idempotency key (the gateway answers with the first result: never two charges), and a charge paid
 * but not delivered is delivered.
 */
export async function reconcileAutoBilling(deps: Deps): Promise<{ resumed: number; delivered: number }> {
  const now = deps.clock.now();
  const stale = await deps.db.select().from(autoBillingCharges).where(and(eq(autoBillingCharges.status, 'pending'), sql`${autoBillingCharges.createdAt} < ${new Date(now.getTime() - 60_000).toISOString()}`)).limit(50);
  let resumed = 0;
  for (const charge of stale) {
    try {
      const account = await getGatewayAccount(deps, charge.subAccountId ? charge.agencyId : null);
      const [payment] = charge.paymentId ? await deps.db.select().from(payments).where(eq(payments.id, charge.paymentId)) : [];
      const [method] = charge.paymentMethodId ? await deps.db.select().from(paymentMethods).where(eq(paymentMethods.id, charge.paymentMethodId)) : [];
      if (!account || !payment || !method) {
        await finish(deps, charge.id, 'failed', 'interrupted before the charge was sent');
        continue;
      }
      const result = await gatewayOf(deps, account).chargeOffSession({ payment, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey: `auto:${charge.id}`, description: describe(charge) });
      await settleCharge(deps, charge.id, result);
      resumed += 1;
    } catch (err) {
      deps.logger.warn('auto-billing reconciliation could not settle a charge', { chargeId: charge.id, err: String(err) });
    }
  }
  let delivered = 0;
  const undelivered = await deps.db.select({ id: autoBillingCharges.id, status: autoBillingCharges.status }).from(autoBillingCharges).where(and(inArray(autoBillingCharges.status, ['succeeded', 'on_invoice']), isNull(autoBillingCharges.deliveredAt))).limit(50);
  for (const c of undelivered) {
    try {
      await deliver(deps, c.id, c.status as 'succeeded' | 'on_invoice');
      delivered += 1;
    } catch (err) {
      deps.logger.warn('auto-billing delivery failed; retried at the next tick', { chargeId: c.id, err: String(err) });
    }
  }
  return { resumed, delivered };
}

export const subAccountNames = async (deps: Pick<Deps, 'db'>, ids: string[]) =>
  new Map((ids.length ? await deps.db.select({ id: subAccounts.id, name: subAccounts.name }).from(subAccounts).where(inArray(subAccounts.id, ids)) : []).map((r) => [r.id, r.name]));

/** Charges left pending (a crash, a timeout) and paid top-ups not delivered: finished, once. */
export const autoBillingReconcileJob = defineJob({ name: 'auto-billing.reconcile', payload: noPayload, handle: (deps) => reconcileAutoBilling(deps) });
