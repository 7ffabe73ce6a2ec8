// The monthly grants of one agency's chunk of due subscriptions, computed in memory: which are
// granted (oldest due first, as far as the pool covers them), what leaves the pool (its lots swept
// for expiry at each grant's instant, as debitAccount does, then the month's credits), the new
// lots and the ledger rows with their running balances. No I/O: grants.ts reads the state and
// writes the result with a fixed handful of set-based statements; the credits leave the pool's
// lots there, by the one FIFO rule (credit_lots_take: taking n1 then n2 is taking n1 + n2).
//
// The plan never needs to know which lots a debit draws from, except when a lot is to be swept
// after a debit of the same plan (a pool lot that expired between two grants' instants): how much
// of it is left then is the FIFO rule's to say. The plan stops there (`rest`); grants.ts writes
// what is planned and plans the rest from the lots as they are then.
import type { CalendarDay } from '../billing/proration';

export interface DueSubscription {
  id: string;
  subAccountId: string;
  monthlyCredits: number;
  startDay: CalendarDay;
  endsAt: Date;
  /** The month being granted (next_grant_index). */
  index: number;
  /** When it is due (next_grant_at): the grant's instant. */
  dueAt: Date;
}

// The credit movements a plan makes are the ledger's set-based form (src/credits/movements.ts).
export type { MovementAccount as PlanAccount, MovementLedgerRow as PlanLedgerRow, MovementLot as PlanLot } from '../credits/movements';
import type { MovementAccount as PlanAccount, MovementLedgerRow as PlanLedgerRow, MovementLot as PlanLot } from '../credits/movements';

export interface PlannedGrant {
  agencyId: string;
  sub: DueSubscription;
  /** Credits moved (0 for a zero-credit subscription or a month already claimed elsewhere). */
  credits: number;
  lotId: string | null;
  nextIndex: number;
  /** null: the term ends before the next anniversary. */
  nextAt: Date | null;
}

export interface GrantPlan {
  grants: PlannedGrant[];
  /** The first due grant the pool could not cover, and the ones after it (left due). */
  short: { available: number; needed: number; left: DueSubscription[] } | null;
  ledger: PlanLedgerRow[];
  lots: PlanLot[];
  /** Pool lots swept for expiry (their remaining becomes 0): all before the plan's first debit. */
  lotUpdates: { id: string; remaining: number }[];
  /** What leaves the pool's lots (FIFO), after the sweeps: the granted credits' total. */
  draws: { accountId: string; amount: number }[];
  /** Due subscriptions not planned yet (from the first grant that would sweep a lot after a debit). */
  rest: DueSubscription[];
  /** Accounts whose balance changed, with the new balance. */
  accounts: PlanAccount[];
}

/** One agency's chunk: its pool, its sub-accounts' balances, its due subscriptions. */
export interface PlanInput {
  agencyId: string;
  /** null: the agency has no pool account (nothing can be granted but zero-credit months). */
  pool: PlanAccount | null;
  /** The pool's live lots (remaining > 0) that can have expired by a grant's instant, in the order they expire (then created, then id). */
  poolLots: PoolLot[];
  /** The sub-accounts' balance accounts (existing, or new with a fresh id). */
  balances: Map<string, PlanAccount>;
  /** Sorted by dueAt, then id. */
  subs: DueSubscription[];
  /** Lot id for each subscription's new lot (pre-assigned, so a re-plan keeps them). */
  lotIds: Map<string, string>;
  /** The n-th monthly anniversary of a start day (clamped to the month's last day), 00:00 in the agency's zone. */
  anniversaryAt: (startDay: CalendarDay, n: number) => Date;
  /** Months already claimed by someone else ("subId:index"): advanced, but nothing moves. */
  unclaimed?: Set<string>;
}

/** A pool lot as read before the plan. */
export interface PoolLot {
  id: string;
  remaining: number;
  expiresAt: Date | null;
}

export const grantKey = (subscriptionId: string, index: number) => `${subscriptionId}:${index}`;
export const grantReference = (subscriptionId: string, index: number) => `subscription:${subscriptionId}:${index}`;

