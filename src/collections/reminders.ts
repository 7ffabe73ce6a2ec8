// Payment reminders (DESIGN section 10): on the days of its seller's reminder schedule, an open
// invoice's buyer is emailed the amount, the due day, a link to the billing page that pays
// everything overdue at once, and when the account will be suspended under the unchanged rule.
// Each reminder is written to invoice_reminders in the transaction that queues its email, keyed by
// (invoice, step): a run repeated, or resumed after a crash, sends no reminder twice.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { agencies, invoiceReminders, invoices } from '../../db/schema';
import { billingAccount, invoiceRecipients, type BillingAccount } from '../billing/accounts';
import { formatInvoiceNumber } from '../billing/invoice-numbers';
import { addDays, calendarDay, daysBetween } from '../billing/proration';
import type { Deps } from '../deps';
import { newId } from '../lib/ids';
import { money, msg } from '../lib/message';
import { rowsOf } from '../lib/rows';
import { mailLanguage, mailWriter, type MailWriter } from '../mail/language';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import { OVERDUE_INVOICES_TO_SUSPEND, overdueInvoicesOf, suspensionOf } from '../suspension/suspension.usecases';
import { collectionScheduleOf, MAX_REMINDER_OFFSET, type CollectionSchedule } from './collection-settings';
import { actingHour, CATCH_UP_DAYS, dueStepIndex } from './schedule';
import { forecastSuspension, type SuspensionForecast } from './suspension-forecast';

/** An open invoice the run looks at, with its seller's zone. */
export interface OpenInvoice {
  id: string;
  agencyId: string;
  subAccountId: string | null;
  sellerAgencyId: string | null;
  number: number;
  issueDay: string;
  dueDay: string;
  totalMinor: number;
  currency: string;
  zone: string;
}

/**
 * Open invoices whose due day is within `before` days before and `after` days after today in their
 * seller's zone (the platform's zone for the platform's invoices). Unlimited on purpose: a cap would
 * silently skip someone's reminder; the window keeps it to about four months of open invoices.
 */
export async function openInvoicesAround(deps: Pick<Deps, 'db' | 'clock'>, p: { before: number; after: number }): Promise<OpenInvoice[]> {
  const nowIso = deps.clock.now().toISOString();
  const rows = rowsOf<{ id: string; agency_id: string; sub_account_id: string | null; seller_agency_id: string | null; number: number; issue_day: string; due_day: string; total_minor: string | number; currency: string; zone: string }>(await deps.db.execute(sql`
    select i.id, i.agency_id, i.sub_account_id, i.seller_agency_id, i.number, i.issue_day::text as issue_day, i.due_day::text as due_day, i.total_minor, i.currency, z.zone
    from invoices i
    left join agencies s on s.id = i.seller_agency_id
    cross join (select time_zone from platform limit 1) p
    cross join lateral (select coalesce(nullif(s.time_zone, ''), p.time_zone, 'Europe/Istanbul') as zone) z
    where i.status = 'open'
      and i.due_day between (${nowIso}::timestamptz at time zone z.zone)::date - ${p.before}::int and (${nowIso}::timestamptz at time zone z.zone)::date + ${p.after}::int
    order by i.due_day, i.id`));
  return rows.map((r) => ({
    id: r.id, agencyId: r.agency_id, subAccountId: r.sub_account_id, sellerAgencyId: r.seller_agency_id, number: Number(r.number), issueDay: r.issue_day, dueDay: r.due_day,
    totalMinor: Number(r.total_minor), currency: r.currency, zone: r.zone,
  }));
}

/** Each seller's schedule, read once per run. */
export function scheduleCache(deps: Pick<Deps, 'db'>): (sellerAgencyId: string | null) => Promise<CollectionSchedule> {
  const cache = new Map<string, Promise<CollectionSchedule>>();
  return (seller) => {
    const key = seller ?? '';
    let s = cache.get(key);
    if (!s) cache.set(key, (s = collectionScheduleOf(deps.db, seller)));
    return s;
  };
}

/** The reminder step due today for an invoice, or null. A step on or before the issue day is never sent (the invoice email itself was). */
export function reminderDue(inv: Pick<OpenInvoice, 'issueDay' | 'dueDay'>, reminderDays: readonly number[], today: string): number | null {
  const i = dueStepIndex(reminderDays, daysBetween(inv.dueDay, today), (step) => addDays(inv.dueDay, step) > inv.issueDay);
  return i < 0 ? null : reminderDays[i]!;
}

