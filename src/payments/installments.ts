// Installments (taksit, DESIGN section 10; docs/installments.md): a seller on NestPay or iyzico
// offers 2, 3, 6, 9 or 12 installments, each with an optional surcharge; the buyer picks one on
// Kontor's page before the gateway; the payment row keeps the count and the surcharge, and the
// amount charged includes it. Integers only: surcharges in hundredths of a percent, money in
// minor units.
import { and, eq, isNull } from 'drizzle-orm';
import { gatewayAccounts, paymentEvents, payments } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { AppError, ValidationError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { msg } from '../lib/message';
import { GatewayError, type Payment } from './gateway';
import { gatewayOf, getGatewayAccount, type GatewayAccount } from './gateway-accounts';

/** The counts Turkish card programmes (Bonus, World, Maximum, Axess, Paraf...) run on. */
export const installmentCounts = [2, 3, 6, 9, 12] as const;
export type InstallmentCount = (typeof installmentCounts)[number];
export const isInstallmentCount = (n: unknown): n is InstallmentCount => installmentCounts.includes(n as InstallmentCount);

/** Gateways whose protocol carries an installment count (NestPay `taksit`, iyzico `installment`). */
export const installmentGateways = ['nestpay', 'iyzico'] as const;
export const offersInstallments = (kind: string): boolean => (installmentGateways as readonly string[]).includes(kind);

/** Installments are a feature of Turkish lira card payments (banks run them on domestic cards only). */
export const INSTALLMENT_CURRENCY = 'TRY';

export interface InstallmentPlan {
  offers: { count: InstallmentCount; surchargeBp: number }[];
  /** The smallest amount (before surcharge, TRY minor units) that may be paid in installments. */
  minAmountMinor: number;
}

export const MAX_SURCHARGE_BP = 10_000;

// ---------------------------------------------------------------------------------------------
// Arithmetic

/** round-half-up(amount x bp / 10000), in BigInt so no product loses a digit. */
export function surchargeOf(amountMinor: number, surchargeBp: number): number {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) throw new RangeError(`not an amount in minor units: ${amountMinor}`);
  if (!Number.isSafeInteger(surchargeBp) || surchargeBp < 0 || surchargeBp > MAX_SURCHARGE_BP) throw new RangeError(`not a surcharge in hundredths of a percent: ${surchargeBp}`);
  const p = BigInt(amountMinor) * BigInt(surchargeBp);
  let q = p / 10_000n;
  if ((p % 10_000n) * 2n >= 10_000n) q += 1n;
  return Number(q);
}

/**
 * The installments as the bank splits a total: every one the whole part of total / count, the
 * last one absorbing the remainder (10000 in 3: 3333, 3333, 3334).
 */
export function splitInstallments(totalMinor: number, count: number): number[] {
  if (!Number.isSafeInteger(totalMinor) || totalMinor < 0) throw new RangeError(`not an amount in minor units: ${totalMinor}`);
  if (!Number.isSafeInteger(count) || count < 1 || count > 12) throw new RangeError(`not an installment count: ${count}`);
  const each = Math.floor(totalMinor / count);
  return [...Array.from({ length: count - 1 }, () => each), totalMinor - each * (count - 1)];
}

export interface InstallmentQuote {
  /** 1 for a single payment. */
  count: number;
  surchargeBp: number;
  surchargeMinor: number;
  totalMinor: number;
  /** First installment (all but the last are equal). */
  eachMinor: number;
  lastMinor: number;
}

export function quoteInstallments(amountMinor: number, count: number, surchargeBp: number): InstallmentQuote {
  const surchargeMinor = surchargeOf(amountMinor, surchargeBp);
  const totalMinor = amountMinor + surchargeMinor;
  const parts = splitInstallments(totalMinor, count);
  return { count, surchargeBp, surchargeMinor, totalMinor, eachMinor: parts[0]!, lastMinor: parts[parts.length - 1]! };
}

// ---------------------------------------------------------------------------------------------
// The seller's settings

/**
 * A surcharge typed by a person, in percent: "2.5", "2,50", "%3", "0". Empty is 0. From 0 to 100
 * with at most two decimals, read from its digits (never through a float). Returns hundredths of
 * a percent, or what is wrong as a key of the `installments` catalog.
 */
export function parseSurcharge(raw: unknown): number | string {
  let s = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw === undefined || raw === null ? '' : '-';
  if (s === '') return 0;
  s = s.replace(/^%\s*/, '').replace(/\s*%$/, '');
  const m = /^(\d*)(?:[.,](\d*))?$/.exec(s);
  if (!m || (m[1] === '' && !m[2])) return /^-/.test(s) ? 'installments:surcharge.outOfRange' : 'installments:surcharge.notANumber';
  const whole = m[1]!.replace(/^0+(?=\d)/, '');
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 2) return 'installments:surcharge.tooManyDecimals';
  if (whole.length > 3) return 'installments:surcharge.outOfRange';
  const bp = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0'));
  return bp > MAX_SURCHARGE_BP ? 'installments:surcharge.outOfRange' : bp;
}

