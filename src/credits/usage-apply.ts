// Usage's credit movements: one call of the usage_apply database function (its source is
// db/functions/usage_apply.sql) locks, checks, debits FIFO and writes a whole batch of usage
// events of many accounts, and commits on its own. The usage recorder (src/usage) gathers the
// batches; this is the only caller of the function.
import { sql } from 'drizzle-orm';
import type { Db, RawSql } from '../../db/client';
import { rowsOf } from '../lib/rows';

const APPLY_TEXT =
  'select codes, charged, balances, crossed from usage_apply($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz)';

/** Per event: a code (0 applied, else a refusal), credits charged and the balance after; accounts that crossed their low-balance threshold. */
export interface UsageApplyRow {
  codes: number[];
  charged: (number | string)[];
  balances: (number | string)[];
  crossed: string[] | null;
}

/**
 * The arguments, each one Postgres array literal: owners' agency ids, sub-account ids ('' for a
 * pool), ids for accounts created on first use, each event's owner (1-based), conversation ids,
 * department ids, representative ids ('' for none), and the instant.
 * On Postgres it goes through postgres.js as a prepared statement with a constant text (parsed
 * and planned once per connection); on PGlite through drizzle. No transaction block: the one
 * statement commits by itself (no BEGIN/COMMIT round trips on the hot path).
 */
export async function applyUsageBatch(deps: { db: Db; rawSql?: RawSql | undefined }, args: [string, string, string, string, string, string, string, string]): Promise<UsageApplyRow> {
  if (deps.rawSql) return ((await deps.rawSql.unsafe(APPLY_TEXT, args, { prepare: true })) as unknown as UsageApplyRow[])[0]!;
  const [a, b, c, d, e, f, r, g] = args;
  return rowsOf<UsageApplyRow>(await deps.db.execute(sql`
    select codes, charged, balances, crossed from usage_apply(${a}::text[], ${b}::text[], ${c}::text[], ${d}::int[], ${e}::text[], ${f}::text[], ${r}::text[], ${g}::timestamptz)`))[0]!;
}
