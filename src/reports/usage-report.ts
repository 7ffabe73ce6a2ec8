// The usage report (DESIGN section 11): conversations and credits by day, department,
// sub-account or representative, read from the rollups (usage_daily and its second level for
// the sealed days: src/reports/rollup-levels.ts), never from the raw events.
import { sql, type SQL } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { DateTime } from 'luxon';
import type { DbOrTx } from '../../db/client';
import { pgArray } from '../lib/pg-array';
import { rowsOf } from '../lib/rows';
import { daysIn, monthPlan, sealedThrough } from './rollup-levels';
import { daysOf, parseFilters, reportScope, type ReportFilters, type ReportScope } from './report-filters';

export const usageGroupings = ['day', 'department', 'subAccount', 'representative'] as const;
export type UsageGrouping = (typeof usageGroupings)[number];

export interface UsageRow {
  /** The day (YYYY-MM-DD), or the department, sub-account ('' for the agency's pool) or representative id ('' for none). */
  key: string;
  /** The name to show; null when it is a day, or a name the view supplies (the pool, no representative, removed). */
  name: string | null;
  /** Representatives: the account they belong to (a sub-account's name, null for the agency's own). */
  accountName?: string | null;
  conversations: number;
  credits: number;
}

export interface UsageReport {
  scope: ReportScope;
  filters: ReportFilters;
  by: UsageGrouping;
  rows: UsageRow[];
  totals: { conversations: number; credits: number };
}

/** The rollup rows of the scope and filters, as one SQL condition (tenant first). */
export function usageWhere(scope: ReportScope, f: ReportFilters): SQL {
  const parts: SQL[] = [sql`u.agency_id = ${scope.agencyId}`, sql`u.day between ${f.from}::date and ${f.to}::date`];
  if (f.departmentId) parts.push(sql`u.department_id = ${f.departmentId}`);
  if (f.account.kind === 'pool') parts.push(sql`u.sub_account_id is null`);
  if (f.account.kind === 'sub') parts.push(sql`u.sub_account_id = ${f.account.subAccountId}`);
  return sql.join(parts, sql` and `);
}

/**
 * Where a report's usage rows come from, as a subquery `u` with the grouping's columns,
 * conversations and credits: one account's from usage_daily (its own index); every account's by
 * day or department from usage_agency_daily for the sealed days and usage_daily for the rest; by
 * sub-account or representative from the month level (usage_account_monthly or
 * usage_representative_monthly, usage_monthly with a department filter) and usage_daily combined
 * by monthPlan. `mark` is the agency's last sealed day, read in the same snapshot.
 */
export function usageSource(scope: ReportScope, f: ReportFilters, by: UsageGrouping, mark: string | null): SQL {
  const dept = f.departmentId ? sql` and department_id = ${f.departmentId}` : sql``;
  const agency = sql`agency_id = ${scope.agencyId}`;
  if (f.account.kind !== 'all') {
    return sql`(select day, sub_account_id, department_id, representative_id, conversations, credits from usage_daily u where ${usageWhere(scope, f)}) u`;
  }
  if (by === 'day' || by === 'department') {
    const sealedTo = mark === null ? null : (mark < f.to ? mark : f.to);
    const openFrom = mark === null || mark < f.from ? f.from : DateTime.fromISO(mark, { zone: 'UTC' }).plus({ days: 1 }).toISODate()!;
    const parts: SQL[] = [];
    if (sealedTo !== null && f.from <= sealedTo) {
      parts.push(sql`select day, department_id, conversations, credits from usage_agency_daily where ${agency} and day between ${f.from}::date and ${sealedTo}::date${dept}`);
    }
    if (openFrom <= f.to) parts.push(sql`select day, department_id, conversations, credits from usage_daily where ${agency} and day between ${openFrom}::date and ${f.to}::date${dept}`);
    if (parts.length === 0) parts.push(sql`select null::date, null::text, 0::bigint, 0::bigint where false`);
    return sql`(${sql.join(parts, sql` union all `)}) u(day, department_id, conversations, credits)`;
  }
  const plan = monthPlan(f.from, f.to, mark);
  const cols = by === 'subAccount' ? sql`sub_account_id, ''::text` : sql`sub_account_id, representative_id`;
  // Without a department filter, the month level narrowed to the grouping (a tenth of the rows).
  const monthly = f.departmentId ? sql`usage_monthly` : by === 'subAccount' ? sql`usage_account_monthly` : sql`usage_representative_monthly`;
  const parts: SQL[] = [];
  if (plan.months.length) parts.push(sql`select ${cols}, conversations, credits from ${monthly} where ${agency} and month = any(${pgArray(plan.months)}::date[])${dept}`);
  if (plan.plus.length) parts.push(sql`select ${cols}, conversations, credits from usage_daily where ${agency} and ${daysIn(sql`day`, plan.plus)}${dept}`);
  if (plan.minus.length) parts.push(sql`select ${cols}, -conversations, -credits from usage_daily where ${agency} and ${daysIn(sql`day`, plan.minus)}${dept}`);
  return sql`(${sql.join(parts, sql` union all `)}) u(sub_account_id, representative_id, conversations, credits)`;
}

