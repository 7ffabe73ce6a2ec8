// The charge: ensureFunds decides under the account's lock (decision.ts), charges the seller's
// gateway, delivers what was bought and notifies; reconciliation finishes what a crash left.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { defineJob, noPayload } from '../queue/job';
import {
  agencies, autoBillingCharges, autoBillingSettings, paymentEvents, paymentMethods, payments, subAccounts, type AutoBillingTrigger,
} from '../../db/schema';
import type { DbOrTx, Tx } from '../../db/client';
import { transferToSubAccount } from '../credits/credits.usecases';
import { creditAccount, lockAccount, type AccountOwner } from '../credits/ledger';
import { accountName, accountRecipients } from '../credits/low-balance';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { newId } from '../lib/ids';
import { money, msg } from '../lib/message';
import { rowsOf } from '../lib/rows';
import { mailLanguage, mailWriter } from '../mail/language';
import { dispatchEmails } from '../mail/outbox';
import { notify as sendNotice } from '../notifications/notify';
import { GatewayTimeoutError, type ChargeResult, type Payment } from '../payments/gateway';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';
import { listPaymentMethods } from '../payments/payment-methods';
import { decideTopup } from './decision';
import { chargeTopupOnAccount } from '../billing/account-charges';
import { issuePaymentInvoice, offerRates } from '../billing/invoice-issue';
import { kontorText } from '../billing/line-text';
import { localize, tFor } from '../i18n/i18n';
import { buyerLanguage } from '../payments/checkout';
import { paymentTaxFields, quoteCheckout } from '../billing/checkout-amount';
import { emitEvent } from '../webhooks/emit';

import {
  getAutoBillingSettings, monthOf, offerOf, spentThisMonth, subAccountsQualify, type AutoBillingCharge, type AutoBillingSettings,
} from './settings';

/** After the n-th decline in a row, no charge is tried for this long; the third switches it off. */
export const DECLINE_BACKOFF_MS = [0, 15 * 60_000, 60 * 60_000, 6 * 3600_000];
export const MAX_DECLINES = 3;
/** Immediate retries of a charge whose answer timed out (same idempotency key: one charge at most). */
const TIMEOUT_RETRIES = 2;

// ---------------------------------------------------------------------------------------------
// The engine

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
    if (step.kind === 'backoff') throw new AppError('auto_billing_backoff', 402, msg('errors:autoBilling.backoff', { until: step.until.toISOString() }));
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
    const short = need.credits > have.credits || (need.chatbots ?? 0) > have.freeSlots;
    const decision = decideTopup({
      need: { credits: need.credits, chatbots: need.chatbots ?? 0 }, have, retryAfter: locked.retryAfter, now, offer,
      monthlyCapMinor: locked.monthlyCapMinor, spentThisMonthMinor: short ? await spentThisMonth(tx, settings.ownerKey, month) : 0,
    });
    if (decision.kind === 'covered' || decision.kind === 'backoff') return decision;
    if (decision.kind === 'refuse') {
      return { kind: 'refuse', code: decision.code, message: decision.message, extra: decision.code === 'auto_billing_cap_reached' ? { month, amountMinor: decision.amountMinor!, currency: offer.currency } : { month } };
    }
    const { deficitCredits, deficitChatbots, credits, items, amountMinor } = decision;
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
      return [await notify(tx, settings, need.owner, 'auto_billing_refused', msg('email:notice.autoBillingRefused', { reason: message }), { code }, now, `auto-refused:${settings.ownerKey}:${month}:${code}`)];
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
    // The card is charged the top-up's price with the tax a seller whose prices exclude it adds,
    // at the offer's rate (docs/tax.md); the cap counts the price.
    const firstOffer = charge.items[0]?.packageId;
    const rateBp = firstOffer ? ((await offerRates(tx, [firstOffer])).get(firstOffer) ?? null) : null;
    const amount = await quoteCheckout(tx, { buyerAgencyId: owner.agencyId, buyerSubAccountId: owner.subAccountId, rateBp, unitPriceMinor: charge.amountMinor });
    await tx.insert(payments).values({
      id: paymentId, sellerAgencyId, buyerAgencyId: owner.agencyId, buyerSubAccountId: owner.subAccountId, purpose: 'auto_topup', referenceId: charge.id,
      ...paymentTaxFields(amount), currency: charge.currency as 'USD', gateway: account.kind, gatewayAccountId: account.id, paymentMethodId: method.id, idempotencyKey, createdAt: now,
    });
    await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId, fromStatus: null, toStatus: 'pending', createdAt: now });
    await tx.update(autoBillingCharges).set({ paymentId, paymentMethodId: method.id }).where(eq(autoBillingCharges.id, charge.id));
  });
  const [payment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
  const description = await gatewayText(deps, payment!, charge);
  const result = await chargeWithRetries(deps, () =>
    gateway.chargeOffSession({ payment: payment!, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey, description }),
  );
  if (result === 'timeout') throw new AppError('auto_billing_pending', 503, 'The payment system did not answer in time; the top-up will be completed once it does (never charged twice).');
  await settleCharge(deps, charge.id, result);
  if (result.status !== 'succeeded') {
    const [after] = await deps.db.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, settings.ownerKey));
    throw new AppError('auto_billing_declined', 402, msg(after && !after.enabled ? 'errors:autoBilling.declinedOff' : 'errors:autoBilling.declined', { reason: result.reason }));
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

