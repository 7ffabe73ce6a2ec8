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
  /** The rows: every day or department; by sub-account or representative, the page's groups (every group for the CSV). */
  rows: UsageRow[];
  /** The range's totals (all groups, on every page). */
  totals: { conversations: number; credits: number };
  /** By sub-account or representative, but for the CSV: which page, and the groups not on it. */
  paging?: GroupPaging;
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

/** Groupings with many groups (one per sub-account or representative): answered a page at a time. */
export const pagedUsageGroupings: readonly UsageGrouping[] = ['subAccount', 'representative'];

/** Groups on a page of the pages and the API unless `limit` says otherwise; the API's most. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Which groups of a many-group report to return: a page (largest first), or every group (the CSV). */
export type GroupWindow = { page: number; limit: number } | 'all';

/** The page of a many-group report: where it is, and what the groups not on it add up to. */
export interface GroupPaging {
  page: number;
  limit: number;
  /** Groups in the range (all pages). */
  groups: number;
  pages: number;
  /** The range's groups not on this page ("all others"): how many, and their sums. */
  others: { groups: number; conversations: number; credits: number };
}

/** A window's rows of a sorted statement: `limit ... offset ...` for a page, nothing for every group. */
export const windowSlice = (window: GroupWindow): SQL => (window === 'all' ? sql`` : sql` limit ${window.limit} offset ${(window.page - 1) * window.limit}`);

/** The page a query asks for (`page` from 1, `limit` up to MAX_PAGE_SIZE); out-of-range values fall back. */
export function groupWindow(query: unknown): { page: number; limit: number } {
  const q = (query ?? {}) as { page?: unknown; limit?: unknown };
  const int = (v: unknown, fallback: number, max: number) => {
    const n = typeof v === 'string' && /^\d{1,7}$/.test(v.trim()) ? Number(v) : typeof v === 'number' && Number.isInteger(v) ? v : NaN;
    return n >= 1 ? Math.min(n, max) : fallback;
  };
  return { page: int(q.page, 1, 1_000_000), limit: int(q.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) };
}

/**
 * The grouped sums of the by-day and by-department reports (few groups: all of them). The
 * many-group ones are `usageGroupQuery`'s.
 */
export function usageQuery(scope: ReportScope, f: ReportFilters, by: 'day' | 'department', mark: string | null): SQL {
  const from = usageSource(scope, f, by, mark);
  if (by === 'day') {
    return sql`select to_char(u.day, 'YYYY-MM-DD') as key, null as name, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
      from ${from} group by u.day order by u.day`;
  }
  return sql`select g.key, d.name, g.conversations, g.credits from (
      select u.department_id as key, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
      from ${from} group by u.department_id) g
    left join departments d on d.id = g.key and d.agency_id = ${scope.agencyId}
    order by g.credits desc, g.conversations desc, d.name`;
}

/**
 * By sub-account or representative, in one statement: every group summed in SQL, sorted (credits,
 * then conversations, largest first; the id breaks ties so that pages do not overlap), the
 * window's groups named (the names joined for those rows only) in part 1, and the range's totals
 * and number of groups in part 0. A group that nets to zero (subtracted days) had nothing in the
 * range and is left out.
 */
export function usageGroupQuery(scope: ReportScope, f: ReportFilters, by: 'subAccount' | 'representative', mark: string | null, window: GroupWindow): SQL {
  const from = usageSource(scope, f, by, mark);
  const key = by === 'subAccount' ? sql`coalesce(u.sub_account_id, '')` : sql`u.representative_id`;
  const slice = windowSlice(window);
  const names = by === 'subAccount'
    ? sql`s.name, null::text, p.conversations, p.credits, null::bigint from p left join sub_accounts s on s.id = p.key and s.agency_id = ${scope.agencyId}`
    : sql`r.name, s.name, p.conversations, p.credits, null::bigint from p
        left join representatives r on r.id = p.key and r.agency_id = ${scope.agencyId}
        left join sub_accounts s on s.id = p.sub and s.agency_id = ${scope.agencyId}`;
  // The representative's sub-account (for its name): every row of a representative has the same one;
  // min under "C" compares bytes (the database's collation made it a third of the statement's time).
  return sql`with g as (
      select ${key} as key, ${by === 'representative' ? sql`min(u.sub_account_id collate "C")` : sql`null::text`} as sub, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
      from ${from} group by 1 having sum(u.conversations) <> 0),
    p as (select key, sub, conversations, credits from g order by credits desc, conversations desc, key${slice})
    select 0 as part, 0::bigint as ord, null::text as key, null::text as name, null::text as account_name,
      coalesce(sum(conversations), 0)::bigint as conversations, coalesce(sum(credits), 0)::bigint as credits, count(*)::bigint as groups from g
    union all
    select 1, row_number() over (order by p.credits desc, p.conversations desc, p.key), p.key, ${names}
    order by 1, 2`;
}

