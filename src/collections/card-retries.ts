// Saved-card retries (DESIGN section 10): on the days of its seller's retry schedule (days after the
// due day), an open overdue invoice is charged again on the buyer's default saved card, off-session.
// Every attempt is a row of invoice_charge_attempts, one per (invoice, attempt number), created in
// the transaction that creates its payment; the gateway is called with the idempotency key
// `invoice:<id>:retry:<n>`, so a run that crashed mid-charge asks the gateway again with the same
// key and the card is never charged twice. A confirmed charge pays the invoice through the normal
// settlement (markInvoicePaid: audit, and the suspension rule re-applied at once).
import { and, asc, eq, inArray } from 'drizzle-orm';
import { invoiceChargeAttempts, invoiceReminders, invoices, paymentEvents, paymentMethods, payments, type ChargeAttemptStatus } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { freeInvoiceReference, settleInvoicePayment } from '../billing/collect';
import { formatInvoiceNumber } from '../billing/invoice-numbers';
import { getInvoice } from '../billing/invoices.usecases';
import { addDays, calendarDay, daysBetween } from '../billing/proration';
import { billingAccount, invoiceRecipients } from '../billing/accounts';
import type { Tx } from '../../db/client';
import { mailLanguage, mailWriter } from '../mail/language';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import type { Deps } from '../deps';
import { newId } from '../lib/ids';
import { money, msg } from '../lib/message';
import { GatewayTimeoutError, type Payment } from '../payments/gateway';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';
import { defaultPaymentMethod } from '../payments/payment-methods';
import { offSessionDescription } from '../payments/checkout';
import { createPayment } from '../payments/payments.usecases';
import { collectionScheduleOf, MAX_RETRY_DAY } from './collection-settings';
import { openInvoicesAround, payPageUrl, scheduleCache, type OpenInvoice } from './reminders';
import { actingHour, CATCH_UP_DAYS, dueStepIndex } from './schedule';

export type ChargeAttempt = typeof invoiceChargeAttempts.$inferSelect;

/** The gateway idempotency key of an attempt: one charge per invoice and attempt, however often it is tried. */
export const retryKey = (invoiceId: string, attemptNo: number) => `invoice:${invoiceId}:retry:${attemptNo}`;

/**
 * Another payment of the invoice still pending for less than this is left to finish (the buyer at
 * the gateway's page, or an unanswered first charge): the payments reconciliation asks gateways
 * about pending payments for 48 hours and treats older ones as abandoned, and so does this.
 */
export const HAND_PAYMENT_GRACE_MS = 48 * 3600_000;

/** The retry attempt due today for an invoice: its number (1-based) and step, or null. */
export function retryDue(inv: Pick<OpenInvoice, 'dueDay'>, retryDays: readonly number[], today: string): { attemptNo: number; daysAfterDue: number } | null {
  const i = dueStepIndex(retryDays, daysBetween(inv.dueDay, today));
  return i < 0 ? null : { attemptNo: i + 1, daysAfterDue: retryDays[i]! };
}

/** The retries job's work: attempts left pending by a crash are finished, then today's are made. */
export async function runCardRetries(deps: Deps): Promise<{ attempted: number; succeeded: number; declined: number; skipped: number }> {
  const out = { attempted: 0, succeeded: 0, declined: 0, skipped: 0 };
  const count = (s: ChargeAttemptStatus | null) => {
    if (!s || s === 'pending') return;
    out.attempted++;
    out[s]++;
  };
  // Attempts a crash or an unanswered gateway left pending: asked again with the same key.
  const pending = await deps.db.select().from(invoiceChargeAttempts).where(eq(invoiceChargeAttempts.status, 'pending')).orderBy(asc(invoiceChargeAttempts.createdAt)).limit(1000);
  for (const a of pending) count(await guarded(deps, a.invoiceId, () => resumeAttempt(deps, a)));

  const now = deps.clock.now();
  const list = await openInvoicesAround(deps, { before: MAX_RETRY_DAY + CATCH_UP_DAYS, after: 0 });
  const scheduleOf = scheduleCache(deps);
  const due: { inv: OpenInvoice; attemptNo: number; daysAfterDue: number; today: string }[] = [];
  for (const inv of list) {
    if (!actingHour(now, inv.zone)) continue;
    const today = calendarDay(now, inv.zone);
    const step = retryDue(inv, (await scheduleOf(inv.sellerAgencyId)).retryDays, today);
    if (step) due.push({ inv, ...step, today });
  }
  const done = new Map<string, ChargeAttempt>();
  for (let i = 0; i < due.length; i += 1000) {
    const ids = due.slice(i, i + 1000).map((d) => d.inv.id);
    for (const a of await deps.db.select().from(invoiceChargeAttempts).where(inArray(invoiceChargeAttempts.invoiceId, ids))) {
      const prev = done.get(a.invoiceId);
      if (!prev || prev.attemptNo < a.attemptNo) done.set(a.invoiceId, a);
    }
  }
  for (const d of due) {
    const last = done.get(d.inv.id);
    if (last && last.attemptNo >= d.attemptNo) {
      // Charged, but a crash kept the invoice open: finish the settlement, never charge again.
      if (last.status === 'succeeded' && last.paymentId) await guarded(deps, d.inv.id, () => settleInvoicePayment(deps, d.inv.id, last.paymentId!).then(() => null));
      continue;
    }
    count(await guarded(deps, d.inv.id, () => attemptCharge(deps, { invoiceId: d.inv.id, attemptNo: d.attemptNo, daysAfterDue: d.daysAfterDue, today: d.today })));
  }
  return out;
}

