import { sql, type SQL } from 'drizzle-orm';

/**
 * One Postgres array literal parameter ('{"a","b",NULL}') for `unnest`-based set statements.
 * Both drivers pass a string; the cast in the query (`::text[]`, `::bigint[]`) types it. A batch
 * of any size is then a handful of parameters instead of thousands.
 */
export function pgArray(values: readonly (string | number | Date | null)[]): SQL {
  return sql`${sql.param(pgArrayLiteral(values))}`;
}

/** The literal itself, for a prepared statement's placeholder. */
export function pgArrayLiteral(values: readonly (string | number | Date | null)[]): string {
  const items = values.map((v) => {
    if (v === null) return 'NULL';
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`not a safe integer: ${v}`);
      return String(v);
    }
    const s = v instanceof Date ? v.toISOString() : v;
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}