/**
 * Runs a report's statements in one read-only snapshot: the agency's seal mark and the rows of
 * both levels as of the same instant (a sealing committing meanwhile is seen whole or not at all).
 */
export async function inReportSnapshot<T>(deps: Pick<Deps, 'db'>, scope: ReportScope, read: (tx: DbOrTx, mark: string | null) => Promise<T>): Promise<T> {
  return deps.db.transaction(async (tx) => {
    // The statements read at most a few hundred thousand rollup rows: compiling them (JIT, chosen
    // by the planner's cost of the unions) took longer than running them; and parallel workers
    // (a Gather over partial aggregates) made them slower on a busy machine, where the workers wait
    // for the same cores as the leader (by representative, 10,000 clients: 530 -> 370 ms at a load
    // average of 12; docs/benchmarks.md). A report is one core's work.
    await tx.execute(sql`set local jit = off`);
    await tx.execute(sql`set local max_parallel_workers_per_gather = 0`);
    return read(tx, scope.agencyId ? await sealedThrough(tx, scope.agencyId) : null);
  }, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

export async function usageReport(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; query: unknown; all?: boolean }): Promise<UsageReport> {
  const scope = await reportScope(deps, params.actor, 'usage');
  const filters = await parseFilters(deps, scope, params.query);
  const rawBy = (params.query as { by?: unknown } | undefined)?.by;
  const by: UsageGrouping = usageGroupings.includes(rawBy as UsageGrouping) ? (rawBy as UsageGrouping) : 'day';
  type Row = { part?: number; key: string; name: string | null; account_name?: string | null; conversations: string | number; credits: string | number; groups?: string | number };
  const toRow = (r: Row): UsageRow => ({
    key: r.key, name: r.name, ...(by === 'representative' ? { accountName: r.account_name ?? null } : {}), conversations: Number(r.conversations), credits: Number(r.credits),
  });
  if (by === 'day' || by === 'department') {
    const rows = rowsOf<Row>(await inReportSnapshot(deps, scope, (tx, mark) => tx.execute(usageQuery(scope, filters, by, mark)))).map(toRow);
    const totals = rows.reduce((t, r) => ({ conversations: t.conversations + r.conversations, credits: t.credits + r.credits }), { conversations: 0, credits: 0 });
    // By day: every day of the range, the quiet ones as zeros (a chart without gaps).
    return { scope, filters, by, rows: by === 'day' ? fillDays(filters, rows) : rows, totals };
  }
  const window: GroupWindow = params.all ? 'all' : groupWindow(params.query);
  const all = rowsOf<Row>(await inReportSnapshot(deps, scope, (tx, mark) => tx.execute(usageGroupQuery(scope, filters, by, mark, window))));
  const head = all.find((r) => Number(r.part) === 0);
  const rows = all.filter((r) => Number(r.part) === 1).map(toRow);
  const totals = { conversations: Number(head?.conversations ?? 0), credits: Number(head?.credits ?? 0) };
  if (window === 'all') return { scope, filters, by, rows, totals };
  const groups = Number(head?.groups ?? 0);
  const shown = rows.reduce((t, r) => ({ conversations: t.conversations + r.conversations, credits: t.credits + r.credits }), { conversations: 0, credits: 0 });
  const paging: GroupPaging = {
    page: window.page, limit: window.limit, groups, pages: Math.max(1, Math.ceil(groups / window.limit)),
    others: { groups: groups - rows.length, conversations: totals.conversations - shown.conversations, credits: totals.credits - shown.credits },
  };
  return { scope, filters, by, rows, totals, paging };
}

function fillDays(f: ReportFilters, rows: UsageRow[]): UsageRow[] {
  const byDay = new Map(rows.map((r) => [r.key, r]));
  return daysOf(f).map((day) => byDay.get(day) ?? { key: day, name: null, conversations: 0, credits: 0 });
}
