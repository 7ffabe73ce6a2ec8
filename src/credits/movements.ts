// The credit ledger's set-based form: many accounts' movements (new accounts, lots, ledger
// entries, lots drawn down, balances) written with one statement per table. The per-row form is
// src/credits/ledger.ts; usage is usage_apply (src/credits/usage-apply.ts). Nothing outside
// src/credits writes credit_accounts balances, credit_lots or credit_ledger (a test checks it).
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { bulkArray } from '../lib/bulk';

/** A credit account as a set-based movement sees it: `balance` is its balance after the movements. */
export interface MovementAccount {
  id: string;
  agencyId: string;
  subAccountId: string | null;
  balance: number;
  /** Does not exist yet: created by the writes (only if something is credited to it). */
  isNew: boolean;
}

export interface MovementLedgerRow {
  accountId: string;
  agencyId: string;
  subAccountId: string | null;
  delta: number;
  balanceAfter: number;
  reason: 'expire' | 'transfer_out' | 'grant';
  reference: string;
  idempotencyKey: string | null;
  /** transfer_out entries name the receiving sub-account in their data. */
  dataSubAccountId: string | null;
  at: Date;
}

export interface MovementLot {
  id: string;
  accountId: string;
  agencyId: string;
  amount: number;
  expiresAt: Date;
  reference: string;
  at: Date;
}

export interface LotUpdate {
  id: string;
  remaining: number;
}

export interface CreditMovements {
  /** Every account moved, with its balance after the movements; `isNew` ones are created. */
  accounts: MovementAccount[];
  lots: MovementLot[];
  /** In order: ids follow each account's running balance_after. */
  ledger: MovementLedgerRow[];
  /** Lots whose remaining is set (expiry sweeps): written before the draws. */
  lotUpdates: LotUpdate[];
  /** Credits taken out of an account's live lots by the FIFO rule (credit_lots_take), after the lot updates. */
  draws: { accountId: string; amount: number }[];
}

/**
 * Writes planned movements; the caller holds the accounts' locks and computed the plan (the
 * entries, balances and sweeps; the draws' lots are the FIFO rule's, credit_lots_take), so the
 * ledger invariant holds when the transaction commits.
 * New lots are monthly grants (the only set-based source today).
 */
export async function writeCreditMovements(tx: Tx, m: CreditMovements, nowIso: string): Promise<void> {
  const newAccounts = m.accounts.filter((a) => a.isNew);
  if (newAccounts.length > 0) {
    // Balance accounts created on first use, with their balance after this chunk. One created
    // meanwhile by someone else (not locked by us) fails the owner key: the chunk is retried.
    await tx.execute(sql`
      insert into credit_accounts (id, agency_id, sub_account_id, balance, created_at, updated_at)
      select v.id, v.agency_id, v.sub_account_id, v.balance, ${nowIso}::timestamptz, ${nowIso}::timestamptz
      from unnest(${bulkArray(newAccounts.map((a) => a.id))}::text[], ${bulkArray(newAccounts.map((a) => a.agencyId))}::text[],
                  ${bulkArray(newAccounts.map((a) => a.subAccountId))}::text[], ${bulkArray(newAccounts.map((a) => a.balance))}::bigint[])
        as v(id, agency_id, sub_account_id, balance)
      order by v.agency_id, v.sub_account_id`);
  }
  if (m.lots.length > 0) {
    const l = m.lots;
    await tx.execute(sql`
      insert into credit_lots (id, account_id, agency_id, source, amount, remaining, expires_at, reference, created_at)
      select v.id, v.account_id, v.agency_id, 'monthly_grant', v.amount, v.amount, v.expires_at, v.reference, v.created_at
      from unnest(${bulkArray(l.map((x) => x.id))}::text[], ${bulkArray(l.map((x) => x.accountId))}::text[], ${bulkArray(l.map((x) => x.agencyId))}::text[],
                  ${bulkArray(l.map((x) => x.amount))}::bigint[], ${bulkArray(l.map((x) => x.expiresAt))}::timestamptz[], ${bulkArray(l.map((x) => x.reference))}::text[],
                  ${bulkArray(l.map((x) => x.at))}::timestamptz[])
        as v(id, account_id, agency_id, amount, expires_at, reference, created_at)`);
  }
  if (m.ledger.length > 0) {
    // In plan order, so ids follow each account's running balance_after. One "sub" column: the
    // owner of a grant entry, the receiver named in a transfer_out's data; a grant entry's
    // idempotency key is its reference (as the plan sets it).
    const e = m.ledger;
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, source, reference, idempotency_key, created_at, data)
      select v.account_id, v.agency_id, case when v.reason = 'grant' then v.sub end, v.delta, v.balance_after, v.reason,
             case when v.reason = 'grant' then 'monthly_grant' end, v.reference,
             case when v.reason = 'grant' then v.reference end, v.created_at,
             case when v.reason = 'transfer_out' then jsonb_build_object('subAccountId', v.sub) end
      from unnest(${bulkArray(e.map((x) => x.accountId))}::text[], ${bulkArray(e.map((x) => x.agencyId))}::text[], ${bulkArray(e.map((x) => x.subAccountId ?? x.dataSubAccountId))}::text[],
                  ${bulkArray(e.map((x) => x.delta))}::bigint[], ${bulkArray(e.map((x) => x.balanceAfter))}::bigint[], ${bulkArray(e.map((x) => x.reason))}::text[],
                  ${bulkArray(e.map((x) => x.reference))}::text[], ${bulkArray(e.map((x) => x.at))}::timestamptz[])
        as v(account_id, agency_id, sub, delta, balance_after, reason, reference, created_at)`);
  }
  if (m.lotUpdates.length > 0) {
    await tx.execute(sql`
      update credit_lots set remaining = v.remaining
      from unnest(${bulkArray(m.lotUpdates.map((x) => x.id))}::text[], ${bulkArray(m.lotUpdates.map((x) => x.remaining))}::bigint[]) as v(id, remaining)
      where credit_lots.id = v.id`);
  }
  if (m.draws.length > 0) {
    // Every account's draw in one call, each by the one FIFO rule (it raises if an account's
    // lots do not cover its draw: the balance and the lots disagree).
    await tx.execute(sql`
      select count(*) from credit_lots_take(${bulkArray(m.draws.map((d) => d.accountId))}::text[], ${bulkArray(m.draws.map((d) => d.amount))}::bigint[])`);
  }
  const existing = m.accounts.filter((a) => !a.isNew);
  if (existing.length > 0) {
    await tx.execute(sql`
      update credit_accounts set balance = v.balance, updated_at = ${nowIso}::timestamptz
      from unnest(${bulkArray(existing.map((a) => a.id))}::text[], ${bulkArray(existing.map((a) => a.balance))}::bigint[]) as v(id, balance)
      where credit_accounts.id = v.id`);
  }
}
