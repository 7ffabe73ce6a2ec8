import { and, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import { creditAccounts, creditLedger, creditLots, ledgerReasons, type LotSource } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole, requireScope } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { parse } from '../lib/validation';
import { dispatchEmails } from '../mail/outbox';
import { getAgency } from '../tenancy/agencies.usecases';
import { getSubAccount } from '../tenancy/sub-accounts.usecases';
import {
  creditAccount, debitAccount, ensureAccount, findEntryByKey, InsufficientCredits, lockAccount, ownerFilter,
  type AccountOwner, type CreditAccount,
} from './ledger';
import { applyLowBalanceRule } from './low-balance';
import { msg, readMessage } from '../lib/message';
import { localize, tFor } from '../i18n/i18n';

export const MAX_CREDITS = 1_000_000_000_000;

const insufficient = (e: InsufficientCredits, whose: 'pool' | 'subAccount') =>
  new AppError('insufficient_credits', 402, msg(`errors:credits.insufficient.${whose}`, { has: e.available, need: e.needed }), { available: e.available, needed: e.needed });

const lowBalance = (tx: Tx, a: CreditAccount, now: Date) =>
  applyLowBalanceRule(tx, { id: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, balance: a.balance, threshold: a.lowBalanceThreshold, notified: a.lowBalanceNotified }, now);

/** Locks the pool and a balance in id order, so two transfers can never deadlock. */
export async function lockPair(tx: Tx, pool: AccountOwner, balance: AccountOwner, now: Date) {
  const poolId = await ensureAccount(tx, pool, now);
  const balanceId = await ensureAccount(tx, balance, now);
  const [first, second] = poolId < balanceId ? [pool, balance] : [balance, pool];
  const a = await lockAccount(tx, first, now);
  const b = await lockAccount(tx, second, now);
  return poolId < balanceId ? { pool: a, balance: b } : { pool: b, balance: a };
}

export interface TransferInput {
  agencyId: string;
  subAccountId: string;
  credits: number;
  /** What the new lot on the sub-account is: a purchase, a monthly grant, an adjustment... */
  source: LotSource;
  expiresAt?: Date | null;
  reason: 'transfer_in' | 'grant' | 'adjustment';
  reference: string;
  idempotencyKey?: string | null;
  note?: string | null;
}

/**
 * Moves credits from the agency's pool to a sub-account in the caller's transaction: a
 * "transfer_out" on the pool and a lot plus an entry on the sub-account. Fails with
 * insufficient_credits, changing nothing, when the pool cannot cover it.
 */
export async function transferToSubAccount(tx: Tx, input: TransferInput, now: Date): Promise<{ pool: CreditAccount; balance: CreditAccount; mailIds: (string | null)[] }> {
  const { pool, balance } = await lockPair(tx, { agencyId: input.agencyId, subAccountId: null }, { agencyId: input.agencyId, subAccountId: input.subAccountId }, now);
  try {
    await debitAccount(tx, pool, input.credits, { reason: 'transfer_out', reference: input.reference, note: input.note ?? null, data: { subAccountId: input.subAccountId } }, now);
  } catch (e) {
    if (e instanceof InsufficientCredits) throw insufficient(e, 'pool');
    throw e;
  }
  await creditAccount(tx, balance, { amount: input.credits, source: input.source, expiresAt: input.expiresAt ?? null, reason: input.reason, reference: input.reference, idempotencyKey: input.idempotencyKey ?? null, note: input.note ?? null }, now);
  return { pool, balance, mailIds: [await lowBalance(tx, pool, now), await lowBalance(tx, balance, now)] };
}

/**
 * Forfeits a sub-account's open lots of one source (what is left of its credit packages or its
 * monthly grants): the balance gets one "forfeit" entry and the credits go back to the agency's
 * pool. Credits are never destroyed (the agency bought them from the platform).
 */
export async function forfeitToPool(
  tx: Tx,
  input: { agencyId: string; subAccountId: string; source: 'purchase' | 'monthly_grant'; reference: string; poolReference: string; note: string },
  now: Date,
): Promise<number> {
  const { pool, balance } = await lockPair(tx, { agencyId: input.agencyId, subAccountId: null }, { agencyId: input.agencyId, subAccountId: input.subAccountId }, now);
  const lots = await tx.select().from(creditLots).where(and(eq(creditLots.accountId, balance.id), eq(creditLots.source, input.source), gt(creditLots.remaining, 0)));
  const live = lots.filter((l) => !l.expiresAt || l.expiresAt > now);
  const total = live.reduce((s, l) => s + l.remaining, 0);
  if (total === 0) return 0;
  await tx.update(creditLots).set({ remaining: 0 }).where(inArray(creditLots.id, live.map((l) => l.id)));
  balance.balance -= total;
  await tx.insert(creditLedger).values({ accountId: balance.id, agencyId: balance.agencyId, subAccountId: balance.subAccountId, delta: -total, balanceAfter: balance.balance, reason: 'forfeit', reference: input.reference, createdAt: now });
  await tx.update(creditAccounts).set({ balance: balance.balance, updatedAt: now }).where(eq(creditAccounts.id, balance.id));
  await creditAccount(tx, pool, { amount: total, source: 'transfer', reason: 'transfer_in', reference: input.poolReference, note: input.note }, now);
  return total;
}