/** The reminders job's work: every open invoice's reminder due today, once. */
export async function sendDueReminders(deps: Deps): Promise<{ sent: number }> {
  const now = deps.clock.now();
  const list = await openInvoicesAround(deps, { before: MAX_REMINDER_OFFSET + CATCH_UP_DAYS, after: MAX_REMINDER_OFFSET });
  const scheduleOf = scheduleCache(deps);
  const due: { inv: OpenInvoice; step: number; today: string }[] = [];
  for (const inv of list) {
    if (!actingHour(now, inv.zone)) continue;
    const today = calendarDay(now, inv.zone);
    const step = reminderDue(inv, (await scheduleOf(inv.sellerAgencyId)).reminderDays, today);
    if (step !== null) due.push({ inv, step, today });
  }
  // Steps already sent (this one, or a later one a changed schedule overtook), read at once.
  const sent = new Map<string, number>();
  for (let i = 0; i < due.length; i += 1000) {
    const ids = due.slice(i, i + 1000).map((d) => d.inv.id);
    const rows = await deps.db.select({ invoiceId: invoiceReminders.invoiceId, offset: invoiceReminders.offsetDays }).from(invoiceReminders).where(inArray(invoiceReminders.invoiceId, ids));
    for (const r of rows) sent.set(r.invoiceId, Math.max(sent.get(r.invoiceId) ?? -Infinity, r.offset));
  }
  let count = 0;
  for (const d of due) {
    if ((sent.get(d.inv.id) ?? -Infinity) >= d.step) continue;
    try {
      if (await sendReminder(deps, d.inv.id, d.step, d.today)) count++;
    } catch (err) {
      // One buyer's failure (a deleted account, a bad address) never stops the others' reminders.
      deps.logger.warn('invoice reminder not sent', { invoiceId: d.inv.id, step: d.step, err: String(err) });
    }
  }
  return { sent: count };
}

/**
 * Sends one reminder, in one transaction: the invoice is locked and must still be open, the
 * reminder row is written (once per invoice and step: a second run finds it and stops), and the
 * email is queued with it. Returns false when there was nothing to send.
 */
export async function sendReminder(deps: Deps, invoiceId: string, step: number, today: string): Promise<boolean> {
  const now = deps.clock.now();
  const mailId = await deps.db.transaction(async (tx) => {
    const [inv] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
    if (!inv || inv.status !== 'open') return undefined;
    const [later] = await tx.select({ id: invoiceReminders.id }).from(invoiceReminders).where(and(eq(invoiceReminders.invoiceId, inv.id), sql`${invoiceReminders.offsetDays} >= ${step}`)).limit(1);
    if (later) return undefined;
    const id = newId('rem');
    const inserted = await tx.insert(invoiceReminders).values({
      id, invoiceId: inv.id, agencyId: inv.agencyId, subAccountId: inv.subAccountId, sellerAgencyId: inv.sellerAgencyId, offsetDays: step, day: today, createdAt: now,
    }).onConflictDoNothing().returning({ id: invoiceReminders.id });
    if (!inserted.length) return undefined;
    const account = await billingAccount(tx, inv.agencyId, inv.subAccountId);
    const mail = await composeReminder(deps, tx, { inv, account, step, today });
    const emailId = await notify(tx, {
      // A reminder says when the account will be suspended: like the suspension notice itself, it
      // goes by email whatever the notification choices (docs/collections.md).
      category: 'billing', kind: 'invoice_reminder', alwaysEmail: true, account: { agencyId: inv.agencyId, subAccountId: inv.subAccountId }, at: now,
      inApp: { message: mail.inApp, data: { invoiceId: inv.id, number: formatInvoiceNumber(inv.number), step } },
      email: { idempotencyKey: `invoice-reminder:${inv.id}:${step}`, message: { to: mail.to, cc: mail.cc, subject: mail.subject, text: mail.text } },
    });
    await tx.update(invoiceReminders).set({ emailId }).where(eq(invoiceReminders.id, id));
    return emailId;
  });
  if (mailId === undefined) return false;
  await dispatchEmails(deps.queue, [mailId]);
  return true;
}

