import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from './db';

/**
 * The ledger invariant, checked after every test that moves credits: for every account,
 * balance = sum of its ledger entries = sum of its lots' remaining credits; the last entry's
 * balance_after is the balance; no balance or lot is negative.
 */
export async function assertLedgerInvariant(db: Db): Promise<void> {
  const rows = rowsOf<{ id: string; balance: number; ledger: number; lots: number; min_lot: number | null; last_after: number | null }>(
    await db.execute(sql`
      select a.id, a.balance,
        coalesce((select sum(delta) from credit_ledger l where l.account_id = a.id), 0)::bigint as ledger,
        coalesce((select sum(remaining) from credit_lots t where t.account_id = a.id), 0)::bigint as lots,
        (select min(remaining) from credit_lots t where t.account_id = a.id) as min_lot,
        (select balance_after from credit_ledger l where l.account_id = a.id order by l.id desc limit 1) as last_after
      from credit_accounts a`),
  );
  for (const r of rows) {
    const ctx = `account ${r.id}`;
    expect(Number(r.balance), `${ctx}: balance vs ledger`).to.equal(Number(r.ledger));
    expect(Number(r.balance), `${ctx}: balance vs lots`).to.equal(Number(r.lots));
    expect(Number(r.balance), `${ctx}: balance`).to.be.at.least(0);
    if (r.min_lot !== null) expect(Number(r.min_lot), `${ctx}: lot`).to.be.at.least(0);
    if (r.last_after !== null) expect(Number(r.last_after), `${ctx}: last balance_after`).to.equal(Number(r.balance));
  }
}
