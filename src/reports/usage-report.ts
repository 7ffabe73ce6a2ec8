// The usage report (DESIGN section 11): conversations and credits by day, department,
// sub-account or representative, read from the usage_daily rollup (one index range of the
// agency's days), never from the raw events.
import { sql, type SQL } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { rowsOf } from '../lib/rows';
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

/** The grouped sums; the SQL of each grouping, also run by bench/reports.ts. */
export function usageQuery(scope: ReportScope, f: ReportFilters, by: UsageGrouping): SQL {
  const where = usageWhere(scope, f);
  switch (by) {
    case 'day':
      return sql`select to_char(u.day, 'YYYY-MM-DD') as key, null as name, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
        from usage_daily u where ${where} group by u.day order by u.day`;
    case 'department':
      return sql`select g.key, d.name, g.conversations, g.credits from (
          select u.department_id as key, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from usage_daily u where ${where} group by u.department_id) g
        left join departments d on d.id = g.key and d.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, d.name`;
    case 'subAccount':
      return sql`select g.key, s.name, g.conversations, g.credits from (
          select coalesce(u.sub_account_id, '') as key, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from usage_daily u where ${where} group by 1) g
        left join sub_accounts s on s.id = g.key and s.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, s.name`;
    case 'representative':
      return sql`select g.key, r.name, s.name as account_name, g.conversations, g.credits from (
          select u.representative_id as key, min(u.sub_account_id) as sub, sum(u.conversations)::bigint as conversations, sum(u.credits)::bigint as credits
          from usage_daily u where ${where} group by u.representative_id) g
        left join representatives r on r.id = g.key and r.agency_id = ${scope.agencyId}
        left join sub_accounts s on s.id = g.sub and s.agency_id = ${scope.agencyId}
        order by g.credits desc, g.conversations desc, r.name`;
  }
}

export async function usageReport(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; query: unknown }): Promise<UsageReport> {
  const scope = await reportScope(deps, params.actor, 'usage');
  const filters = await parseFilters(deps, scope, params.query);
  const rawBy = (params.query as { by?: unknown } | undefined)?.by;
  const by: UsageGrouping = usageGroupings.includes(rawBy as UsageGrouping) ? (rawBy as UsageGrouping) : 'day';
  const rows = rowsOf<{ key: string; name: string | null; account_name?: string | null; conversations: string | number; credits: string | number }>(
    await deps.db.execute(usageQuery(scope, filters, by)),
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
