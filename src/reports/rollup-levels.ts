// The second level of the report rollups (docs/reports.md, "Rollups"): usage_daily and
// credit_flow_daily summed again for an agency's sealed days, by agency and day (usage_agency_daily,
// credit_flow_agency_daily) and by account and month (usage_monthly, and narrower
// usage_account_monthly and usage_representative_monthly for the reports without a department
// filter; credit_flow_monthly).
//
// Exact by a watermark and a lock. report_rollup_marks holds each agency's last sealed day; the
// second-level tables hold exactly the day-level sums of the days up to it. The sealing job moves
// the mark forward and adds the newly sealed days in one transaction under the agency's report
// lock (an advisory lock, taken alone); every day-level writer (usage_apply, the ledger trigger)
// takes the same lock shared before the statement that writes its rows, and that statement also
// adds them to the second level when their day is already sealed (a clock behind the job's, an
// expiry recorded at its past instant). So a sealing either sees a writer's rows or the writer
// sees the new mark, never neither; and a second sealing of the same days finds the mark past
// them and adds nothing. No agency-level row is written on the usage path unless a day is late.
//
// A report reads the mark and the rows in one snapshot and combines the levels by `monthPlan`.
import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { DbOrTx } from '../../db/client';
import type { Deps } from '../deps';
import { rowsOf } from '../lib/rows';
import { defineJob, noPayload } from '../queue/job';

/** The advisory lock class of the report lock (its second key: hashtext(agency id)). */
export const REPORT_LOCK_CLASS = 17017;
/** How long the job waits for the agency's in-flight writers before trying again at the next run. */
const SEAL_LOCK_TIMEOUT = '500ms';

const iso = (s: string) => DateTime.fromISO(s, { zone: 'UTC' });
const plusDays = (day: string, n: number) => iso(day).plus({ days: n }).toISODate()!;
const daysBetween = (a: string, b: string) => Math.round(iso(b).diff(iso(a), 'days').days) + 1;
const minDay = (a: string, b: string) => (a < b ? a : b);
const maxDay = (a: string, b: string) => (a > b ? a : b);

export type DayRange = readonly [from: string, to: string];

/**
 * How to sum [from, to] of a per-account rollup from the two levels, given the last sealed day:
 * the months' rows (each holds its sealed days), plus the `plus` days and minus the `minus` days
 * of the day level. A month mostly inside the range is read whole and the few sealed days outside
 * it are subtracted; a month mostly outside is read by its days; days after the mark by their days.
 */
export function monthPlan(from: string, to: string, mark: string | null): { months: string[]; plus: DayRange[]; minus: DayRange[] } {
  const months: string[] = [];
  const plus: DayRange[] = [];
  const minus: DayRange[] = [];
  for (let m = iso(from).startOf('month'); m.toISODate()! <= to; m = m.plus({ months: 1 })) {
    const ms = m.toISODate()!;
    const me = m.endOf('month').toISODate()!;
    const a = maxDay(from, ms);
    const b = minDay(to, me);
    if (mark === null || mark < ms) {
      plus.push([a, b]);
      continue;
    }
    const se = minDay(me, mark);
    const sealedEnd = minDay(b, se);
    if (a <= sealedEnd) {
      const inside = daysBetween(a, sealedEnd);
      const outside = daysBetween(ms, se) - inside;
      if (outside < inside) {
        months.push(ms);
        if (a > ms) minus.push([ms, plusDays(a, -1)]);
        if (sealedEnd < se) minus.push([plusDays(sealedEnd, 1), se]);
      } else plus.push([a, sealedEnd]);
    }
    const open = maxDay(a, plusDays(se, 1));
    if (open <= b) plus.push([open, b]);
  }
  return { months, plus: merge(plus), minus };
}

function merge(ranges: DayRange[]): DayRange[] {
  const out: [string, string][] = [];
  for (const [a, b] of ranges) {
    const last = out.at(-1);
    if (last && plusDays(last[1], 1) === a) last[1] = b;
    else out.push([a, b]);
  }
  return out;
}

/** The day condition of a list of ranges on `col` (false when empty). */
export function daysIn(col: SQL, ranges: readonly DayRange[]): SQL {
  if (ranges.length === 0) return sql`false`;
  return sql`(${sql.join(ranges.map(([a, b]) => sql`${col} between ${a}::date and ${b}::date`), sql` or `)})`;
}

/** The agency's last sealed day, or null (nothing sealed: everything is read from the day level). */
export async function sealedThrough(db: DbOrTx, agencyId: string): Promise<string | null> {
  const [row] = rowsOf<{ d: string }>(await db.execute(sql`select to_char(sealed_through, 'YYYY-MM-DD') as d from report_rollup_marks where agency_id = ${agencyId}`));
  return row?.d ?? null;
}

