// CSV exports of the reports: one header of stable column names (as the API's fields), credits
// as integers, money in minor units beside its currency, days as YYYY-MM-DD of the seller's zone.
import type { CreditFlowReport } from './credit-flow-report';
import { flowColumns } from './credit-flow-report';
import type { SalesReport } from './sales-report';
import type { UsageReport } from './usage-report';

const cell = (v: string | number | null | undefined) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote always; neutralise spreadsheet formulas in names people typed.
  const safe = typeof v === 'string' && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
};
const csv = (header: string[], rows: (string | number | null | undefined)[][]) => `${[header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\r\n')}\r\n`;

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function usageCsv(r: UsageReport): string {
  const keyName = { day: 'day', department: 'department_id', subAccount: 'sub_account_id', representative: 'representative_id' }[r.by];
  const header = [keyName, ...(r.by === 'day' ? [] : ['name']), ...(r.by === 'representative' ? ['account_name'] : []), 'conversations', 'credits'];
  return csv(header, r.rows.map((x) => [x.key, ...(r.by === 'day' ? [] : [x.name]), ...(r.by === 'representative' ? [x.accountName ?? null] : []), x.conversations, x.credits]));
}

export function flowCsv(r: CreditFlowReport): string {
  const header = [r.by === 'day' ? 'day' : 'sub_account_id', ...(r.by === 'day' ? [] : ['name']), ...flowColumns.map(snake), 'in', 'out', 'net'];
  return csv(header, r.rows.map((x) => [x.key, ...(r.by === 'day' ? [] : [x.name]), ...flowColumns.map((c) => x[c]), x.in, x.out, x.net]));
}

export function salesCsv(r: SalesReport): string {
  const header = ['month', r.scope.agencyId ? 'package' : 'agency_id', ...(r.scope.agencyId ? [] : ['agency_name']), 'currency', 'paid_minor', 'open_minor', 'count'];
  return csv(header, r.rows.map((x) => [x.month, x.key, ...(r.scope.agencyId ? [] : [x.name]), x.currency, x.paidMinor, x.openMinor, x.count]));
}
