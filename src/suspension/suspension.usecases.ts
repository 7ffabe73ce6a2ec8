// Suspension for unpaid invoices (DESIGN section 6): an account with two or more overdue
// invoices (unpaid after their due day, in the seller's calendar) is suspended; paying brings it
// back as soon as fewer than two remain. The reason is kept apart from the platform's manual flag
// (agencies.manual_suspended): `status` is 'suspended' while either holds, and everything that
// serves (the usage function, the grants, the portal gate) reads `status` only.
import { defineJob, noPayload } from '../queue/job';
import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../../db/client';
import { agencies, invoices, subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import { systemActor, type Actor } from '../auth/actor';
import { billingAccount, invoiceRecipients, type BillingAccount } from '../billing/accounts';
import { formatInvoiceNumber } from '../billing/invoice-numbers';
import { calendarDay } from '../billing/proration';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { money, msg } from '../lib/message';
import { rowsOf } from '../lib/rows';
import { mailLanguage, mailWriter } from '../mail/language';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import { emitEvent } from '../webhooks/emit';
import { localize, tFor } from '../i18n/i18n';

export const SUSPENSION_CHECK_JOB = 'suspension.check';
/** How many overdue invoices suspend an account. */
export const OVERDUE_INVOICES_TO_SUSPEND = 2;

const UNPAID = ['draft', 'open'] as const;

export interface AccountRef {
  agencyId: string;
  subAccountId: string | null;
}

export type OverdueInvoice = Pick<typeof invoices.$inferSelect, 'id' | 'number' | 'dueDay' | 'totalMinor' | 'currency' | 'status'>;

/** The account's unpaid invoices whose due day is before `today` (seller's calendar), oldest first. */
export async function overdueInvoicesOf(db: Deps['db'] | Tx, account: BillingAccount, today: string): Promise<OverdueInvoice[]> {
  return db
    .select({ id: invoices.id, number: invoices.number, dueDay: invoices.dueDay, totalMinor: invoices.totalMinor, currency: invoices.currency, status: invoices.status })
    .from(invoices)
    .where(and(eq(invoices.buyerId, account.buyerId), eq(invoices.agencyId, account.agencyId), inArray(invoices.status, [...UNPAID]), lt(invoices.dueDay, today)))
    .orderBy(asc(invoices.dueDay), asc(invoices.number));
}

export type SuspensionChange = 'suspended' | 'reactivated' | null;

/**
 * Suspends or reactivates one account from its overdue invoices, inside the caller's transaction
 * (a payment's, or the check's). Idempotent: an account already in the right state is left alone,
 * so nothing is logged or mailed twice. Returns the change and the emails to dispatch after commit.
 */
export async function applyOverdueRule(tx: Tx, ref: AccountRef, p: { now: Date; by: Actor }): Promise<{ change: SuspensionChange; mailIds: (string | null)[] }> {
  const account = await billingAccount(tx, ref.agencyId, ref.subAccountId);
  const table = ref.subAccountId ? subAccounts : agencies;
  const [row] = ref.subAccountId
    ? await tx.select({ overdueSuspendedAt: subAccounts.overdueSuspendedAt, manual: subAccounts.manualSuspended, suspendedAt: subAccounts.suspendedAt }).from(subAccounts).where(eq(subAccounts.id, ref.subAccountId)).for('update')
    : await tx.select({ overdueSuspendedAt: agencies.overdueSuspendedAt, manual: agencies.manualSuspended, suspendedAt: agencies.suspendedAt }).from(agencies).where(eq(agencies.id, ref.agencyId)).for('update');
  if (!row) return { change: null, mailIds: [] };
  const today = calendarDay(p.now, account.zone);
  const overdue = await overdueInvoicesOf(tx, account, today);
  const due = overdue.length >= OVERDUE_INVOICES_TO_SUSPEND;
  const isSuspended = row.overdueSuspendedAt !== null;
  if (due === isSuspended) return { change: null, mailIds: [] };
  const id = ref.subAccountId ?? ref.agencyId;
  const stillSuspended = due || row.manual;
  await tx
    .update(table)
    .set({ overdueSuspendedAt: due ? p.now : null, status: stillSuspended ? 'suspended' : 'active', suspendedAt: stillSuspended ? (row.suspendedAt ?? p.now) : null, updatedAt: p.now })
    .where(eq(table.id, id));
  const change: SuspensionChange = due ? 'suspended' : 'reactivated';
  const amount = totalsOf(overdue);
  await recordAudit(tx, p.by, {
    action: due ? 'account.suspended' : 'account.reactivated', targetType: ref.subAccountId ? 'sub_account' : 'agency', targetId: id, agencyId: ref.agencyId, subAccountId: ref.subAccountId,
    data: { reason: 'overdue_invoices', overdueInvoiceIds: overdue.map((i) => i.id), amountDue: amount, day: today, manualSuspensionRemains: !due && row.manual },
  }, p.now);
  // A manual suspension that remains keeps the account suspended: no change for integrations.
  const whom = { agencyId: ref.agencyId, subAccountId: ref.subAccountId ?? null };
  if (!row.manual) await (due ? emitEvent(tx, { type: 'account.suspended', at: p.now, data: { account: whom, reason: 'overdue', overdueInvoices: overdue.length } }) : emitEvent(tx, { type: 'account.reactivated', at: p.now, data: { account: whom, reason: 'overdue' } }));
  const to = await invoiceRecipients(tx, ref.agencyId, ref.subAccountId);
  // In the buyer's language (its people's own choice, else its agency's), days in the seller's zone.
  const w = mailWriter(await mailLanguage(tx, ref.agencyId, to.to), account.zone);
  const total = amount.map((a) => w.fmt.money(a.minor, a.currency)).join(' + ');
  const message = due
    ? {
      subject: w.t('email:suspended.subject', { buyer: account.buyerName }),
      text: w.t('email:suspended.body', {
        count: overdue.length, seller: account.sellerName, total, min: OVERDUE_INVOICES_TO_SUSPEND,
        invoices: overdue.map((i) => w.t('email:suspended.invoice', { n: formatInvoiceNumber(i.number), due: w.fmt.day(i.dueDay) })).join('; '),
      }),
    }
    : {
      subject: w.t('email:reactivated.subject', { buyer: account.buyerName }),
      text: w.t(row.manual ? 'email:reactivated.bodyManualRemains' : 'email:reactivated.body', { seller: account.sellerName, by: ref.subAccountId ? account.sellerName : w.t('email:reactivated.platform') }),
    };
  // Suspension notices always go by email, whatever the recipients' notification choices (DESIGN section 11).
  const mailId = await notify(tx, {
    category: 'billing', kind: `account_${change}`, alwaysEmail: true, account: ref, at: p.now, inApp: { message: msg(due ? 'email:suspended.subject' : 'email:reactivated.subject', { buyer: account.buyerName }), data: { overdueInvoices: overdue.length } },
    email: { idempotencyKey: `account.${change}:${id}:${p.now.toISOString()}`, message: { to: to.to, cc: to.cc, ...message } },
  });
  return { change, mailIds: [mailId] };
}

function totalsOf(list: OverdueInvoice[]): { currency: string; minor: number }[] {
  const by = new Map<string, number>();
  for (const i of list) by.set(i.currency, (by.get(i.currency) ?? 0) + i.totalMinor);
  return [...by].map(([currency, minor]) => ({ currency, minor }));
}

/** Re-evaluates one account in its own transaction (after a payment, from the check). */
export async function evaluateSuspension(deps: Pick<Deps, 'db' | 'clock' | 'queue'>, ref: AccountRef, by: Actor = systemActor(SUSPENSION_CHECK_JOB)): Promise<SuspensionChange> {
  const out = await deps.db.transaction((tx) => applyOverdueRule(tx, ref, { now: deps.clock.now(), by }));
  await dispatchEmails(deps.queue, out.mailIds);
  return out.change;
}

/**
 * The check the tick runs: every account with an unpaid invoice past its due day (by the
 * clock, in its seller's zone), and every account suspended for its invoices (an invoice may
 * have been voided since). Idempotent: running it again changes nothing.
 */
export async function runSuspensionCheck(deps: Pick<Deps, 'db' | 'clock' | 'queue'>): Promise<{ suspended: number; reactivated: number }> {
  const nowIso = deps.clock.now().toISOString();
  const rows = rowsOf<{ agency_id: string; sub_account_id: string | null }>(await deps.db.execute(sql`
    select distinct i.agency_id, i.sub_account_id
    from invoices i left join agencies s on s.id = i.seller_agency_id cross join (select time_zone from platform limit 1) p
    where i.status in ('draft', 'open') and i.due_day < (${nowIso}::timestamptz at time zone coalesce(s.time_zone, p.time_zone))::date
    union
    select id, null from agencies where overdue_suspended_at is not null
    union
    select agency_id, id from sub_accounts where overdue_suspended_at is not null`));
  const out = { suspended: 0, reactivated: 0 };
  for (const r of rows) {
    const change = await evaluateSuspension(deps, { agencyId: r.agency_id, subAccountId: r.sub_account_id });
    if (change) out[change]++;
  }
  return out;
}

export interface SuspensionView {
  suspended: boolean;
  /**
   * overdue: its own invoices; manual: suspended by hand (an agency by the platform's flag, a
   * sub-account by its agency: `status` suspended without an overdue reason); provider: its
   * agency is suspended.
   */
  reasons: ('overdue' | 'manual' | 'provider')[];
  overdue: OverdueInvoice[];
  amountDue: { currency: string; minor: number }[];
}

/** Why an account cannot be served now, for the invoice page, the portal gate and the buying guard. */
export async function suspensionOf(deps: { db: DbOrTx; clock: Deps['clock'] }, account: BillingAccount): Promise<SuspensionView> {
  const { db } = deps;
  const [agency] = await db.select({ status: agencies.status, manual: agencies.manualSuspended, overdue: agencies.overdueSuspendedAt }).from(agencies).where(eq(agencies.id, account.agencyId));
  const reasons: SuspensionView['reasons'] = [];
  if (account.subAccountId) {
    const [sub] = await db.select({ overdue: subAccounts.overdueSuspendedAt, manual: subAccounts.manualSuspended }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId));
    if (sub?.overdue) reasons.push('overdue');
    if (sub?.manual) reasons.push('manual');
    if (agency?.status === 'suspended') reasons.push('provider');
  } else {
    if (agency?.overdue) reasons.push('overdue');
    if (agency?.manual) reasons.push('manual');
  }
  const overdue = reasons.includes('overdue') ? await overdueInvoicesOf(db, account, calendarDay(deps.clock.now(), account.zone)) : [];
  return { suspended: reasons.length > 0, reasons, overdue, amountDue: totalsOf(overdue) };
}

