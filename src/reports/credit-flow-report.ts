// The credit-flow report (DESIGN sections 2 and 11): credits in by source, out, forfeited and
// expired, per day or per account, from the two rollups: credit_flow_daily (every ledger entry
// but usage) and usage_daily (usage's debits). Their sum over any range is the ledger's
// (test/reports/rollups.test.ts holds them to it).
import { sql, type SQL } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { pgArray } from '../lib/pg-array';
import { DateTime } from 'luxon';
import { rowsOf } from '../lib/rows';
import { daysIn, monthPlan } from './rollup-levels';
import { daysOf, parseFilters, reportScope, type ReportFilters, type ReportScope } from './report-filters';
import { groupWindow, inReportSnapshot, windowSlice, type GroupWindow } from './usage-report';

/** The columns of the report: credits in by source, then out; all as positive numbers but `net`. */
export const flowColumns = [
  'purchases', 'grants', 'topups', 'adjustmentsIn', 'transfersIn', 'otherIn',
  'usage', 'transfersOut', 'adjustmentsOut', 'forfeited', 'expired', 'otherOut',
] as const;
export type FlowColumn = (typeof flowColumns)[number];
export const flowInColumns: readonly FlowColumn[] = ['purchases', 'grants', 'topups', 'adjustmentsIn', 'transfersIn', 'otherIn'];

export type FlowFigures = Record<FlowColumn, number> & { in: number; out: number; net: number };

export const flowGroupings = ['day', 'account'] as const;
export type FlowGrouping = (typeof flowGroupings)[number];

export interface FlowRow extends FlowFigures {
  /** The day, or the account: a sub-account id, '' for the agency's pool. */
  key: string;
  name: string | null;
}

export interface CreditFlowReport {
  scope: ReportScope;
  filters: ReportFilters;
  by: FlowGrouping;
  /** By day every day; by account the page's accounts (every account for the CSV). */
  rows: FlowRow[];
  /** The range's totals (all accounts, on every page). */
  totals: FlowFigures;
  /** By account, but for the CSV: which page, and the accounts not on it. */
  paging?: FlowPaging;
}

/** The page of credit flow by account, and what the accounts not on it add up to ("all others"). */
export interface FlowPaging {
  page: number;
  limit: number;
  groups: number;
  pages: number;
  others: FlowFigures & { groups: number };
}

/** Where a rollup row (ledger reason, lot source, summed delta) goes among the columns. */
export function flowColumn(reason: string, source: string, credits: number): FlowColumn {
  switch (source) {
    case 'purchase': return 'purchases';
    case 'monthly_grant': return 'grants';
    case 'topup': return 'topups';
    case 'adjustment': return credits >= 0 ? 'adjustmentsIn' : 'adjustmentsOut';
    case 'transfer': return 'transfersIn';
    default: break;
  }
  switch (reason) {
    case 'consume': return 'usage';
    case 'transfer_out': return 'transfersOut';
    case 'transfer_in': return 'transfersIn';
    case 'forfeit': return 'forfeited';
    case 'expire': return 'expired';
    case 'adjustment': return credits >= 0 ? 'adjustmentsIn' : 'adjustmentsOut';
    default: return credits >= 0 ? 'otherIn' : 'otherOut';
  }
}

export const emptyFigures = (): FlowFigures => ({ ...(Object.fromEntries(flowColumns.map((c) => [c, 0])) as Record<FlowColumn, number>), in: 0, out: 0, net: 0 });

function add(into: FlowFigures, column: FlowColumn, credits: number) {
  into[column] += Math.abs(credits);
  into.net += credits;
  if (flowInColumns.includes(column)) into.in += credits;
  else into.out -= credits;
}

function accountCondition(f: ReportFilters, alias: 'u' | 'c'): SQL[] {
  const col = sql.raw(`${alias}.sub_account_id`);
  if (f.account.kind === 'pool') return [sql`${col} is null`];
  if (f.account.kind === 'sub') return [sql`${col} = ${f.account.subAccountId}`];
  return [];
}

/**
 * One statement: the ledger rollup by reason and source, and usage as 'consume', by key. One
 * account's from the day level; every account's by day from the agency-day level for the sealed
 * days (`mark`, read in the same snapshot) and the day level for the rest; by account from the
 * month level and the day level combined by monthPlan.
 */
