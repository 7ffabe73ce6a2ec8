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
type Cell = string | number | null | undefined;
const line = (r: Cell[]) => `${r.map(cell).join(',')}\r\n`;
const csv = (header: string[], rows: Cell[][]) => [header.join(',') + '\r\n', ...rows.map(line)].join('');

/** The CSV as chunks of lines (the header first), to be written to a response as they come. */
function* csvChunks(header: string[], rows: Iterable<Cell[]>, size = 1000): Generator<string> {
  yield `${header.join(',')}\r\n`;
  let chunk: string[] = [];
  for (const r of rows) {
    chunk.push(line(r));
    if (chunk.length >= size) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length) yield chunk.join('');
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Every row of the report (read with `all`: every group, not a page), as CSV chunks. */
export function usageCsv(r: UsageReport): Generator<string> {
  const keyName = { day: 'day', department: 'department_id', subAccount: 'sub_account_id', representative: 'representative_id' }[r.by];
  const header = [keyName, ...(r.by === 'day' ? [] : ['name']), ...(r.by === 'representative' ? ['account_name'] : []), 'conversations', 'credits'];
  return csvChunks(header, (function* () {
    for (const x of r.rows) yield [x.key, ...(r.by === 'day' ? [] : [x.name]), ...(r.by === 'representative' ? [x.accountName ?? null] : []), x.conversations, x.credits];
  })());
}

/** Every row of the report (read with `all`), as CSV chunks. */
export function flowCsv(r: CreditFlowReport): Generator<string> {
  const header = [r.by === 'day' ? 'day' : 'sub_account_id', ...(r.by === 'day' ? [] : ['name']), ...flowColumns.map(snake), 'in', 'out', 'net'];
  return csvChunks(header, (function* () {
    for (const x of r.rows) yield [x.key, ...(r.by === 'day' ? [] : [x.name]), ...flowColumns.map((c) => x[c]), x.in, x.out, x.net];
  })());
}

/**
 * Writes CSV chunks to a writable (an HTTP response), waiting for it to drain when its buffer is
 * full, then ends it.
 */
export async function writeCsv(out: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  let closed = false;
  const onClose = () => { closed = true; };
  out.once('close', onClose);
  try {
    for (const chunk of chunks) {
      if (closed) return; // the client went away: stop writing
      if (!out.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => { out.off('drain', done); out.off('close', done); resolve(); };
          out.once('drain', done);
          out.once('close', done);
        });
      }
    }
    if (!closed) await new Promise<void>((resolve) => out.end(() => resolve()));
  } finally {
    out.off('close', onClose);
  }
}

export function salesCsv(r: SalesReport): string {
  const header = ['month', r.scope.agencyId ? 'package' : 'agency_id', ...(r.scope.agencyId ? [] : ['agency_name']), 'currency', 'paid_minor', 'open_minor', 'count'];
  return csv(header, r.rows.map((x) => [x.month, x.key, ...(r.scope.agencyId ? [] : [x.name]), x.currency, x.paidMinor, x.openMinor, x.count]));
}