/** One invoice's failure (a gateway down, a bad card reference) never stops the others'. */
async function guarded<T>(deps: Deps, invoiceId: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    deps.logger.warn('saved-card retry failed; the next run tries again', { invoiceId, err: String(err) });
    return null;
  }
}

/**
 * Attempt `attemptNo` on an invoice: recorded with its payment in one transaction (once: the
 * (invoice, attempt) key), then charged. Returns its outcome, or null when nothing was attempted
 * (paid meanwhile, the seller's gateway cannot charge without the buyer, a payment by hand under
 * way).
 */
export async function attemptCharge(deps: Deps, p: { invoiceId: string; attemptNo: number; daysAfterDue: number; today: string }): Promise<ChargeAttemptStatus | null> {
  const now = deps.clock.now();
  const [inv] = await deps.db.select().from(invoices).where(eq(invoices.id, p.invoiceId));
  if (!inv || inv.status !== 'open') return null;
  const account = await getGatewayAccount(deps, inv.sellerAgencyId);
  // NestPay 3D_PAY (and no payment system at all): nothing can be charged without the buyer.
  if (!account || !gatewayOf(deps, account).canChargeOffSession) return null;
  const method = await defaultPaymentMethod(deps, { agencyId: inv.agencyId, subAccountId: inv.subAccountId, sellerAgencyId: inv.sellerAgencyId });
  const base = { id: newId('cha'), invoiceId: inv.id, agencyId: inv.agencyId, subAccountId: inv.subAccountId, sellerAgencyId: inv.sellerAgencyId, attemptNo: p.attemptNo, daysAfterDue: p.daysAfterDue, day: p.today, createdAt: now };
  if (!method) {
    const rows = await deps.db.insert(invoiceChargeAttempts).values({ ...base, status: 'skipped', error: 'collections:attempt.noCard', completedAt: now }).onConflictDoNothing().returning({ id: invoiceChargeAttempts.id });
    return rows.length ? 'skipped' : null;
  }
  const [byRef] = await deps.db.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id)));
  if (byRef?.status === 'confirmed') {
    // Paid, but a crash kept the invoice open: finish that, never charge again.
    await settleInvoicePayment(deps, inv.id, byRef.id);
    return null;
  }
  // The buyer is at the gateway's page paying it by hand (or the first automatic charge is still
  // unanswered): left alone for now; a later run (hourly, within the catch-up days) looks again.
  if (byRef?.status === 'pending' && now.getTime() - byRef.createdAt.getTime() < HAND_PAYMENT_GRACE_MS) return null;
  const key = retryKey(inv.id, p.attemptNo);
  const created = await deps.db.transaction(async (tx) => {
    const [locked] = await tx.select({ status: invoices.status }).from(invoices).where(eq(invoices.id, inv.id)).for('update');
    if (locked?.status !== 'open') return null;
    const rows = await tx.insert(invoiceChargeAttempts).values({
      ...base, status: 'pending', paymentMethodId: method.id, cardLabel: msg('collections:attempt.card', { brand: method.brand, last4: method.last4 }),
    }).onConflictDoNothing().returning();
    if (!rows.length) return null;
    // A settled earlier attempt keeps its reference as `<invoice>:<payment>`; an abandoned pending
    // one (past the grace) is failed first, so it can never be confirmed beside this charge.
    const [current] = await tx.select().from(payments).where(and(eq(payments.purpose, 'invoice'), eq(payments.referenceId, inv.id))).for('update');
    if (current?.status === 'pending') {
      await tx.update(payments).set({ status: 'failed', failureReason: 'collections:attempt.abandoned' }).where(eq(payments.id, current.id));
      await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: current.id, fromStatus: 'pending', toStatus: 'failed', raw: { reason: 'abandoned before a scheduled card retry' }, createdAt: now });
    }
    if (current) await freeInvoiceReference(tx, current.id, inv.id);
    const payment = await createPayment(tx, {
      sellerAgencyId: inv.sellerAgencyId, buyerAgencyId: inv.agencyId, buyerSubAccountId: inv.subAccountId, purpose: 'invoice', referenceId: inv.id,
      amountMinor: inv.totalMinor, currency: inv.currency, gateway: account.kind, gatewayAccountId: account.id,
    }, now);
    await tx.update(payments).set({ idempotencyKey: key, paymentMethodId: method.id }).where(eq(payments.id, payment.id));
    const [attempt] = await tx.update(invoiceChargeAttempts).set({ paymentId: payment.id }).where(eq(invoiceChargeAttempts.id, rows[0]!.id)).returning();
    return attempt!;
  });
  if (!created) return null;
  return resumeAttempt(deps, created);
}

