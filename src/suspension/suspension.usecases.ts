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
import { formatMoney } from '../lib/money';
import { rowsOf } from '../lib/rows';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';

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
    .where(and(eq(invoices.accountId, account.accountId), eq(invoices.agencyId, account.agencyId), inArray(invoices.status, [...UNPAID]), lt(invoices.dueDay, today)))
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
  const to = await invoiceRecipients(tx, ref.agencyId, ref.subAccountId);
  const money = amount.map((a) => formatMoney(a.minor, a.currency, account.locale)).join(' + ');
  const message = due
    ? {
      subject: `${account.buyerName}: your account is suspended for unpaid invoices`,
      text: `Hello,\n\n${overdue.length} invoices from ${account.sellerName} are past their due date (${overdue.map((i) => `${formatInvoiceNumber(i.number)}, due ${i.dueDay}`).join('; ')}). `
        + `Your services are paused until they are paid: ${money} in total.\n\nPay them from the billing page; the account comes back as soon as fewer than ${OVERDUE_INVOICES_TO_SUSPEND} remain overdue.\n\n${account.sellerName}`,
    }
    : {
      subject: `${account.buyerName}: your account is active again`,
      text: `Hello,\n\nThank you for your payment. Your services are running again${row.manual ? `, apart from the suspension set by ${ref.subAccountId ? account.sellerName : 'the platform'}` : ''}.\n\n${account.sellerName}`,
    };
  // Suspension notices always go by email, whatever the recipients' notification choices (DESIGN section 11).
  const mailId = await notify(tx, {
    category: 'billing', kind: `account_${change}`, alwaysEmail: true, account: ref, at: p.now, inApp: { message: message.subject, data: { overdueInvoices: overdue.length } },
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

/**
 * What lifts the suspension, in words, one sentence per reason: the same text on the billing
 * page and in the `account_suspended` error, so a person and an integrator read the same thing.
 */
export function suspensionLift(view: SuspensionView, account: Pick<BillingAccount, 'sellerName' | 'locale'>): string[] {
  const out: string[] = [];
  if (view.reasons.includes('overdue')) {
    const money = view.amountDue.map((a) => formatMoney(a.minor, a.currency, account.locale)).join(' + ');
    out.push(`${view.overdue.length} invoices are overdue (${money}). Paying them lifts ${view.reasons.length > 1 ? 'this part of ' : ''}the suspension at once: it ends as soon as fewer than ${OVERDUE_INVOICES_TO_SUSPEND} invoices remain overdue ("Pay all overdue" on the billing page pays them in one payment).`);
  }
  if (view.reasons.includes('manual')) {
    out.push(`${account.sellerName} suspended this account by hand; only ${account.sellerName} can lift it: contact them.`);
  }
  if (view.reasons.includes('provider')) out.push(`Your provider ${account.sellerName} is suspended; its services, and new purchases from it, resume when its own account is active again.`);
  return out;
}

/** Suspended accounts can pay invoices and manage cards and billing addresses, nothing else. */
export const SUSPENDED_CAN = 'Until then you can pay invoices and manage cards and billing addresses, nothing else.';

/**
 * The guard of every buying action (new subscriptions, changes, reactivations, extra sessions,
 * quantities, package purchases, top-ups): a suspended buyer is refused with 403
 * `account_suspended`, a message saying what lifts it, and the reasons and overdue invoices in
 * `details`. Called inside the action's transaction, after the buyer's row lock, so a suspension
 * that lands between a page load and a click is still seen.
 */
export async function requireNotSuspended(deps: { db: DbOrTx; clock: Deps['clock'] }, account: BillingAccount, action: string): Promise<void> {
  const view = await suspensionOf(deps, account);
  if (!view.suspended) return;
  throw new AppError('account_suspended', 403, `This account is suspended, so ${action} is not possible. ${suspensionLift(view, account).join(' ')} ${SUSPENDED_CAN}`, {
    reasons: view.reasons,
    overdueInvoices: view.overdue.map((i) => ({ id: i.id, number: formatInvoiceNumber(i.number), dueDay: i.dueDay, totalMinor: i.totalMinor, currency: i.currency })),
    amountDue: view.amountDue,
  });
}

/** Overdue invoices: suspends accounts with two or more, reactivates those with fewer. */
export const suspensionCheckJob = defineJob({ name: SUSPENSION_CHECK_JOB, payload: noPayload, handle: (deps) => runSuspensionCheck(deps) });
