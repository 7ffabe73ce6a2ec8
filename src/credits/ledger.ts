// The ledger primitives. Every change to an account's lots, balance and ledger happens inside a
// transaction that holds the account row lock (lockAccount), so concurrent writers serialise per
// account and the invariant balance = sum(lots.remaining) = sum(ledger.delta) always holds.
import { and, asc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../../db/client';
import { creditAccounts, creditLedger, creditLots, type LedgerReason, type LotSource } from '../../db/schema';
import { newId } from '../lib/ids';
import { rowsOf } from '../lib/rows';

export type CreditAccount = typeof creditAccounts.$inferSelect;

export interface AccountOwner {
  agencyId: string;
  /** null: the agency's pool. */
  subAccountId: string | null;
}

export const ownerFilter = (o: AccountOwner) =>
  and(eq(creditAccounts.agencyId, o.agencyId), o.subAccountId ? eq(creditAccounts.subAccountId, o.subAccountId) : isNull(creditAccounts.subAccountId));

/** The account of an owner, created on first use. */
export async function ensureAccount(db: DbOrTx, owner: AccountOwner, now: Date): Promise<string> {
  const [existing] = await db.select({ id: creditAccounts.id }).from(creditAccounts).where(ownerFilter(owner));
  if (existing) return existing.id;
  await db.insert(creditAccounts).values({ id: newId('cra'), ...owner, createdAt: now, updatedAt: now }).onConflictDoNothing();
  const [row] = await db.select({ id: creditAccounts.id }).from(creditAccounts).where(ownerFilter(owner));
  return row!.id;
}

/** Creates if needed, then takes the row lock for the rest of the transaction. */
export async function lockAccount(tx: Tx, owner: AccountOwner, now: Date): Promise<CreditAccount> {
  await ensureAccount(tx, owner, now);
  const [row] = await tx.select().from(creditAccounts).where(ownerFilter(owner)).for('update');
  return row!;
}

export interface EntryInput {
  reason: LedgerReason;
  reference?: string | null;
  idempotencyKey?: string | null;
  note?: string | null;
  data?: Record<string, unknown> | null;
}

async function writeEntry(tx: Tx, account: CreditAccount, delta: number, entry: EntryInput, now: Date, source: LotSource | null = null) {
  account.balance += delta;
  await tx.insert(creditLedger).values({
    accountId: account.id,
    agencyId: account.agencyId,
    subAccountId: account.subAccountId,
    delta,
    balanceAfter: account.balance,
    reason: entry.reason,
    source,
    reference: entry.reference ?? null,
    idempotencyKey: entry.idempotencyKey ?? null,
    note: entry.note ?? null,
    data: entry.data ?? null,
    createdAt: now,
  });
  await tx.update(creditAccounts).set({ balance: account.balance, updatedAt: now }).where(eq(creditAccounts.id, account.id));
}

/**
 * Writes an "expire" entry for every live lot past its expiry (by the clock), in the order they
 * expired (then created, then id, as usage_apply sweeps).
 */
export async function sweepExpired(tx: Tx, account: CreditAccount, now: Date): Promise<void> {
  const expired = await tx
    .select({ id: creditLots.id, remaining: creditLots.remaining, expiresAt: creditLots.expiresAt })
    .from(creditLots)
    .where(and(eq(creditLots.accountId, account.id), gt(creditLots.remaining, 0), lte(creditLots.expiresAt, now)))
    .orderBy(asc(creditLots.expiresAt), asc(creditLots.createdAt), sql`${creditLots.id} collate "C"`);
  for (const lot of expired) {
    await tx.update(creditLots).set({ remaining: 0 }).where(eq(creditLots.id, lot.id));
    await writeEntry(tx, account, -lot.remaining, { reason: 'expire', reference: lot.id }, lot.expiresAt!);
  }
}

export interface CreditInput extends EntryInput {
  amount: number;
  source: LotSource;
  expiresAt?: Date | null;
}

/** Adds a lot and its ledger entry. */
export async function creditAccount(tx: Tx, account: CreditAccount, input: CreditInput, now: Date): Promise<string> {
  const lotId = newId('lot');
  await tx.insert(creditLots).values({
    id: lotId, accountId: account.id, agencyId: account.agencyId, source: input.source, amount: input.amount, remaining: input.amount,
    expiresAt: input.expiresAt ?? null, reference: input.reference ?? null, createdAt: now,
  });
  await writeEntry(tx, account, input.amount, input, now, input.source);
  return lotId;
}

export class InsufficientCredits extends Error {
  constructor(readonly available: number, readonly needed: number) {
    super(`needs ${needed} credits, ${available} available`);
  }
}

/**
 * Takes `amount` from the account's live lots by the FIFO rule (credit_lots_take,
 * db/functions/credit_lots_take.sql: expiring first, then oldest) with one ledger entry. Throws
 * InsufficientCredits, having changed nothing but the expiry sweep, if short.
 */
export async function debitAccount(tx: Tx, account: CreditAccount, amount: number, entry: EntryInput, now: Date): Promise<void> {
  await sweepExpired(tx, account, now);
  if (account.balance < amount) throw new InsufficientCredits(account.balance, amount);
  await takeLots(tx, account.id, amount);
  await writeEntry(tx, account, -amount, entry, now);
}

/**
 * Takes `amount` credits out of an account's live lots by the one FIFO rule (the database
 * function credit_lots_take), lowering their remaining; what it took from each lot, in order.
 * Raises if the lots do not cover it. Writes no entry and no balance: the caller does, holding
 * the account's lock, after sweeping expired lots.
 */
export async function takeLots(tx: Tx, accountId: string, amount: number): Promise<{ lotId: string; taken: number }[]> {
  if (amount === 0) return [];
  const rows = rowsOf<{ lot_id: string; taken: number | string }>(await tx.execute(sql`select lot_id, taken from credit_lots_take(array[${accountId}]::text[], array[${amount}]::bigint[])`));
  return rows.map((r) => ({ lotId: r.lot_id, taken: Number(r.taken) }));
}

/** An entry already written under this idempotency key, if any. */
export async function findEntryByKey(db: DbOrTx, accountId: string, key: string) {
  const [row] = await db.select().from(creditLedger).where(and(eq(creditLedger.accountId, accountId), eq(creditLedger.idempotencyKey, key)));
  return row;
}