/** What a charge bought, as a message ("2,000 credits and 1 chatbot slot"). */
const describe = (c: Pick<AutoBillingCharge, 'credits' | 'chatbots'>) => {
  const credits = c.credits > 0 ? msg('email:topup.credits', { count: c.credits }) : null;
  const chatbots = c.chatbots > 0 ? msg('email:topup.chatbots', { count: c.chatbots }) : null;
  return credits && chatbots ? msg('email:topup.both', { credits, chatbots }) : (credits ?? chatbots ?? 'email:topup.nothing');
};

/**
 * What the bank shows for the charge ("Otomatik yükleme: 2.000 kredi"): the invoice line's text, in
 * the language of the checkout pages (the seller's, else the buying agency's; docs/i18n.md).
 */
async function gatewayText(deps: Pick<Deps, 'db'>, payment: Payment, charge: Pick<AutoBillingCharge, 'credits' | 'chatbots'>): Promise<string> {
  return localize(tFor(await buyerLanguage(deps, payment)), msg('billing:line.autoTopup', { what: describe(charge) }));
}

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
      ...(off ? { enabled: false, disabledReason: msg('errors:autoBilling.switchedOff', { count: declines, reason: result.reason }) } : {}),
      updatedAt: now,
    }).where(eq(autoBillingSettings.ownerKey, s.ownerKey));
    const owner = { agencyId: charge.agencyId, subAccountId: charge.subAccountId };
    await emitEvent(tx, { type: 'auto_billing.failed', at: now, data: { account: owner, chargeId: charge.id, amountMinor: charge.amountMinor, currency: charge.currency, reason: result.reason, switchedOff: off } });
    const message = off
      ? msg('email:notice.autoBillingOff', { reason: result.reason, count: declines })
      : msg('email:notice.autoBillingDeclined', { what: describe(charge), amount: money(charge.amountMinor, charge.currency), reason: result.reason, minutes: Math.round((DECLINE_BACKOFF_MS[declines] ?? 0) / 60_000) });
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
        const r = await transferToSubAccount(tx, { agencyId: charge.agencyId, subAccountId: charge.subAccountId, credits: charge.credits, source: 'topup', reason: 'grant', reference: key, idempotencyKey: key, note: 'credits:note.autoTopup' }, now);
        ids.push(...r.mailIds);
      }
    } else {
      if (charge.credits > 0) {
        const pool = await lockAccount(tx, { agencyId: charge.agencyId, subAccountId: null }, now);
        await creditAccount(tx, pool, { amount: charge.credits, source: 'topup', reason: 'grant', reference: key, idempotencyKey: key, note: 'credits:note.autoTopupPlatform' }, now);
      }
      if (charge.chatbots > 0) await tx.update(agencies).set({ chatbotSlots: sql`${agencies.chatbotSlots} + ${charge.chatbots}`, updatedAt: now }).where(eq(agencies.id, charge.agencyId));
    }
    // On the open invoice: the cut bills it with the month's invoice, in full.
    if (status === 'on_invoice' && charge.amountMinor > 0) {
      // The invoice line is stored text: as issued, and as a message read in the reader's language (docs/i18n.md).
      await chargeTopupOnAccount(tx, { agencyId: charge.agencyId, subAccountId: charge.subAccountId, ...kontorText('billing:line.autoTopup', { what: describe(charge) }), quantity: 1, unitPriceMinor: charge.amountMinor, currency: charge.currency as 'TRY' | 'USD' | 'EUR', now });
    }
    // Charged to the card: the payment's paid invoice, like every payment taken (docs/tax.md; one
    // per payment, so a second delivery finds it). The delivery job emails it.
    // What the card was charged (the price with any tax added at checkout), for the notice.
    let chargedMinor = charge.amountMinor;
    if (status === 'succeeded' && charge.paymentId && charge.amountMinor > 0) {
      const [payment] = await tx.select().from(payments).where(eq(payments.id, charge.paymentId));
      if (payment) chargedMinor = payment.amountMinor;
      if (payment?.status === 'confirmed') {
        await issuePaymentInvoice(tx, { payment, now, lines: [{ kind: 'purchase', ...kontorText('billing:line.autoTopup', { what: describe(charge) }), quantity: 1, unitPriceMinor: charge.amountMinor, amountMinor: charge.amountMinor }] });
      }
    }
    await tx.update(autoBillingCharges).set({ status, completedAt: charge.completedAt ?? now, deliveredAt: now }).where(eq(autoBillingCharges.id, charge.id));
    await emitEvent(tx, { type: 'auto_billing.charged', at: now, data: { account: { agencyId: charge.agencyId, subAccountId: charge.subAccountId }, chargeId: charge.id, credits: charge.credits, chatbots: charge.chatbots, amountMinor: charge.amountMinor, currency: charge.currency, status } });
    const [s] = await tx.select().from(autoBillingSettings).where(eq(autoBillingSettings.ownerKey, charge.ownerKey));
    const why = `email:topup.why.${charge.trigger === 'sub_account_usage' ? 'agency_usage' : charge.trigger}`;
    const how = status === 'on_invoice' ? 'email:topup.onInvoice' : 'email:topup.charged';
    const message = msg('email:notice.autoBillingCharged', { what: describe(charge), amount: money(chargedMinor, charge.currency), how, why });
    if (s) ids.push(await notify(tx, s, { agencyId: charge.agencyId, subAccountId: charge.subAccountId }, 'auto_billing_charged', message, { chargeId: charge.id, status }, now, `auto-charged:${charge.id}`));
    return ids;
  });
  await dispatchEmails(deps.queue, mailIds);
}

