// Recomputing the report rollups of an agency from the raw tables (after a change of its time
// zone, or to repair them). Normally they never need it: usage_apply and the ledger trigger
// keep them in the transactions that write the rows they sum (db/functions).
//
// Safe to run again and beside live usage: it takes the row locks of the agency's credit
// accounts (the lock every ledger and usage writer holds, in id order as usage_apply takes
// them), replaces the range's rows with sums read after the locks were granted, and writes
// them with "set =", never "+=": a second run (or a retry) leaves the same rows. An account
// created meanwhile is not locked; its rows are replaced by sums that include what it
// committed before the statement, and what it commits after adds to them.
//
// The second level (src/reports/rollup-levels.ts) is then built again from the rebuilt day level,
// up to the mark it had, under the report lock: a rebuild never leaves the levels apart.
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { sellerTerms } from '../billing/accounts';
import { lockReports, sealLocked, sealedThrough, unsealLocked } from './rollup-levels';

export async function rebuildReportRollups(db: Db, params: { agencyId: string; from: string; to: string }): Promise<{ usageRows: number; flowRows: number }> {
  const { agencyId, from, to } = params;
  const { zone } = await sellerTerms(db, agencyId);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select id from credit_accounts where agency_id = ${agencyId} order by id for update`);
    // After the accounts (the order every writer takes them in), with a short wait: a writer
    // holding it shared and waiting for a lock of ours fails this rebuild, never the writer.
    await tx.execute(sql`set local lock_timeout = '2s'`);
    await lockReports(tx, agencyId);
    await tx.execute(sql`set local lock_timeout = 0`);
    const mark = await sealedThrough(tx, agencyId);
    await unsealLocked(tx, agencyId);
    const inRange = sql`between ${from}::date and ${to}::date`;
    await tx.execute(sql`delete from usage_daily where agency_id = ${agencyId} and day ${inRange}`);
    await tx.execute(sql`delete from credit_flow_daily where agency_id = ${agencyId} and day ${inRange}`);
    const usage = await tx.execute(sql`
      insert into usage_daily as d (agency_id, day, account_id, sub_account_id, department_id, representative_id, conversations, credits)
      select u.agency_id, (u.created_at at time zone ${zone})::date, u.account_id, min(a.sub_account_id), u.department_id, coalesce(u.representative_id, ''), count(*), sum(u.charged)
      from usage_conversations u join credit_accounts a on a.id = u.account_id
      where u.agency_id = ${agencyId} and (u.created_at at time zone ${zone})::date ${inRange}
      group by 1, 2, 3, 5, 6
      on conflict (agency_id, day, account_id, department_id, representative_id) do update set conversations = excluded.conversations, credits = excluded.credits`);
    const flow = await tx.execute(sql`
      insert into credit_flow_daily as f (agency_id, day, account_id, sub_account_id, reason, source, entries, credits)
      select l.agency_id, (l.created_at at time zone ${zone})::date, l.account_id, min(l.sub_account_id), l.reason, coalesce(l.source, ''), count(*), sum(l.delta)
      from credit_ledger l
      where l.agency_id = ${agencyId} and l.reason <> 'consume' and (l.created_at at time zone ${zone})::date ${inRange}
      group by 1, 2, 3, 5, 6
      on conflict (agency_id, day, account_id, reason, source) do update set entries = excluded.entries, credits = excluded.credits`);
    if (mark) await sealLocked(tx, agencyId, mark);
    const count = (r: unknown) => Number((r as { rowCount?: number; affectedRows?: number; count?: number }).rowCount ?? (r as { affectedRows?: number }).affectedRows ?? (r as { count?: number }).count ?? 0);
    return { usageRows: count(usage), flowRows: count(flow) };
  });
}
