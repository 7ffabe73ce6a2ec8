import { createHmac, timingSafeEqual } from 'node:crypto';
import { defineJob, noPayload } from '../queue/job';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { agencies, gatewayAccounts, gatewayWebhooks, paymentEvents, paymentMethods, payments, subAccounts } from '../../db/schema';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { getCheckout } from './checkout';
import { GatewayError, GatewayTimeoutError, type CallbackFields, type CheckoutStarter, type GatewayKind, type Payment, type PaymentStart, type SavedMethodInfo, type VerifiedOutcome } from './gateway';
import { gatewayOf, getGatewayAccount, type GatewayAccount } from './gateway-accounts';
import { settleAnyPayment } from './settlement';
import { installmentsMatch } from './installments';
import { msg } from '../lib/message';

/**
 * Signed "pay this" links (`/payments/go/:id?sig=`): the buyer's browser is sent there after a
 * purchase is recorded; it starts the payment at the seller's gateway. Anyone holding the link can
 * pay, like a gateway's hosted page; a payment id alone cannot.
 */
export class PayLinks {
  constructor(private readonly secret: string, private readonly publicUrl: string) {}

  signature(paymentId: string): string {
    return createHmac('sha256', this.secret).update(`pay:${paymentId}`).digest('base64url');
  }

  verify(paymentId: string, signature: unknown): boolean {
    if (typeof signature !== 'string') return false;
    const expected = Buffer.from(this.signature(paymentId));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  path(paymentId: string): string {
    return `/payments/go/${paymentId}?sig=${this.signature(paymentId)}`;
  }
}

/**
 * The checkout for a seller: its configured gateway (the buyer goes through a signed pay link),
 * or, outside production and while it has configured none, Kontor's sandbox stand-in page. In
 * production a seller without a payment system cannot take payments.
 */
export async function sellerCheckout(deps: Pick<Deps, 'db' | 'config'>, links: PayLinks, standIn: CheckoutStarter, sellerAgencyId: string | null): Promise<CheckoutStarter> {
  const account = await getGatewayAccount(deps, sellerAgencyId);
  if (!account) {
    if (deps.config.isProduction) throw new AppError('payments_not_configured', 409, 'The seller has not set up a payment system yet, so it cannot take payments.');
    return standIn;
  }
  return {
    kind: account.kind as GatewayKind,
    accountId: account.id,
    start: async (payment: Payment): Promise<PaymentStart> => ({ kind: 'redirect', url: `${deps.config.publicUrl}${links.path(payment.id)}` }),
  };
}

async function accountOf(deps: Pick<Deps, 'db'>, payment: Payment): Promise<GatewayAccount> {
  if (!payment.gatewayAccountId) throw errors.notFound('Payment');
  const [account] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, payment.gatewayAccountId));
  // The seller changed gateway since: the attempt's account is gone; its payment cannot continue.
  if (!account || account.id !== payment.gatewayAccountId) throw new AppError('gateway_changed', 409, 'The seller changed its payment system; start the purchase again.');
  return account;
}

async function buyerOf(deps: Pick<Deps, 'db'>, payment: Payment): Promise<{ id: string; name: string; email: string }> {
  const [agency] = await deps.db.select().from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
  if (payment.buyerSubAccountId) {
    const [sub] = await deps.db.select().from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId));
    return { id: payment.buyerSubAccountId, name: sub?.name ?? '', email: sub?.billingEmail ?? agency?.billingEmail ?? 'buyer@kontor.invalid' };
  }
  return { id: payment.buyerAgencyId, name: agency?.name ?? '', email: agency?.billingEmail ?? 'buyer@kontor.invalid' };
}

export type GoResult =
  | { kind: 'redirect'; url: string }
  | { kind: 'form'; action: string; fields: Record<string, string>; lang: 'en' | 'tr' }
  | { kind: 'settled'; outcome: string; payment: Payment; returnPath: string; message: string };

