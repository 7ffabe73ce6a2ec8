// The monthly grants of one agency's chunk of due subscriptions, computed in memory: which are
// granted (oldest due first, as far as the pool covers them), what leaves the pool's lots (FIFO,
// swept for expiry at each grant's instant, as debitAccount does), the new lots and the ledger
// rows with their running balances. No I/O: grants.ts reads the state and writes the result
// with a fixed handful of set-based statements.
import type { CalendarDay } from '../billing/proration';
import { fifoOrder, takeFifo, type OpenLot } from '../credits/fifo';

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
  /** Pool lots whose remaining changed (consumed or swept), with their new remaining. */
  lotUpdates: { id: string; remaining: number }[];
  /** Accounts whose balance changed, with the new balance. */
  accounts: PlanAccount[];
}

/** One agency's chunk: its pool, its sub-accounts' balances, its due subscriptions. */
export interface PlanInput {
  agencyId: string;
  /** null: the agency has no pool account (nothing can be granted but zero-credit months). */
  pool: PlanAccount | null;
  poolLots: OpenLot[];
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

export const grantKey = (subscriptionId: string, index: number) => `${subscriptionId}:${index}`;
export const grantReference = (subscriptionId: string, index: number) => `subscription:${subscriptionId}:${index}`;

export function planGrants(input: PlanInput): GrantPlan {
  const pool = input.pool ? { ...input.pool } : null;
  const balances = new Map([...input.balances].map(([k, a]) => [k, { ...a }]));
  // Consumption order: expiring first, then oldest; lots without expiry last. Copies: the
  // caller's lots stay as read (a re-plan starts from them again).
  const open = input.poolLots.map((l) => ({ ...l })).sort(fifoOrder);
  const lotById = new Map(open.map((l) => [l.id, l]));
  const touched = new Map<string, OpenLot>();
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
      // As debitAccount at the grant's instant: lots expired by then are swept first.
      while (open.length > 0) {
        const head = open[0]!;
        if (head.remaining > 0 && !(head.expiresAt && head.expiresAt <= at)) break;
        if (head.remaining > 0 && pool) {
          pool.balance -= head.remaining;
          ledger.push({ accountId: pool.id, agencyId: input.agencyId, subAccountId: null, delta: -head.remaining, balanceAfter: pool.balance, reason: 'expire', reference: head.id, idempotencyKey: null, dataSubAccountId: null, at: head.expiresAt! });
          head.remaining = 0;
          touched.set(head.id, head);
          changed.add(pool);
        }
        open.shift();
      }
      const available = pool ? pool.balance : 0;
      if (!pool || available < credits) {
        return finish({ available, needed: credits, left: input.subs.slice(i) });
      }
      for (const t of takeFifo(open, credits)) touched.set(t.lotId, lotById.get(t.lotId)!);
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
  return finish(null);

  function finish(short: GrantPlan['short']): GrantPlan {
    return {
      grants, short, ledger, lots,
      lotUpdates: [...touched.values()].map((l) => ({ id: l.id, remaining: l.remaining })),
      accounts: [...changed],
    };
  }
}