export const adjustmentSchema = z.object({
  credits: z
    .number({ error: 'credits must be a whole number of credits.' })
    .int('credits must be a whole number of credits.')
    .refine((v) => v !== 0, 'credits must not be zero.')
    .refine((v) => Math.abs(v) <= MAX_CREDITS, msg('errors:zodField.eitherWay', { field: 'credits', limit: MAX_CREDITS })),
  reason: z.string({ error: 'Give a reason.' }).trim().min(1, 'Give a reason.').max(500, 'The reason is too long (500 characters at most).'),
});

/** Form fields arrive as strings; only plain integers are accepted. */
export const adjustmentFormSchema = z.object({
  credits: z.string().trim().regex(/^[+-]?\d{1,13}$/, 'Enter a whole number of credits, e.g. 500 or -200.').transform(Number),
  reason: z.string(),
});

export interface AdjustmentResult {
  balance: number;
  poolBalance?: number;
  replayed: boolean;
}

const idempotencyKeySchema = z.string().min(1).max(200).nullable();

/**
 * An agency grants (+) or removes (-) credits on one of its sub-accounts, with a reason. Granted
 * credits come out of the pool; removed credits go back to it: no credit is created or lost.
 */
export async function adjustSubAccountCredits(
  deps: Deps,
  params: { actor: Actor; subAccountId: string; input: unknown; idempotencyKey?: string | null },
): Promise<AdjustmentResult> {
  requireScope(params.actor, 'agency');
  requireRole(params.actor, 'admin');
  const sub = await getSubAccount(deps, { actor: params.actor, subAccountId: params.subAccountId });
  const input = parse(adjustmentSchema, params.input);
  // Client keys live in their own namespace: they can never collide with the system's own keys.
  const clientKey = parse(idempotencyKeySchema, params.idempotencyKey ?? null);
  const key = clientKey ? `adj:${clientKey}` : null;
  const now = deps.clock.now();
  const owner = { agencyId: sub.agencyId, subAccountId: sub.id };
  const result = await deps.db.transaction(async (tx) => {
    // Locks first: two requests with the same idempotency key then see each other's entry.
    const locked = await lockPair(tx, { agencyId: sub.agencyId, subAccountId: null }, owner, now);
    if (key) {
      const prior = await findEntryByKey(tx, locked.balance.id, key);
      if (prior) return { replayed: true, balance: prior.balanceAfter, mailIds: [] };
    }
    const reference = `adjustment:${key ?? now.getTime()}`;
    let pool: CreditAccount;
    let balance: CreditAccount;
    let mailIds: (string | null)[];
    if (input.credits > 0) {
      ({ pool, balance, mailIds } = await transferToSubAccount(tx, {
        agencyId: sub.agencyId, subAccountId: sub.id, credits: input.credits, source: 'adjustment', reason: 'adjustment',
        reference, idempotencyKey: key, note: input.reason,
      }, now));
    } else {
      ({ pool, balance } = locked);
      try {
        await debitAccount(tx, balance, -input.credits, { reason: 'adjustment', reference, idempotencyKey: key, note: input.reason }, now);
      } catch (e) {
        if (e instanceof InsufficientCredits) throw insufficient(e, 'subAccount');
        throw e;
      }
      await creditAccount(tx, pool, { amount: -input.credits, source: 'transfer', reason: 'transfer_in', reference, note: input.reason }, now);
      mailIds = [await lowBalance(tx, pool, now), await lowBalance(tx, balance, now)];
    }
    await recordAudit(tx, params.actor, { action: 'credits.adjusted', targetType: 'sub_account', targetId: sub.id, subAccountId: sub.id, data: { credits: input.credits, reason: input.reason } }, now);
    return { replayed: false, balance: balance.balance, poolBalance: pool.balance, mailIds };
  });
  await dispatchEmails(deps.queue, result.mailIds);
  return { balance: result.balance, ...(result.poolBalance !== undefined ? { poolBalance: result.poolBalance } : {}), replayed: result.replayed };
}