/**
 * Charges (or asks again about) a pending attempt's payment with its own key, and records the
 * outcome on the payment and the attempt in one transaction. A payment another path settled
 * meanwhile (the reconciliation, a webhook) is read, not charged.
 */
export async function resumeAttempt(deps: Deps, attempt: ChargeAttempt): Promise<ChargeAttemptStatus> {
  if (attempt.status !== 'pending') return attempt.status;
  const [payment] = attempt.paymentId ? await deps.db.select().from(payments).where(eq(payments.id, attempt.paymentId)) : [];
  if (!payment) {
    // Never reached the payment (the transaction that made both rolled back): nothing was charged.
    await finish(deps, attempt, { status: 'declined', error: 'collections:attempt.notCharged' });
    return 'declined';
  }
  if (payment.status === 'confirmed') {
    await finish(deps, attempt, { status: 'succeeded', gatewayReference: payment.gatewayReference });
    await settleInvoicePayment(deps, attempt.invoiceId, payment.id);
    return 'succeeded';
  }
  if (payment.status !== 'pending') {
    await finish(deps, attempt, { status: 'declined', error: payment.failureReason ?? 'collections:attempt.declined' });
    return 'declined';
  }
  const [method] = await deps.db.select().from(paymentMethods).where(eq(paymentMethods.id, payment.paymentMethodId ?? attempt.paymentMethodId ?? ''));
  const account = await getGatewayAccount(deps, payment.sellerAgencyId);
  if (!method || !account || account.id !== payment.gatewayAccountId) {
    // The seller changed its payment system since: this gateway cannot be asked any more.
    await failPayment(deps, payment, 'collections:attempt.gatewayChanged', {});
    await finish(deps, attempt, { status: 'declined', error: 'collections:attempt.gatewayChanged' });
    return 'declined';
  }
  let result;
  try {
    result = await gatewayOf(deps, account).chargeOffSession({
      payment, method: { customerRef: method.customerRef, methodRef: method.methodRef }, idempotencyKey: payment.idempotencyKey ?? retryKey(attempt.invoiceId, attempt.attemptNo),
      description: await offSessionDescription(deps, payment),
    });
  } catch (err) {
    // No answer: it may or may not have been charged. The attempt stays pending and the next run
    // asks again with the same key (the gateway answers the first charge, never makes a second).
    if (err instanceof GatewayTimeoutError) return 'pending';
    throw err;
  }
  const at = deps.clock.now();
  if (result.status !== 'succeeded') {
    const mailId = await failPayment(deps, payment, result.reason, result.raw, attempt);
    if (mailId) await dispatchEmails(deps.queue, [mailId]);
    deps.logger.info('saved-card retry declined; the invoice stays open', { invoiceId: attempt.invoiceId, attemptNo: attempt.attemptNo, reason: result.reason });
    return 'declined';
  }
  await deps.db.transaction(async (tx) => {
    const moved = await tx.update(payments).set({ status: 'confirmed', confirmedAt: at, gatewayReference: result.gatewayReference }).where(and(eq(payments.id, payment.id), eq(payments.status, 'pending'))).returning({ id: payments.id });
    if (moved.length) await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: 'pending', toStatus: 'confirmed', raw: result.raw, createdAt: at });
    await tx.update(invoiceChargeAttempts).set({ status: 'succeeded', gatewayReference: result.gatewayReference, completedAt: at }).where(and(eq(invoiceChargeAttempts.id, attempt.id), eq(invoiceChargeAttempts.status, 'pending')));
  });
  await settleInvoicePayment(deps, attempt.invoiceId, payment.id);
  return 'succeeded';
}

/**
 * Fails the payment and, for an attempt, records it declined. When the attempt is the one moved
 * here (pending -> declined), the buyer's email about it is queued in the same transaction
 * (returned: dispatched after commit), so each declined attempt is told once, whatever reruns.
 */