export function flowQuery(scope: ReportScope, f: ReportFilters, by: FlowGrouping, mark: string | null): SQL {
  const key = (alias: 'u' | 'c') => (by === 'day' ? sql.raw(`to_char(${alias}.day, 'YYYY-MM-DD')`) : sql.raw(`coalesce(${alias}.sub_account_id, '')`));
  if (f.account.kind !== 'all') {
    const whereOf = (alias: 'u' | 'c') => {
      const t = sql.raw(alias);
      return sql.join([sql`${t}.agency_id = ${scope.agencyId}`, sql`${t}.day between ${f.from}::date and ${f.to}::date`, ...accountCondition(f, alias)], sql` and `);
    };
    return sql`
      select ${key('c')} as key, c.reason, c.source, sum(c.credits)::bigint as credits from credit_flow_daily c where ${whereOf('c')} group by 1, 2, 3
      union all
      select ${key('u')} as key, 'consume', '', -sum(u.credits)::bigint from usage_daily u where ${whereOf('u')} group by 1`;
  }
  const agency = sql`agency_id = ${scope.agencyId}`;
  let flow: SQL[];
  let usage: SQL[];
  if (by === 'day') {
    const sealedTo = mark === null ? null : (mark < f.to ? mark : f.to);
    const openFrom = mark === null || mark < f.from ? f.from : DateTime.fromISO(mark, { zone: 'UTC' }).plus({ days: 1 }).toISODate()!;
    flow = [];
    usage = [];
    if (sealedTo !== null && f.from <= sealedTo) {
      flow.push(sql`select day, reason, source, credits from credit_flow_agency_daily where ${agency} and day between ${f.from}::date and ${sealedTo}::date`);
      usage.push(sql`select day, credits from usage_agency_daily where ${agency} and day between ${f.from}::date and ${sealedTo}::date`);
    }
    if (openFrom <= f.to) {
      flow.push(sql`select day, reason, source, credits from credit_flow_daily where ${agency} and day between ${openFrom}::date and ${f.to}::date`);
      usage.push(sql`select day, credits from usage_daily where ${agency} and day between ${openFrom}::date and ${f.to}::date`);
    }
    if (flow.length === 0) {
      flow.push(sql`select null::date, null::text, null::text, 0::bigint where false`);
      usage.push(sql`select null::date, 0::bigint where false`);
    }
    return sql`
      select ${key('c')} as key, c.reason, c.source, sum(c.credits)::bigint as credits from (${sql.join(flow, sql` union all `)}) c(day, reason, source, credits) group by 1, 2, 3
      union all
      select ${key('u')} as key, 'consume', '', -sum(u.credits)::bigint from (${sql.join(usage, sql` union all `)}) u(day, credits) group by 1`;
  }
  const plan = monthPlan(f.from, f.to, mark);
  flow = [];
  usage = [];
  if (plan.months.length) {
    flow.push(sql`select sub_account_id, reason, source, credits from credit_flow_monthly where ${agency} and month = any(${pgArray(plan.months)}::date[])`);
    usage.push(sql`select sub_account_id, credits from usage_account_monthly where ${agency} and month = any(${pgArray(plan.months)}::date[])`);
  }
  if (plan.plus.length) {
    flow.push(sql`select sub_account_id, reason, source, credits from credit_flow_daily where ${agency} and ${daysIn(sql`day`, plan.plus)}`);
    usage.push(sql`select sub_account_id, credits from usage_daily where ${agency} and ${daysIn(sql`day`, plan.plus)}`);
  }
  if (plan.minus.length) {
    flow.push(sql`select sub_account_id, reason, source, -credits from credit_flow_daily where ${agency} and ${daysIn(sql`day`, plan.minus)}`);
    usage.push(sql`select sub_account_id, -credits from usage_daily where ${agency} and ${daysIn(sql`day`, plan.minus)}`);
  }
  return sql`
    select ${key('c')} as key, c.reason, c.source, sum(c.credits)::bigint as credits from (${sql.join(flow, sql` union all `)}) c(sub_account_id, reason, source, credits) group by 1, 2, 3
    union all
    select ${key('u')} as key, 'consume', '', -sum(u.credits)::bigint from (${sql.join(usage, sql` union all `)}) u(sub_account_id, credits) group by 1`;
}

/** `flowColumn`'s split into credits in and out, in SQL (on a summed key x reason x source row). */
const flowIsIn = (reason: SQL, source: SQL, credits: SQL) => sql`(case
  when ${source} in ('purchase', 'monthly_grant', 'topup', 'transfer') then true
  when ${source} = 'adjustment' then ${credits} >= 0
  when ${reason} in ('consume', 'transfer_out', 'forfeit', 'expire') then false
  when ${reason} = 'transfer_in' then true
  else ${credits} >= 0 end)`;