/** Where a reminder's link goes: the buyer's billing page (which pays everything overdue at once), on its agency's portal domain when it has one. */
export async function payPageUrl(deps: Pick<Deps, 'config'>, tx: Tx, account: Pick<BillingAccount, 'agencyId' | 'subAccountId'>): Promise<string> {
  if (!account.subAccountId) return `${deps.config.publicUrl}/agency/billing`;
  const [a] = await tx.select({ portalDomain: agencies.portalDomain }).from(agencies).where(eq(agencies.id, account.agencyId));
  // The same rule as invitations: the agency's own domain only where the deployment routes by host.
  const base = a?.portalDomain && deps.config.trustHostHeader ? `${new URL(deps.config.publicUrl).protocol}//${a.portalDomain}` : deps.config.publicUrl;
  return `${base}/portal/billing`;
}

type InvoiceRow = typeof invoices.$inferSelect;

async function composeReminder(deps: Deps, tx: Tx, p: { inv: InvoiceRow; account: BillingAccount; step: number; today: string }) {
  const { inv, account, today } = p;
  const { to, cc } = await invoiceRecipients(tx, inv.agencyId, inv.subAccountId);
  const w = mailWriter(await mailLanguage(tx, inv.agencyId, to), account.zone);
  const view = await suspensionOf({ db: tx, clock: deps.clock }, account);
  const unpaid = await tx.select({ dueDay: invoices.dueDay }).from(invoices).where(and(eq(invoices.buyerId, account.buyerId), eq(invoices.agencyId, inv.agencyId), inArray(invoices.status, ['draft', 'open'])));
  const forecast = forecastSuspension({ unpaidDueDays: unpaid.map((u) => u.dueDay), today, suspendedForInvoices: view.reasons.includes('overdue') });
  const overdue = view.reasons.includes('overdue') ? view.overdue : await overdueInvoicesOf(tx, account, today);
  const n = formatInvoiceNumber(inv.number);
  const amount = money(inv.totalMinor, inv.currency);
  // Worded by the day it goes, not by its step: a step caught up a day late is no longer "due today".
  const fromDue = daysBetween(inv.dueDay, today);
  const when = fromDue < 0 ? 'before' : fromDue === 0 ? 'on' : 'after';
  const subjectKey = `collections:email.subject.${when}`;
  const subjectParams = { n, amount, due: inv.dueDay, seller: account.sellerName };
  const link = await payPageUrl(deps, tx, account);
  const totals = totalsOf(overdue);
  const text = w.t('collections:email.body', {
    buyer: account.buyerName,
    lead: w.t(`collections:email.lead.${when}`, { n, seller: account.sellerName, due: inv.dueDay, count: Math.max(0, fromDue) }),
    details: w.t('collections:email.details', { amount, due: inv.dueDay }),
    overdue: overdue.length ? w.t('collections:email.overdueTotal', { count: overdue.length, total: totals }) : '',
    pay: w.t(overdue.length ? 'collections:email.payAll' : 'collections:email.payOne', { link }),
    signIn: w.t('collections:email.signIn'),
    suspension: suspensionText(w, forecast),
    seller: account.sellerName,
  }).replace(/\n{3,}/g, '\n\n');
  return { to, cc, subject: w.t(subjectKey, subjectParams), text, inApp: msg(subjectKey, subjectParams) };
}

/** The suspension paragraph of a reminder (the unchanged rule, read forward). */
export function suspensionText(w: Pick<MailWriter, 't'>, f: SuspensionForecast): string {
  if (f.kind === 'suspended') return w.t('collections:email.suspension.suspended', { min: OVERDUE_INVOICES_TO_SUSPEND });
  if (f.kind === 'on') return w.t('collections:email.suspension.on', { day: f.day, min: OVERDUE_INVOICES_TO_SUSPEND });
  return w.t('collections:email.suspension.anotherInvoice', { min: OVERDUE_INVOICES_TO_SUSPEND });
}

function totalsOf(list: readonly { totalMinor: number; currency: string }[]): { minor: number; currency: string }[] {
  const by = new Map<string, number>();
  for (const i of list) by.set(i.currency, (by.get(i.currency) ?? 0) + i.totalMinor);
  return [...by].map(([currency, minor]) => ({ minor, currency }));
}