/** The buyer arrives through a signed pay link: start the payment at the seller's gateway. */
export async function goToGateway(deps: Deps, params: { paymentId: string; ip: string; standIn: CheckoutStarter }): Promise<GoResult> {
  const checkout = await getCheckout(deps, params.paymentId);
  const { payment } = checkout;
  if (payment.status !== 'pending') {
    return { kind: 'settled', outcome: 'already', payment, returnPath: checkout.returnPath, message: msg('errors:payment.alreadySettled', { status: `errors:payment.status.${payment.status}` }) };
  }
  if (!payment.gatewayAccountId) {
    const next = await params.standIn.start(payment);
    if (next.kind !== 'redirect') throw new Error('the stand-in only redirects');
    return { kind: 'redirect', url: next.url };
  }
  const account = await accountOf(deps, payment);
  const gateway = gatewayOf(deps, account);
  const buyer = await buyerOf(deps, payment);
  const next = await gateway.start(payment, {
    callbackUrl: `${deps.config.publicUrl}/payments/callback/${payment.id}`,
    lang: checkout.lang,
    description: checkout.description,
    buyer: { id: buyer.id, name: buyer.name, email: buyer.email, ip: params.ip },
    saveMethod: gateway.canChargeOffSession,
  });
  if (next.kind !== 'completed' && next.gatewayReference) {
    await deps.db.update(payments).set({ gatewayReference: next.gatewayReference }).where(and(eq(payments.id, payment.id), eq(payments.status, 'pending')));
  }
  if (next.kind === 'redirect') return { kind: 'redirect', url: next.url };
  if (next.kind === 'form') return { kind: 'form', action: next.action, fields: next.fields, lang: checkout.lang };
  const settled = await applyOutcome(deps, payment, { paymentId: payment.id, approved: next.approved, ...(next.reason ? { reason: next.reason } : {}), ...(next.gatewayReference ? { gatewayReference: next.gatewayReference } : {}) }, { via: 'start', ...next.raw });
  return { kind: 'settled', ...settled, returnPath: checkout.returnPath };
}

/** Keeps a card the gateway saved for the buyer (once per method reference). */
export async function rememberMethod(deps: Pick<Deps, 'db' | 'clock'>, payment: Pick<Payment, 'buyerAgencyId' | 'buyerSubAccountId' | 'gatewayAccountId' | 'gateway'>, method: SavedMethodInfo): Promise<string> {
  if (!payment.gatewayAccountId) throw new Error('a saved method needs a gateway account');
  return deps.db.transaction(async (tx) => {
    const owner = payment.buyerSubAccountId ? eq(paymentMethods.buyerSubAccountId, payment.buyerSubAccountId) : and(eq(paymentMethods.buyerAgencyId, payment.buyerAgencyId), isNull(paymentMethods.buyerSubAccountId));
    const existing = await tx.select().from(paymentMethods).where(and(owner, eq(paymentMethods.gatewayAccountId, payment.gatewayAccountId!), isNull(paymentMethods.deletedAt))).for('update');
    const same = existing.find((m) => m.methodRef === method.methodRef && m.customerRef === method.customerRef);
    if (same) return same.id;
    const id = newId('pm');
    await tx.insert(paymentMethods).values({
      id, buyerAgencyId: payment.buyerAgencyId, buyerSubAccountId: payment.buyerSubAccountId, gatewayAccountId: payment.gatewayAccountId!, gateway: payment.gateway,
      customerRef: method.customerRef, methodRef: method.methodRef, brand: method.brand, last4: method.last4, expMonth: method.expMonth, expYear: method.expYear,
      isDefault: existing.length === 0, createdAt: deps.clock.now(),
    });
    return id;
  });
}