/** "250" -> "2.50" (the form shows a stored surcharge back). */
export const surchargeText = (bp: number): string => `${Math.trunc(bp / 100)}.${String(bp % 100).padStart(2, '0')}`;

/** An amount typed in lira ("100", "1.250,50" is refused: "1250.50" or "1250,50"), to minor units. */
function parseLira(raw: unknown): number | string {
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (s === '') return 0;
  const m = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) return 'installments:minAmount.invalid';
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

const checked = (v: unknown) => v === 'on' || v === '1' || v === 'true' || v === true;

/**
 * The settings form: `offer_<n>` (checkbox), `surcharge_<n>` (percent) for each count, and
 * `minAmount` (lira). Every bad field is reported at once; nothing is returned half-read.
 */
export function parseInstallmentPlan(input: Record<string, unknown>): InstallmentPlan | null {
  const fields: Record<string, string> = {};
  const offers: InstallmentPlan['offers'] = [];
  for (const count of installmentCounts) {
    const surcharge = parseSurcharge(input[`surcharge_${count}`]);
    if (typeof surcharge === 'string') {
      fields[`surcharge_${count}`] = msg(surcharge, { count });
      continue;
    }
    if (checked(input[`offer_${count}`])) offers.push({ count, surchargeBp: surcharge });
  }
  const minAmountMinor = parseLira(input.minAmount);
  if (typeof minAmountMinor === 'string') fields.minAmount = minAmountMinor;
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
  return offers.length === 0 ? null : { offers, minAmountMinor: minAmountMinor as number };
}

/** A stored plan read back defensively (a hand-edited row never yields a count the banks refuse). */
export function planOf(account: Pick<GatewayAccount, 'kind' | 'installmentPlan'> | undefined): InstallmentPlan | null {
  const raw = account?.installmentPlan;
  if (!account || !offersInstallments(account.kind) || !raw || !Array.isArray(raw.offers)) return null;
  const offers = raw.offers
    .filter((o) => isInstallmentCount(o.count) && Number.isSafeInteger(o.surchargeBp) && o.surchargeBp >= 0 && o.surchargeBp <= MAX_SURCHARGE_BP)
    .map((o) => ({ count: o.count as InstallmentCount, surchargeBp: o.surchargeBp }))
    .sort((a, b) => a.count - b.count);
  if (offers.length === 0) return null;
  return { offers, minAmountMinor: Number.isSafeInteger(raw.minAmountMinor) && raw.minAmountMinor > 0 ? raw.minAmountMinor : 0 };
}

/** Saves which installments the seller offers on its (NestPay or iyzico) payment system. */
export async function saveInstallmentPlan(deps: Pick<Deps, 'db' | 'clock'>, actor: Actor, sellerAgencyId: string | null, input: Record<string, unknown>): Promise<InstallmentPlan | null> {
  const account = await getGatewayAccount(deps, sellerAgencyId);
  if (!account) throw new AppError('no_payment_system', 409, 'installments:errors.noPaymentSystem');
  if (!offersInstallments(account.kind)) throw new AppError('installments_unsupported', 409, msg('installments:errors.unsupportedGateway', { kind: account.kind }));
  const plan = parseInstallmentPlan(input);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(gatewayAccounts).set({ installmentPlan: plan, updatedAt: now }).where(eq(gatewayAccounts.id, account.id));
    await recordAudit(tx, actor, { action: 'gateway.installments', targetType: 'gateway_account', targetId: account.id, agencyId: sellerAgencyId, data: { plan } }, now);
  });
  return plan;
}

// ---------------------------------------------------------------------------------------------
// At checkout

export interface InstallmentChoice {
  /** The seller's gateway (the page asks iyzico buyers for their card's first digits). */
  gateway: 'nestpay' | 'iyzico';
  amountMinor: number;
  currency: string;
  single: InstallmentQuote;
  options: InstallmentQuote[];
}

/** The account a payment started on, when it still is the seller's. */
async function accountOfPayment(deps: Pick<Deps, 'db'>, payment: Payment): Promise<GatewayAccount | undefined> {
  if (!payment.gatewayAccountId) return undefined;
  const [account] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, payment.gatewayAccountId));
  return account;
}

/**
 * What the buyer may choose for a payment, or null when there is no choice to make: the payment
 * is not pending, its choice is already made, the seller offers none, the currency is not TRY,
 * or the amount is under the seller's minimum.
 */
