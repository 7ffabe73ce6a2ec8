// The sales report (DESIGN section 11): what a seller sold, by month and package (an agency:
// its resold packages and the invoices it issued to its clients) or by month and agency (the
// platform: its invoices to agencies and the agencies' orders), paid apart from open. Money
// stays in minor units per currency; nothing is converted. Months are the seller's calendar's.
import { sql, type SQL } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { rowsOf } from '../lib/rows';
import { parseFilters, reportScope, type ReportFilters, type ReportScope } from './report-filters';

export interface SalesRow {
  month: string;
  /** A package's name (agency), or an agency's id (platform). */
  key: string;
  name: string;
  currency: string;
  paidMinor: number;
  openMinor: number;
  /** Purchases, orders and invoices counted (an invoice once per package it bills). */
  count: number;
}

export interface SalesReport {
  scope: ReportScope;
  filters: ReportFilters;
  rows: SalesRow[];
  /** Per currency. */
  totals: { currency: string; paidMinor: number; openMinor: number }[];
  /** Per month of the range and the first currency: for the chart. */
  months: string[];
}

/** The statement of the scope: an agency's sales by package, or the platform's by agency. */
export function salesQuery(scope: ReportScope, f: ReportFilters): SQL {
  const z = scope.zone;
  const inRange = (col: SQL) => sql`(${col} at time zone ${z})::date between ${f.from}::date and ${f.to}::date`;
  if (!scope.agencyId) {
    return sql`
      select g.month, g.key, coalesce(a.name, g.key) as name, g.currency, sum(g.paid)::bigint as paid, sum(g.open)::bigint as open, sum(g.n)::bigint as n from (
        select to_char(i.issue_day, 'YYYY-MM') as month, i.agency_id as key, i.currency,
          sum(case when i.status = 'paid' then i.total_minor else 0 end) as paid,
          sum(case when i.status in ('draft', 'open') then i.total_minor else 0 end) as open, count(*) as n
        from invoices i
        where i.seller_agency_id is null and i.sub_account_id is null and i.status in ('draft', 'open', 'paid') and i.issue_day between ${f.from}::date and ${f.to}::date
        group by 1, 2, 3
        union all
        select to_char(o.created_at at time zone ${z}, 'YYYY-MM'), o.agency_id, o.currency,
          sum(case when o.status in ('paid', 'applied') then o.amount_minor else 0 end),
          sum(case when o.status = 'pending_payment' then o.amount_minor else 0 end), count(*)
        from agency_orders o
        where o.status <> 'payment_failed' and ${inRange(sql`o.created_at`)}
        group by 1, 2, 3
      ) g left join agencies a on a.id = g.key
      group by 1, 2, 3, 4 order by 1, 5 desc, 3`;
  }
  const sub = f.account.kind === 'sub' ? f.account.subAccountId : null;
  return sql`
    select g.month, g.key, g.key as name, g.currency, sum(g.paid)::bigint as paid, sum(g.open)::bigint as open, sum(g.n)::bigint as n from (
      select to_char(p.created_at at time zone ${z}, 'YYYY-MM') as month, coalesce(v.name, p.package_id) as key, p.currency,
        sum(case when p.status in ('paid', 'granted') then p.price_minor else 0 end) as paid,
        sum(case when p.status = 'pending_payment' then p.price_minor else 0 end) as open, count(*) as n
      from purchases p left join offer_versions v on v.id = p.package_version_id
      where p.agency_id = ${scope.agencyId} and p.status <> 'payment_failed' and ${inRange(sql`p.created_at`)}
        ${sub ? sql`and p.sub_account_id = ${sub}` : sql``}
      group by 1, 2, 3
      union all
      select to_char(i.issue_day, 'YYYY-MM'), coalesce(s.name, l.description), i.currency,
        sum(case when i.status = 'paid' then l.amount_minor else 0 end),
        sum(case when i.status in ('draft', 'open') then l.amount_minor else 0 end), count(distinct i.id)
      from invoices i
      join invoice_lines l on l.invoice_id = i.id and l.agency_id = i.agency_id
      left join billing_subscriptions s on s.id = l.subscription_id and s.agency_id = i.agency_id
      where i.agency_id = ${scope.agencyId} and i.seller_agency_id = ${scope.agencyId} and i.status in ('draft', 'open', 'paid')
        and i.issue_day between ${f.from}::date and ${f.to}::date ${sub ? sql`and i.sub_account_id = ${sub}` : sql``}
      group by 1, 2, 3
    ) g
    group by 1, 2, 3, 4 order by 1, 5 desc, 2`;
}

export async function salesReport(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; query: unknown }): Promise<SalesReport> {
  const scope = await reportScope(deps, params.actor, 'sales');
  const filters = await parseFilters(deps, scope, params.query);
  const rows = rowsOf<{ month: string; key: string; name: string; currency: string; paid: string | number; open: string | number; n: string | number }>(
    await deps.db.execute(salesQuery(scope, filters)),
  ).map((r): SalesRow => ({ month: r.month, key: r.key, name: r.name, currency: r.currency, paidMinor: Number(r.paid), openMinor: Number(r.open), count: Number(r.n) }));
  const totals = new Map<string, { currency: string; paidMinor: number; openMinor: number }>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { currency: r.currency, paidMinor: 0, openMinor: 0 };
    t.paidMinor += r.paidMinor;
    t.openMinor += r.openMinor;
    totals.set(r.currency, t);
  }
  const months: string[] = [];
  for (let m = filters.from.slice(0, 7); m <= filters.to.slice(0, 7); m = nextMonth(m)) months.push(m);
  return { scope, filters, rows, totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)), months };
}

function nextMonth(ym: string): string {
  const [y, m] = ym.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}