/** The platform grants (+) or removes (-) credits in an agency's pool. */
export async function adjustAgencyPool(
  deps: Deps,
  params: { actor: Actor; agencyId: string; input: unknown; idempotencyKey?: string | null },
): Promise<AdjustmentResult> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const agency = await getAgency(deps, { actor: params.actor, agencyId: params.agencyId });
  const input = parse(adjustmentSchema, params.input);
  // Client keys live in their own namespace: they can never collide with the system's own keys.
  const clientKey = parse(idempotencyKeySchema, params.idempotencyKey ?? null);
  const key = clientKey ? `adj:${clientKey}` : null;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const pool = await lockAccount(tx, { agencyId: agency.id, subAccountId: null }, now);
    if (key) {
      const prior = await findEntryByKey(tx, pool.id, key);
      if (prior) return { replayed: true, balance: prior.balanceAfter, mailIds: [] };
    }
    const entry = { reason: 'adjustment' as const, reference: `adjustment:${key ?? now.getTime()}`, idempotencyKey: key, note: input.reason };
    if (input.credits > 0) await creditAccount(tx, pool, { ...entry, amount: input.credits, source: 'adjustment' }, now);
    else {
      try {
        await debitAccount(tx, pool, -input.credits, entry, now);
      } catch (e) {
        if (e instanceof InsufficientCredits) throw insufficient(e, 'pool');
        throw e;
      }
    }
    await recordAudit(tx, params.actor, { action: 'credits.adjusted', targetType: 'agency', targetId: agency.id, agencyId: agency.id, data: { credits: input.credits, reason: input.reason } }, now);
    return { replayed: false, balance: pool.balance, mailIds: [await lowBalance(tx, pool, now)] };
  });
  await dispatchEmails(deps.queue, result.mailIds);
  return { balance: result.balance, replayed: result.replayed };
}

/** Whose credits an actor may read: its own, or (agency) one of its sub-accounts'. */
export async function resolveCreditOwner(deps: Pick<Deps, 'db'>, actor: Actor, subAccountId?: string): Promise<AccountOwner> {
  if (subAccountId) {
    const sub = await getSubAccount(deps, { actor, subAccountId });
    return { agencyId: sub.agencyId, subAccountId: sub.id };
  }
  if (actor.scope === 'platform') throw errors.wrongScope('agency or sub-account');
  return { agencyId: actor.agencyId!, subAccountId: actor.subAccountId };
}

export interface BalanceView {
  balance: number;
  lowBalanceThreshold: number | null;
  lots: { id: string; source: LotSource; amount: number; remaining: number; expiresAt: Date | null; createdAt: Date }[];
}

/** The balance as the clock sees it: lots past their expiry no longer count, swept or not. */
export async function getBalance(deps: Pick<Deps, 'db' | 'clock'>, owner: AccountOwner): Promise<BalanceView> {
  const now = deps.clock.now();
  const [account] = await deps.db.select().from(creditAccounts).where(ownerFilter(owner));
  if (!account) return { balance: 0, lowBalanceThreshold: null, lots: [] };
  const lots = await deps.db
    .select({ id: creditLots.id, source: creditLots.source, amount: creditLots.amount, remaining: creditLots.remaining, expiresAt: creditLots.expiresAt, createdAt: creditLots.createdAt })
    .from(creditLots)
    .where(and(eq(creditLots.accountId, account.id)))
    .orderBy(creditLots.createdAt);
  const live = lots.filter((l) => l.remaining > 0 && !(l.expiresAt && l.expiresAt <= now));
  return { balance: live.reduce((s, l) => s + l.remaining, 0), lowBalanceThreshold: account.lowBalanceThreshold, lots: live };
}

/** Query-string filters: an empty field means "no filter". */
const blankToUndefined = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const historyFilterSchema = z.object({
  from: blankToUndefined(z.iso.date('from must be a date, YYYY-MM-DD.')),
  to: blankToUndefined(z.iso.date('to must be a date, YYYY-MM-DD.')),
  reason: blankToUndefined(z.enum(ledgerReasons)),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});
export type HistoryFilter = z.infer<typeof historyFilterSchema>;

export interface HistoryEntry {
  id: number;
  createdAt: Date;
  delta: number;
  balanceAfter: number;
  reason: string;
  reference: string | null;
  note: string | null;
}