/**
 * One in-app notice and one email (to the notification addresses, else the account's billing
 * contacts). The notice keeps the message (read later in its reader's language); the email is
 * written in its recipients' language.
 */
async function notify(tx: Tx, s: AutoBillingSettings, owner: AccountOwner, kind: string, message: string, data: Record<string, unknown>, now: Date, key: string): Promise<string | null> {
  const fallback = await accountRecipients(tx, owner.agencyId, owner.subAccountId);
  const to = s.notifyEmails.length ? s.notifyEmails : fallback.to;
  if (to.length === 0) return sendNotice(tx, { category: 'credits', kind, account: owner, at: now, inApp: { message, data } });
  const w = mailWriter(await mailLanguage(tx, owner.agencyId, to));
  return sendNotice(tx, {
    category: 'credits', kind, account: owner, at: now, inApp: { message, data },
    email: { idempotencyKey: key, message: { to, cc: s.notifyEmails.length ? [] : fallback.cc, subject: w.t('email:autoBilling.subject', { name: accountName(w, fallback) }), text: w.t('email:autoBilling.body', { notice: w.text(message) }) } },
  });
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
      const result = await gatewayOf(deps, account).chargeOffSession({ payment, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey: `auto:${charge.id}`, description: await gatewayText(deps, payment, charge) });
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