/** What lifts the suspension, in the buyer's agency's language (the billing page's text). */
export function suspensionLift(view: SuspensionView, account: Pick<BillingAccount, 'sellerName' | 'locale'>): string[] {
  const t = tFor(account.locale);
  return suspensionLiftMessages(view, account).map((m) => localize(t, m));
}

/**
 * What lifts the suspension, one message per reason (read with `localize`): the same text on the billing
 * page and in the `account_suspended` error, so a person and an integrator read the same thing.
 */
export function suspensionLiftMessages(view: SuspensionView, account: Pick<BillingAccount, 'sellerName'>): string[] {
  const out: string[] = [];
  if (view.reasons.includes('overdue')) {
    const amounts = view.amountDue.map((a) => money(a.minor, a.currency));
    out.push(msg(view.reasons.length > 1 ? 'errors:suspension.overduePart' : 'errors:suspension.overdue', { count: view.overdue.length, amounts, min: OVERDUE_INVOICES_TO_SUSPEND }));
  }
  if (view.reasons.includes('manual')) out.push(msg('errors:suspension.manual', { seller: account.sellerName }));
  if (view.reasons.includes('provider')) out.push(msg('errors:suspension.provider', { seller: account.sellerName }));
  return out;
}

/** What a suspended buyer tried, for the refusal ("starting Chatbot 5k is not possible"). */
export type SuspendedAction = string;
export const suspendedAction = {
  starting: (name: string) => msg('errors:suspension.action.starting', { name }),
  reactivating: (name: string) => msg('errors:suspension.action.reactivating', { name }),
  changingQuantity: (name: string) => msg('errors:suspension.action.changingQuantity', { name }),
  changing: (from: string, to: string) => msg('errors:suspension.action.changing', { from, to }),
  buyingExtraSessions: 'errors:suspension.action.buyingExtraSessions',
  buying: (name: string) => msg('errors:suspension.action.buying', { name }),
  buyingCredits: 'errors:suspension.action.buyingCredits',
  buyingChatbotSlots: 'errors:suspension.action.buyingChatbotSlots',
  toppingUpWhatsApp: 'errors:suspension.action.toppingUpWhatsApp',
};