/** Ledger entries of one account, newest first, filtered by date (inclusive days, UTC) and reason. */
export async function listCreditHistory(deps: Pick<Deps, 'db'>, owner: AccountOwner, filterInput: unknown): Promise<{ filter: HistoryFilter; entries: HistoryEntry[] }> {
  const filter = parse(historyFilterSchema, filterInput ?? {});
  const [account] = await deps.db.select({ id: creditAccounts.id }).from(creditAccounts).where(ownerFilter(owner));
  if (!account) return { filter, entries: [] };
  const entries = await deps.db
    .select({ id: creditLedger.id, createdAt: creditLedger.createdAt, delta: creditLedger.delta, balanceAfter: creditLedger.balanceAfter, reason: creditLedger.reason, reference: creditLedger.reference, note: creditLedger.note })
    .from(creditLedger)
    .where(
      and(
        eq(creditLedger.accountId, account.id),
        filter.from ? gte(creditLedger.createdAt, new Date(`${filter.from}T00:00:00Z`)) : undefined,
        filter.to ? lte(creditLedger.createdAt, new Date(`${filter.to}T23:59:59.999Z`)) : undefined,
        filter.reason ? inArray(creditLedger.reason, [filter.reason]) : undefined,
        filter.before ? lt(creditLedger.id, filter.before) : undefined,
      ),
    )
    .orderBy(desc(creditLedger.id))
    .limit(filter.limit);
  return { filter, entries };
}

export function historyCsv(entries: HistoryEntry[]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    // Quote always; neutralise spreadsheet formulas in free text.
    const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
    return `"${safe.replace(/"/g, '""')}"`;
  };
  const lines = [['time', 'reason', 'delta', 'balance_after', 'reference', 'note'].join(',')];
  // A note Kontor writes is a catalog key (docs/i18n.md): the file gives its English text, like its codes.
  const note = (n: string | null) => (n && readMessage(n).key ? localize(tFor('en'), n) : n);
  for (const e of entries) lines.push([e.createdAt.toISOString(), e.reason, e.delta, e.balanceAfter, e.reference, note(e.note)].map(cell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export const thresholdSchema = z.object({
  threshold: z.union([
    z.null(),
    z.number().int('The threshold must be a whole number of credits.').min(0, 'The threshold cannot be negative.').max(MAX_CREDITS),
  ], { error: 'The threshold must be a whole number of credits, or null to switch it off.' }),
});

/** Sets (or clears) the low-balance threshold of an account the actor may manage. */
export async function setLowBalanceThreshold(deps: Deps, params: { actor: Actor; owner: AccountOwner; input: unknown }): Promise<number | null> {
  requireRole(params.actor, 'admin');
  const { threshold } = parse(thresholdSchema, params.input);
  const now = deps.clock.now();
  const mailId = await deps.db.transaction(async (tx) => {
    const account = await lockAccount(tx, params.owner, now);
    await tx.update(creditAccounts).set({ lowBalanceThreshold: threshold, lowBalanceNotified: false, updatedAt: now }).where(eq(creditAccounts.id, account.id));
    await recordAudit(tx, params.actor, { action: 'credits.threshold_set', targetType: 'credit_account', targetId: account.id, agencyId: params.owner.agencyId, subAccountId: params.owner.subAccountId, data: { threshold } }, now);
    // Setting a threshold above the current balance counts as a crossing.
    return lowBalance(tx, { ...account, lowBalanceThreshold: threshold, lowBalanceNotified: false }, now);
  });
  await dispatchEmails(deps.queue, [mailId]);
  return threshold;
}


/**
 * Live balances of an agency's pool (key '') and its sub-accounts, in one query: every
 * sub-account's, or only those of `subAccountIds` (a page of the list; the pool is always read).
 */
export async function agencyBalances(deps: Pick<Deps, 'db' | 'clock'>, agencyId: string, subAccountIds?: readonly string[]): Promise<Map<string, number>> {
  const now = deps.clock.now();
  const rows = await deps.db
    .select({
      subAccountId: creditAccounts.subAccountId,
      balance: sql<number>`coalesce(sum(${creditLots.remaining}) filter (where ${creditLots.expiresAt} is null or ${creditLots.expiresAt} > ${now.toISOString()}::timestamptz), 0)::bigint`,
    })
    .from(creditAccounts)
    .leftJoin(creditLots, and(eq(creditLots.accountId, creditAccounts.id), gt(creditLots.remaining, 0)))
    .where(and(
      eq(creditAccounts.agencyId, agencyId),
      subAccountIds ? or(isNull(creditAccounts.subAccountId), subAccountIds.length > 0 ? inArray(creditAccounts.subAccountId, [...subAccountIds]) : undefined) : undefined,
    ))
    .groupBy(creditAccounts.subAccountId);
  return new Map(rows.map((r) => [r.subAccountId ?? '', Number(r.balance)]));
}