/** Applies a verified outcome once; a mismatch in amount or currency fails the payment. */
async function applyOutcome(deps: Deps, payment: Payment, outcome: VerifiedOutcome, raw: Record<string, unknown>): Promise<{ outcome: string; payment: Payment; message: string }> {
  if (outcome.paymentId !== payment.id) throw new GatewayError('invalid_callback', 'The gateway answered for another order.');
  if (outcome.savedMethod && outcome.approved) await rememberMethod(deps, payment, outcome.savedMethod);
  if (outcome.pending) return { outcome: 'pending', payment, message: 'Your payment is being processed; this page will not charge you again.' };
  // Like an amount mismatch: a confirmation in another number of installments than the buyer
  // chose is never applied; the attempt fails with both counts kept, for the seller to refund.
  const wrongCount = outcome.approved && !installmentsMatch(payment, outcome.installments);
  const result = await settleAnyPayment(deps, {
    paymentId: payment.id, approved: outcome.approved && !wrongCount, raw,
    ...(wrongCount ? { reason: msg('installments:errors.mismatch', { reported: outcome.installments ?? 1, chosen: payment.installments ?? 1 }) } : outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.amountMinor !== undefined ? { amountMinor: outcome.amountMinor } : {}),
    ...(outcome.currency ? { currency: outcome.currency } : {}),
    ...(outcome.gatewayReference ? { gatewayReference: outcome.gatewayReference } : {}),
  });
  const [after] = await deps.db.select().from(payments).where(eq(payments.id, payment.id));
  const message = result.outcome === 'already'
    ? 'This payment was already settled: nothing changed.'
    : result.outcome === 'failed'
      ? msg('errors:payment.notCompleted', { reason: after?.failureReason ?? 'errors:payment.declined' })
      : result.grant === 'waiting'
        ? 'Payment confirmed: the package will be applied shortly (your provider is topping up its credits).'
        : 'Payment confirmed: your order is applied.';
  return { outcome: result.outcome, payment: after!, message };
}

async function recordRejected(deps: Pick<Deps, 'db' | 'clock'>, payment: Payment, code: string, raw: Record<string, unknown>): Promise<void> {
  await deps.db.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: payment.status, toStatus: payment.status, raw: { rejected: code, ...raw }, createdAt: deps.clock.now() });
}

/**
 * The buyer comes back from the gateway (posted form or redirect). Verified by the gateway
 * module (hash, signature or a server-side retrieve), stored raw with the transition, applied once.
 */
export async function handleCallback(deps: Deps, params: { paymentId: string; body: CallbackFields; query: CallbackFields }): Promise<{ outcome: string; payment: Payment; returnPath: string; message: string }> {
  // Only "no such payment" means an unknown order; a database error (a lost connection) must not
  // tell a buyer who paid that nothing was granted: it fails as a 500 and the callback is retried.
  const checkout = await getCheckout(deps, params.paymentId).catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'not_found') return null;
    throw err;
  });
  if (!checkout) {
    deps.logger.warn('payment callback for an unknown order', { paymentId: params.paymentId });
    throw new AppError('unknown_order', 404, 'This payment is unknown: nothing was granted.');
  }
  const { payment } = checkout;
  const raw = { via: 'callback', body: params.body, query: params.query };
  const account = await accountOf(deps, payment);
  let outcome: VerifiedOutcome;
  try {
    outcome = await gatewayOf(deps, account).verifyCallback(payment, { body: params.body, query: params.query });
    if (outcome.paymentId !== payment.id) throw new GatewayError('invalid_callback', 'The gateway answered for another order.');
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    if (err instanceof GatewayTimeoutError) {
      // The gateway did not answer our check in time: the payment may well be paid. Nothing is
      // decided here; the webhook or the reconciliation job settles it.
      deps.logger.warn('payment callback could not be checked in time', { paymentId: payment.id });
      return { outcome: 'pending', payment, returnPath: checkout.returnPath, message: 'Your payment is being confirmed with the payment system; this page will not charge you again. Check your purchases in a few minutes.' };
    }
    await recordRejected(deps, payment, err.code, raw);
    deps.logger.warn('payment callback refused', { paymentId: payment.id, code: err.code, reason: err.message });
    throw new AppError(err.code, 400, msg('errors:payment.unverified', { detail: err.message }));
  }
  return { ...(await applyOutcome(deps, payment, outcome, raw)), returnPath: checkout.returnPath };
}

/**
 * A gateway webhook: verified on its raw body, stored raw, applied once per event id. A stored
 * event that failed to apply stays unprocessed for the reconciliation job.
 */