/**
 * Credit flow by account, in one statement: flowQuery's rows (account x reason x source), each
 * account's credits in and out summed in SQL, the accounts sorted (out, then in, largest first; the
 * id breaks ties), and the window's accounts' rows with their names (part 1, `ord` their place);
 * part 0: the range's totals by reason, source and sign (summed as the rows are: a column takes
 * each account's net of a reason and source), and the number of accounts.
 */
export function flowAccountQuery(scope: ReportScope, f: ReportFilters, mark: string | null, window: GroupWindow): SQL {
  const slice = windowSlice(window);
  const isIn = flowIsIn(sql`q.reason`, sql`q.source`, sql`q.credits`);
  return sql`with q as (select * from (${flowQuery(scope, f, 'account', mark)}) q0 where credits <> 0),
    k as (select q.key, sum(case when ${isIn} then q.credits else 0 end) as cin, sum(case when ${isIn} then 0 else -q.credits end) as cout from q group by q.key),
    p as (select key, cin, cout from k order by cout desc, cin desc, key${slice}),
    o as (select key, row_number() over (order by cout desc, cin desc, key) as ord from p)
    select 0 as part, 0::bigint as ord, null::text as key, null::text as name, q.reason, q.source, sum(q.credits)::bigint as credits, (select count(*) from k)::bigint as groups
    from q group by q.reason, q.source, q.credits >= 0
    union all
    select 0, 0, null, null, null, null, 0, (select count(*) from k) where not exists (select 1 from q)
    union all
    select 1, o.ord, q.key, s.name, q.reason, q.source, q.credits, null from o join q on q.key = o.key
      left join sub_accounts s on s.agency_id = ${scope.agencyId} and s.id = q.key
    order by 1, 2`;
}

export async function creditFlowReport(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; query: unknown; all?: boolean }): Promise<CreditFlowReport> {
  const scope = await reportScope(deps, params.actor, 'credit_flow');
  const filters = await parseFilters(deps, scope, params.query);
  const rawBy = (params.query as { by?: unknown } | undefined)?.by;
  // A client's flow is its own account's: by day only.
  const by: FlowGrouping = rawBy === 'account' && !scope.ownSubAccountId ? 'account' : 'day';
  type Row = { part?: number | string; ord?: number | string; key: string; reason: string; source: string; credits: string | number; name?: string | null; groups?: string | number | null };
  if (by === 'day') {
    const rows = rowsOf<Row>(await inReportSnapshot(deps, scope, (tx, mark) => tx.execute(flowQuery(scope, filters, by, mark))));
    const byKey = new Map<string, FlowRow>();
    const totals = emptyFigures();
    for (const r of rows) {
      const credits = Number(r.credits);
      if (credits === 0) continue;
      const column = flowColumn(r.reason, r.source, credits);
      let row = byKey.get(r.key);
      if (!row) byKey.set(r.key, (row = { key: r.key, name: null, ...emptyFigures() }));
      add(row, column, credits);
      add(totals, column, credits);
    }
    return { scope, filters, by, rows: daysOf(filters).map((day) => byKey.get(day) ?? { key: day, name: null, ...emptyFigures() }), totals };
  }
  const window: GroupWindow = params.all ? 'all' : groupWindow(params.query);
  const rows = rowsOf<Row>(await inReportSnapshot(deps, scope, (tx, mark) => tx.execute(flowAccountQuery(scope, filters, mark, window))));
  const totals = emptyFigures();
  const byKey = new Map<string, FlowRow>();
  let groups = 0;
  for (const r of rows) {
    const credits = Number(r.credits);
    if (Number(r.part) === 0) {
      groups = Number(r.groups ?? 0);
      if (credits !== 0) add(totals, flowColumn(r.reason, r.source, credits), credits);
      continue;
    }
    let row = byKey.get(r.key);
    if (!row) byKey.set(r.key, (row = { key: r.key, name: r.key === '' ? null : r.name ?? null, ...emptyFigures() }));
    add(row, flowColumn(r.reason, r.source, credits), credits);
  }
  const out = [...byKey.values()]; // in the statement's order (out, then in, largest first)
  if (window === 'all') return { scope, filters, by, rows: out, totals };
  const others = emptyFigures();
  for (const c of [...flowColumns, 'in', 'out', 'net'] as const) others[c] = totals[c] - out.reduce((t, r) => t + r[c], 0);
  const paging: FlowPaging = { page: window.page, limit: window.limit, groups, pages: Math.max(1, Math.ceil(groups / window.limit)), others: { groups: groups - out.length, ...others } };
  return { scope, filters, by, rows: out, totals, paging };
}