export function planGrants(input: PlanInput): GrantPlan {
  const pool = input.pool ? { ...input.pool } : null;
  const balances = new Map([...input.balances].map(([k, a]) => [k, { ...a }]));
  // The lots that can expire, in expiry order; `unswept`: the first not swept yet. Copies: the
  // caller's lots stay as read (a re-plan starts from them again).
  const expiring = input.poolLots.filter((l) => l.expiresAt !== null && l.remaining > 0).map((l) => ({ ...l, expiresAt: l.expiresAt! }));
  let unswept = 0;
  const swept: string[] = [];
  let drawn = 0;
  const ledger: PlanLedgerRow[] = [];
  const lots: PlanLot[] = [];
  const grants: PlannedGrant[] = [];
  const changed = new Set<PlanAccount>();

  for (let i = 0; i < input.subs.length; i++) {
    const s = input.subs[i]!;
    const at = s.dueAt;
    const credits = input.unclaimed?.has(grantKey(s.id, s.index)) ? 0 : s.monthlyCredits;
    const reference = grantReference(s.id, s.index);
    let lotId: string | null = null;
    if (credits > 0) {
      // As debitAccount at the grant's instant: lots expired by then are swept first. After a
      // debit of this plan, what is left of them is known once the debit is taken: stop here.
      if (unswept < expiring.length && expiring[unswept]!.expiresAt <= at && drawn > 0) return finish(null, input.subs.slice(i));
      for (; unswept < expiring.length && expiring[unswept]!.expiresAt <= at; unswept++) {
        const lot = expiring[unswept]!;
        if (!pool) continue;
        pool.balance -= lot.remaining;
        ledger.push({ accountId: pool.id, agencyId: input.agencyId, subAccountId: null, delta: -lot.remaining, balanceAfter: pool.balance, reason: 'expire', reference: lot.id, idempotencyKey: null, dataSubAccountId: null, at: lot.expiresAt });
        swept.push(lot.id);
        changed.add(pool);
      }
      const available = pool ? pool.balance : 0;
      if (!pool || available < credits) {
        return finish({ available, needed: credits, left: input.subs.slice(i) }, []);
      }
      drawn += credits;
      pool.balance -= credits;
      changed.add(pool);
      ledger.push({ accountId: pool.id, agencyId: input.agencyId, subAccountId: null, delta: -credits, balanceAfter: pool.balance, reason: 'transfer_out', reference, idempotencyKey: null, dataSubAccountId: s.subAccountId, at });

      const balance = balances.get(s.subAccountId);
      if (!balance) throw new Error(`no balance account for sub-account ${s.subAccountId}`);
      lotId = input.lotIds.get(s.id) ?? null;
      if (!lotId) throw new Error(`no lot id for subscription ${s.id}`);
      balance.balance += credits;
      changed.add(balance);
      ledger.push({ accountId: balance.id, agencyId: input.agencyId, subAccountId: s.subAccountId, delta: credits, balanceAfter: balance.balance, reason: 'grant', reference, idempotencyKey: reference, dataSubAccountId: null, at });
    }
    const next = input.anniversaryAt(s.startDay, s.index + 1);
    const nextAt = next < s.endsAt ? next : null;
    if (lotId) {
      const balance = balances.get(s.subAccountId)!;
      // This month's lot expires when the next month's is granted, or at the end of the term.
      lots.push({ id: lotId, accountId: balance.id, agencyId: input.agencyId, amount: credits, expiresAt: nextAt ?? s.endsAt, reference, at });
    }
    grants.push({ agencyId: input.agencyId, sub: s, credits, lotId, nextIndex: s.index + 1, nextAt });
  }
  return finish(null, []);

  function finish(short: GrantPlan['short'], rest: DueSubscription[]): GrantPlan {
    return {
      grants, short, ledger, lots, rest,
      lotUpdates: swept.map((id) => ({ id, remaining: 0 })),
      draws: pool && drawn > 0 ? [{ accountId: pool.id, amount: drawn }] : [],
      accounts: [...changed],
    };
  }
}