/** The grouped sums; the SQL of each grouping, also run by bench/reports.ts. */
export function usageQuery(scope: ReportScope, f: ReportFilters, by: UsageGrouping, mark: string | null): SQL {
  const from = usageSource(scope, f, by, mark);
  // Subtracted days can leave a group at zero: it had nothing in the range.
  const some = sql`having sum(u.conversations) <> 0`;
  switch (by) {
    case 'day':
      return sql`select to_char(u.day, 'YYYY-MM-DD') as key, null as name, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
        from ${from} group by u.day order by u.day`;
    case 'department':
      return sql`select g.key, d.name, g.conversations, g.credits from (
          select u.department_id as key, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from ${from} group by u.department_id) g
        left join departments d on d.id = g.key and d.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, d.name`;
    case 'subAccount':
      return sql`select g.key, s.name, g.conversations, g.credits from (
          select coalesce(u.sub_account_id, '') as key, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from ${from} group by 1 ${some}) g
        left join sub_accounts s on s.id = g.key and s.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, s.name`;
    case 'representative':
      return sql`select g.key, r.name, s.name as account_name, g.conversations, g.credits from (
          select u.representative_id as key, min(u.sub_account_id) as sub, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from ${from} group by u.representative_id ${some}) g
        left join representatives r on r.id = g.key and r.agency_id = ${scope.agencyId}
        left join sub_accounts s on s.id = g.sub and s.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, r.name`;
  }
}

/**
 * Runs a report's statements in one read-only snapshot: the agency's seal mark and the rows of
 * both levels as of the same instant (a sealing committing meanwhile is seen whole or not at all).
 */
export async function inReportSnapshot<T>(deps: Pick<Deps, 'db'>, scope: ReportScope, read: (tx: DbOrTx, mark: string | null) => Promise<T>): Promise<T> {
  return deps.db.transaction(async (tx) => {
    // The statements read tens of thousands of rows at most: compiling them (JIT, chosen by the
    // planner's cost of the unions) took longer than running them.
    await tx.execute(sql`set local jit = off`);
    return read(tx, scope.agencyId ? await sealedThrough(tx, scope.agencyId) : null);
  }, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

export async function usageReport(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; query: unknown }): Promise<UsageReport> {
  const scope = await reportScope(deps, params.actor, 'usage');
  const filters = await parseFilters(deps, scope, params.query);
  const rawBy = (params.query as { by?: unknown } | undefined)?.by;
  const by: UsageGrouping = usageGroupings.includes(rawBy as UsageGrouping) ? (rawBy as UsageGrouping) : 'day';
  const rows = rowsOf<{ key: string; name: string | null; account_name?: string | null; conversations: string | number; credits: string | number }>(
    await inReportSnapshot(deps, scope, (tx, mark) => tx.execute(usageQuery(scope, filters, by, mark))),
  ).map((r): UsageRow => ({
    key: r.key, name: r.name, ...(by === 'representative' ? { accountName: r.account_name ?? null } : {}), conversations: Number(r.conversations), credits: Number(r.credits),
  }));
  const totals = rows.reduce((t, r) => ({ conversations: t.conversations + r.conversations, credits: t.credits + r.credits }), { conversations: 0, credits: 0 });
  // By day: every day of the range, the quiet ones as zeros (a chart without gaps).
  const filled = by === 'day' ? fillDays(filters, rows) : rows;
  return { scope, filters, by, rows: filled, totals };
}

function fillDays(f: ReportFilters, rows: UsageRow[]): UsageRow[] {
  const byDay = new Map(rows.map((r) => [r.key, r]));
  return daysOf(f).map((day) => byDay.get(day) ?? { key: day, name: null, conversations: 0, credits: 0 });
}