async function failPayment(deps: Deps, payment: Payment, reason: string, raw: Record<string, unknown>, attempt?: ChargeAttempt): Promise<string | null> {
  const at = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const moved = await tx.update(payments).set({ status: 'failed', failureReason: reason }).where(and(eq(payments.id, payment.id), eq(payments.status, 'pending'))).returning({ id: payments.id });
    if (moved.length) await tx.insert(paymentEvents).values({ id: newId('pev'), paymentId: payment.id, fromStatus: 'pending', toStatus: 'failed', raw, createdAt: at });
    if (!attempt) return null;
    const declined = await tx.update(invoiceChargeAttempts).set({ status: 'declined', error: reason, completedAt: at }).where(and(eq(invoiceChargeAttempts.id, attempt.id), eq(invoiceChargeAttempts.status, 'pending'))).returning();
    return declined.length ? queueDeclinedEmail(deps, tx, declined[0]!) : null;
  });
}

/**
 * The buyer's email about a declined retry (docs/collections.md): the invoice, the amount, the
 * card, what the payment system said, when the card is tried again (or that it will not be), and
 * the billing page to pay or change the card. In the buyer's language, dates in the seller's zone;
 * by email whatever the notification choices, like the reminders. Keyed by invoice and attempt.
 */
async function queueDeclinedEmail(deps: Deps, tx: Tx, attempt: ChargeAttempt): Promise<string | null> {
  const [inv] = await tx.select().from(invoices).where(eq(invoices.id, attempt.invoiceId));
  if (!inv) return null;
  const account = await billingAccount(tx, inv.agencyId, inv.subAccountId);
  const { to, cc } = await invoiceRecipients(tx, inv.agencyId, inv.subAccountId);
  const w = mailWriter(await mailLanguage(tx, inv.agencyId, to), account.zone);
  const schedule = await collectionScheduleOf(tx, inv.sellerAgencyId);
  const nextStep = schedule.retryDays.find((d) => d > attempt.daysAfterDue);
  const n = formatInvoiceNumber(inv.number);
  const amount = money(inv.totalMinor, inv.currency);
  const card = attempt.cardLabel ? w.text(attempt.cardLabel) : w.t('collections:declined.yourCard');
  const params = { n, amount, seller: account.sellerName };
  const text = w.t('collections:declined.body', {
    buyer: account.buyerName, n, amount, card, seller: account.sellerName, due: inv.dueDay, day: attempt.day,
    reason: attempt.error ? w.text(attempt.error) : w.t('collections:attempt.declined'),
    next: nextStep === undefined ? w.t('collections:declined.last') : w.t('collections:declined.next', { day: addDays(inv.dueDay, nextStep) }),
    link: await payPageUrl(deps, tx, account),
    signIn: w.t('collections:email.signIn'),
  });
  return notify(tx, {
    category: 'billing', kind: 'card_retry_declined', alwaysEmail: true, account: { agencyId: inv.agencyId, subAccountId: inv.subAccountId }, at: deps.clock.now(),
    inApp: { message: msg('collections:declined.subject', params), data: { invoiceId: inv.id, number: n, attemptNo: attempt.attemptNo } },
    email: { idempotencyKey: `card-retry-declined:${inv.id}:${attempt.attemptNo}`, message: { to, cc, subject: w.t('collections:declined.subject', params), text } },
  });
}

async function finish(deps: Deps, attempt: ChargeAttempt, p: { status: ChargeAttemptStatus; error?: string; gatewayReference?: string | null }): Promise<void> {
  await deps.db.update(invoiceChargeAttempts).set({ status: p.status, error: p.error ?? null, gatewayReference: p.gatewayReference ?? null, completedAt: deps.clock.now() })
    .where(and(eq(invoiceChargeAttempts.id, attempt.id), eq(invoiceChargeAttempts.status, 'pending')));
}

export interface InvoiceCollectionLog {
  reminders: { step: number; day: string; sentAt: Date }[];
  attempts: ChargeAttempt[];
}

/** What collections did for an invoice (its buyer or its seller reads it; anyone else: not found). */
export async function invoiceCollectionLog(deps: Pick<Deps, 'db'>, params: { actor: Actor; invoiceId: string }): Promise<InvoiceCollectionLog> {
  const inv = await getInvoice(deps, params);
  const [reminders, attempts] = await Promise.all([
    deps.db.select().from(invoiceReminders).where(and(eq(invoiceReminders.invoiceId, inv.id), eq(invoiceReminders.agencyId, inv.agencyId))).orderBy(asc(invoiceReminders.offsetDays)),
    deps.db.select().from(invoiceChargeAttempts).where(and(eq(invoiceChargeAttempts.invoiceId, inv.id), eq(invoiceChargeAttempts.agencyId, inv.agencyId))).orderBy(asc(invoiceChargeAttempts.attemptNo)),
  ]);
  return { reminders: reminders.map((r) => ({ step: r.offsetDays, day: r.day, sentAt: r.createdAt })), attempts };
}