export async function installmentChoice(deps: Pick<Deps, 'db'>, payment: Payment): Promise<InstallmentChoice | null> {
  if (payment.status !== 'pending' || payment.installments !== null || payment.currency !== INSTALLMENT_CURRENCY) return null;
  const account = await accountOfPayment(deps, payment);
  const plan = planOf(account);
  if (!account || !plan || payment.amountMinor < plan.minAmountMinor) return null;
  return {
    gateway: account.kind as 'nestpay' | 'iyzico',
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    single: quoteInstallments(payment.amountMinor, 1, 0),
    options: plan.offers.map((o) => quoteInstallments(payment.amountMinor, o.count, o.surchargeBp)),
  };
}

/** The first 6 or 8 digits of a card (its BIN), which is all iyzico's installment query needs. */
export function parseBin(raw: unknown): string | null {
  const digits = typeof raw === 'string' ? raw.replace(/[\s-]/g, '') : '';
  return /^\d{6,8}$/.test(digits) ? digits : null;
}

/**
 * The counts a card may pay in (iyzico's installment query for its BIN), among those the seller
 * offers. An empty list: the card takes single payments only (a debit card).
 */
export async function cardInstallments(deps: Pick<Deps, 'db' | 'config'>, payment: Payment, choice: InstallmentChoice, binInput: unknown): Promise<{ bin: string; counts: number[]; bankName: string | null }> {
  const bin = parseBin(binInput);
  if (!bin) throw new ValidationError({ bin: 'installments:errors.bin' });
  const account = await accountOfPayment(deps, payment);
  if (!account) throw errors.notFound('Payment');
  const gateway = gatewayOf(deps, account);
  if (!gateway.installmentInfo) return { bin, counts: choice.options.map((o) => o.count), bankName: null };
  let info;
  try {
    info = await gateway.installmentInfo({ bin, amountMinor: choice.amountMinor, currency: choice.currency, conversationId: payment.id });
  } catch (err) {
    if (err instanceof GatewayError) throw new AppError('installments_unavailable', 502, msg('installments:errors.queryFailed', { detail: err.message }));
    throw err;
  }
  return { bin, counts: choice.options.map((o) => o.count).filter((c) => info.counts.includes(c)), bankName: info.bankName };
}

/**
 * The buyer's pick, final once made. The count must be one the seller offers (else refused, nothing
 * written); the surcharge is the seller's for that count, computed here; with iyzico the card's
 * BIN must allow the count. The amount charged becomes amount + surcharge.
 */
export async function chooseInstallments(deps: Pick<Deps, 'db' | 'clock' | 'config'>, params: { payment: Payment; count: unknown; bin?: unknown }): Promise<Payment> {
  const { payment } = params;
  // The same pick posted twice (a double click, a reload) is the choice already made.
  if (payment.status === 'pending' && payment.installments !== null && String(payment.installments) === String(params.count)) return payment;
  const choice = await installmentChoice(deps, payment);
  if (!choice) throw new AppError('installments_not_offered', 409, 'installments:errors.noChoice');
  const count = typeof params.count === 'string' && /^\d{1,2}$/.test(params.count) ? Number(params.count) : typeof params.count === 'number' ? params.count : NaN;
  let quote: InstallmentQuote;
  if (count === 1) quote = choice.single;
  else {
    const offered = choice.options.find((o) => o.count === count);
    if (!offered) throw new ValidationError({ count: 'installments:errors.notOffered' });
    if (choice.gateway === 'iyzico') {
      const card = await cardInstallments(deps, payment, choice, params.bin);
      if (!card.counts.includes(count)) throw new ValidationError({ count: msg('installments:errors.cardRefuses', { count }) });
    }
    quote = offered;
  }
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(payments)
      .set({ installments: quote.count, installmentSurchargeBp: quote.surchargeBp, installmentSurchargeMinor: quote.surchargeMinor, amountMinor: quote.totalMinor })
      // The amount it was quoted on: a concurrent choice (two tabs) finds the row changed.
      .where(and(eq(payments.id, payment.id), eq(payments.status, 'pending'), isNull(payments.installments), eq(payments.amountMinor, choice.amountMinor)))
      .returning();
    if (!updated) throw new AppError('installments_already_chosen', 409, 'installments:errors.alreadyChosen');
    await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: 'pending', toStatus: 'pending', raw: { installments: quote.count, surchargeBp: quote.surchargeBp, surchargeMinor: quote.surchargeMinor, amountBefore: choice.amountMinor, amountCharged: quote.totalMinor }, createdAt: now });
    return updated;
  });
}

/**
 * A gateway's confirmed count against the payment's (1 and "none" both mean a single payment):
 * a confirmation of another count is never applied.
 */
export function installmentsMatch(payment: Pick<Payment, 'installments'>, reported: number | undefined): boolean {
  if (reported === undefined) return true;
  return Math.max(1, payment.installments ?? 1) === Math.max(1, reported);
}
