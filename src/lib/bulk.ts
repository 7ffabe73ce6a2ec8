// Helpers for big set-based statements (arrays of 5,000+ values per parameter: the grant job's,
// the credit ledger's bulk writer), where per-value work shows up in the job's wall time.
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { pgArray } from './pg-array';

/**
 * pgArray for plain values: one join instead of per-value quoting when no value needs escaping
 * (ids, references, numbers, instants); anything else (nulls, quotes, backslashes) goes through
 * pgArray. Same literal, same casts in the query.
 */
export function bulkArray(values: readonly (string | number | Date | null)[]): SQL {
  if (values.length === 0) return pgArray([]);
  const first = values[0];
  if (typeof first === 'number') {
    for (const v of values) if (typeof v !== 'number' || !Number.isSafeInteger(v)) return pgArray(values);
    return sql`${sql.param(`{${values.join(',')}}`)}`;
  }
  const strings = values.map((v) => (v instanceof Date ? v.toISOString() : v));
  for (const s of strings) if (typeof s !== 'string' || s.includes('"') || s.includes('\\')) return pgArray(values);
  return sql`${sql.param(`{"${strings.join('","')}"}`)}`;
}