/** Suspended accounts can pay invoices and manage cards and billing addresses, nothing else. */
export const SUSPENDED_CAN = 'Until then you can pay invoices and manage cards and billing addresses, nothing else.';

/**
 * The guard of every buying action (new subscriptions, changes, reactivations, extra sessions,
 * quantities, package purchases, top-ups): a suspended buyer is refused with 403
 * `account_suspended`, a message saying what lifts it, and the reasons and overdue invoices in
 * `details`. Called inside the action's transaction, after the buyer's row lock, so a suspension
 * that lands between a page load and a click is still seen.
 */
export async function requireNotSuspended(deps: { db: DbOrTx; clock: Deps['clock'] }, account: BillingAccount, action: SuspendedAction): Promise<void> {
  const view = await suspensionOf(deps, account);
  if (!view.suspended) return;
  throw new AppError('account_suspended', 403, msg('errors:suspension.refused', { action, lift: suspensionLiftMessages(view, account), can: SUSPENDED_CAN }), {
    reasons: view.reasons,
    overdueInvoices: view.overdue.map((i) => ({ id: i.id, number: formatInvoiceNumber(i.number), dueDay: i.dueDay, totalMinor: i.totalMinor, currency: i.currency })),
    amountDue: view.amountDue,
  });
}

/** Overdue invoices: suspends accounts with two or more, reactivates those with fewer. */
export const suspensionCheckJob = defineJob({ name: SUSPENSION_CHECK_JOB, payload: noPayload, handle: (deps) => runSuspensionCheck(deps) });