export async function handleWebhook(deps: Deps, params: { accountId: string; rawBody: Buffer; headers: Record<string, string | undefined> }): Promise<{ duplicate: boolean; applied: boolean }> {
  const [account] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, params.accountId));
  if (!account) throw errors.notFound('Gateway account');
  let event;
  try {
    event = await gatewayOf(deps, account).verifyWebhook(params.rawBody, params.headers);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    deps.logger.warn('webhook refused', { accountId: account.id, code: err.code });
    throw new AppError(err.code, 400, msg('errors:payment.webhookUnverified', { detail: err.message }));
  }
  const headers = Object.fromEntries(Object.entries(params.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const [stored] = await deps.db
    .insert(gatewayWebhooks)
    .values({ id: newId('whk'), gatewayAccountId: account.id, gateway: account.kind, eventId: event.eventId, type: event.type, payload: params.rawBody.toString('utf8'), headers, outcome: event.outcome ?? null, receivedAt: deps.clock.now() })
    .onConflictDoNothing()
    .returning({ id: gatewayWebhooks.id });
  if (!stored) return { duplicate: true, applied: false };
  const applied = await processWebhook(deps, account, stored.id, event.outcome);
  return { duplicate: false, applied };
}

async function processWebhook(deps: Deps, account: GatewayAccount, webhookId: string, outcome: VerifiedOutcome | undefined): Promise<boolean> {
  try {
    if (outcome) {
      const [payment] = await deps.db.select().from(payments).where(eq(payments.id, outcome.paymentId));
      // Another seller's order (or none): stored, never applied.
      if (!payment || payment.gatewayAccountId !== account.id) throw new AppError('unknown_order', 404, 'The webhook names an order of no payment of this seller.');
      await applyOutcome(deps, payment, outcome, { via: 'webhook', webhookId });
    }
    await deps.db.update(gatewayWebhooks).set({ processedAt: deps.clock.now(), error: null }).where(eq(gatewayWebhooks.id, webhookId));
    return true;
  } catch (err) {
    await deps.db.update(gatewayWebhooks).set({ error: err instanceof Error ? err.message.slice(0, 500) : String(err) }).where(eq(gatewayWebhooks.id, webhookId));
    deps.logger.warn('webhook stored but not applied; reconciliation retries it', { webhookId, err: String(err) });
    return false;
  }
}

/**
 * Reconciliation (run by the tick): webhooks stored but not applied are applied again; payments
 * still pending at a gateway between 10 minutes and 48 hours old are asked for their state and
 * settled (older ones were abandoned at the gateway). Both are
 * idempotent: a payment is settled once however the answer arrives.
 */
export async function reconcilePayments(deps: Deps): Promise<{ webhooks: number; payments: number }> {
  const now = deps.clock.now();
  let webhooks = 0;
  const stale = await deps.db.select().from(gatewayWebhooks).where(and(isNull(gatewayWebhooks.processedAt), lt(gatewayWebhooks.receivedAt, new Date(now.getTime() - 60_000)))).limit(100);
  for (const hook of stale) {
    const [account] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.id, hook.gatewayAccountId));
    if (!account) continue;
    // Verified when it arrived; its outcome was stored then (a signature may have expired since).
    if (await processWebhook(deps, account, hook.id, (hook.outcome as VerifiedOutcome | null) ?? undefined)) webhooks += 1;
  }
  let settled = 0;
  const pending = await deps.db
    .select()
    .from(payments)
    .where(and(eq(payments.status, 'pending'), sql`${payments.gatewayAccountId} is not null`, lt(payments.createdAt, new Date(now.getTime() - 10 * 60_000)), gt(payments.createdAt, new Date(now.getTime() - 48 * 3600_000))))
    .orderBy(payments.createdAt)
    .limit(100);
  for (const payment of pending) {
    try {
      const account = await accountOf(deps, payment);
      const outcome = await gatewayOf(deps, account).retrieve(payment);
      if (outcome.pending) continue;
      const r = await applyOutcome(deps, payment, outcome, { via: 'reconciliation' });
      if (r.outcome !== 'already') settled += 1;
    } catch (err) {
      deps.logger.warn('reconciliation could not settle a payment', { paymentId: payment.id, err: String(err) });
    }
  }
  return { webhooks, payments: settled };
}

/** Confirmed at a gateway but not applied here (lost callback, webhook that failed to apply). */
export const reconcilePaymentsJob = defineJob({ name: 'payments.reconcile', payload: noPayload, handle: (deps) => reconcilePayments(deps) });