/** Takes the agency's report lock alone (waits for the writers holding it shared). */
export async function lockReports(tx: DbOrTx, agencyId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${REPORT_LOCK_CLASS}, hashtext(${agencyId}))`);
}

/**
 * Adds the agency's days after its mark up to `through` to the second level and moves the mark;
 * the caller holds the report lock. Nothing when the mark is already there.
 */
export async function sealLocked(tx: DbOrTx, agencyId: string, through: string): Promise<{ from: string | null; through: string } | null> {
  const mark = await sealedThrough(tx, agencyId);
  if (mark !== null && mark >= through) return null;
  const days = (col: string) => (mark === null ? sql`${sql.raw(col)} <= ${through}::date` : sql`${sql.raw(col)} > ${mark}::date and ${sql.raw(col)} <= ${through}::date`);
  await tx.execute(sql`
    insert into usage_agency_daily as t (agency_id, day, department_id, conversations, credits)
    select agency_id, day, department_id, sum(conversations), sum(credits) from usage_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3
    on conflict (agency_id, day, department_id) do update set conversations = t.conversations + excluded.conversations, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into usage_monthly as t (agency_id, month, account_id, sub_account_id, department_id, representative_id, conversations, credits)
    select agency_id, date_trunc('month', day)::date, account_id, min(sub_account_id), department_id, representative_id, sum(conversations), sum(credits)
    from usage_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3, 5, 6
    on conflict (agency_id, month, account_id, department_id, representative_id) do update set conversations = t.conversations + excluded.conversations, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into usage_account_monthly as t (agency_id, month, account_id, sub_account_id, conversations, credits)
    select agency_id, date_trunc('month', day)::date, account_id, min(sub_account_id), sum(conversations), sum(credits)
    from usage_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3
    on conflict (agency_id, month, account_id) do update set conversations = t.conversations + excluded.conversations, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into usage_representative_monthly as t (agency_id, month, account_id, representative_id, sub_account_id, conversations, credits)
    select agency_id, date_trunc('month', day)::date, account_id, representative_id, min(sub_account_id), sum(conversations), sum(credits)
    from usage_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3, 4
    on conflict (agency_id, month, account_id, representative_id) do update set conversations = t.conversations + excluded.conversations, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into credit_flow_agency_daily as t (agency_id, day, reason, source, entries, credits)
    select agency_id, day, reason, source, sum(entries), sum(credits) from credit_flow_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3, 4
    on conflict (agency_id, day, reason, source) do update set entries = t.entries + excluded.entries, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into credit_flow_monthly as t (agency_id, month, account_id, sub_account_id, reason, source, entries, credits)
    select agency_id, date_trunc('month', day)::date, account_id, min(sub_account_id), reason, source, sum(entries), sum(credits)
    from credit_flow_daily where agency_id = ${agencyId} and ${days('day')} group by 1, 2, 3, 5, 6
    on conflict (agency_id, month, account_id, reason, source) do update set entries = t.entries + excluded.entries, credits = t.credits + excluded.credits`);
  await tx.execute(sql`
    insert into report_rollup_marks (agency_id, sealed_through) values (${agencyId}, ${through}::date)
    on conflict (agency_id) do update set sealed_through = excluded.sealed_through`);
  return { from: mark === null ? null : plusDays(mark, 1), through };
}

/** Seals the agency's days up to `through` (inclusive). Safe to run twice or concurrently. */
export async function sealReportDays(db: DbOrTx, params: { agencyId: string; through: string }) {
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local lock_timeout = '${SEAL_LOCK_TIMEOUT}'`));
    await lockReports(tx, params.agencyId);
    await tx.execute(sql`set local lock_timeout = 0`);
    return sealLocked(tx, params.agencyId, params.through);
  });
}

/** Removes the agency's second level (its days then read from the day level until sealed again). */
export async function unsealLocked(tx: DbOrTx, agencyId: string): Promise<void> {
  for (const table of ['usage_agency_daily', 'usage_monthly', 'usage_account_monthly', 'usage_representative_monthly', 'credit_flow_agency_daily', 'credit_flow_monthly', 'report_rollup_marks']) {
    await tx.execute(sql`delete from ${sql.identifier(table)} where agency_id = ${agencyId}`);
  }
}

/**
 * The sealing run: every agency whose closed days (before today in its time zone) are not all
 * sealed gets them sealed. An agency whose writers hold the lock past the timeout is left for the
 * next run.
 */
export async function runReportSealing(deps: Pick<Deps, 'db' | 'clock' | 'logger'>): Promise<{ sealed: number; skipped: number }> {
  const now = deps.clock.now().toISOString();
  const due = rowsOf<{ id: string; through: string }>(await deps.db.execute(sql`
    select a.id, to_char((${now}::timestamptz at time zone coalesce(a.time_zone, 'UTC'))::date - 1, 'YYYY-MM-DD') as through
    from agencies a left join report_rollup_marks m on m.agency_id = a.id
    where m.sealed_through is null or m.sealed_through < (${now}::timestamptz at time zone coalesce(a.time_zone, 'UTC'))::date - 1
    order by a.id`));
  let sealed = 0;
  let skipped = 0;
  for (const a of due) {
    try {
      if (await sealReportDays(deps.db, { agencyId: a.id, through: a.through })) sealed++;
    } catch (err) {
      skipped++;
      deps.logger.warn('report sealing: agency left for the next run', { agencyId: a.id, err: String(err) });
    }
  }
  return { sealed, skipped };
}

export const REPORT_SEALING_JOB = 'reports.seal';
export const reportSealingJob = defineJob({ name: REPORT_SEALING_JOB, payload: noPayload, handle: (deps) => runReportSealing(deps) });
