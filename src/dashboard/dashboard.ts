// Home dashboards of the sellers (DESIGN section 3; issue #16): what the pool holds and how it
// moved, what waits on the seller, and the money of the month. Read-only: every figure comes
// from the tables the billing engine, the purchases and the ledger already write, scoped by the
// seller (the platform: seller_agency_id null; an agency: its id). Calendar days and "this month"
// are the seller's time zone's.
import { and, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { DateTime } from 'luxon';
import type { DbOrTx } from '../../db/client';
import {
  agencies, agencyOrders, autoBillingCharges, billingSubscriptions, creditAccounts, creditLedger, invoices, offerVersions, payments, purchases, subAccounts,
} from '../../db/schema';
import type { Actor } from '../auth/actor';
import { requireBilling, requireScope } from '../auth/policies';
import { sellerTerms } from '../billing/accounts';
import { calendarDay, daysBetween } from '../billing/proration';
import type { Deps } from '../deps';

export interface MoneyByCurrency {
  currency: string;
  amountMinor: number;
}
export interface WaitingPurchase {
  purchaseId: string;
  buyerName: string;
  packageName: string;
  credits: number;
  amountMinor: number;
  currency: string;
  paidAt: Date | null;
  lastError: string | null;
}
export interface OverdueBuyer {
  buyerName: string;
  /** The sub-account (agency dashboard) or agency (platform dashboard) it concerns. */
  buyerId: string;
  invoices: number;
  oldestDueDay: string;
  daysOverdue: number;
  totals: MoneyByCurrency[];
}
export interface FailedCharge {
  buyerName: string;
  amountMinor: number;
  currency: string;
  reason: string | null;
  at: Date;
}
export interface SellerDashboard {
  zone: string;
  today: string;
  pool: { balance: number; threshold: number | null; low: boolean } | null;
  /** Closing balance of the pool for each of the last 30 days (oldest first). */
  poolTrend: { day: string; balance: number }[];
  waitingPurchases: WaitingPurchase[];
  overdue: OverdueBuyer[];
  failedAutoBilling: FailedCharge[];
  suspendedBuyers: number;
  buyers: number;
  /** Confirmed payments received this month, less refunds. */
  collectedThisMonth: MoneyByCurrency[];
  /** Monthly recurring revenue: running monthly subscriptions, and terms spread over their months. */
  mrr: MoneyByCurrency[];
  /** Platform only: agencies' orders paid but not applied yet. */
  ordersWaiting: number;
  /** When the aggregate figures (collected, MRR, buyers) were computed: up to FIGURES_MAX_AGE_MS old. */
  figuresAsOf: Date;
}

/** How long the aggregates over all of a seller's buyers may be served again (shown with their time). */
export const FIGURES_MAX_AGE_MS = 60_000;

interface Aggregates {
  asOf: Date;
  counts: { all: number; suspended: number } | undefined;
  collected: { currency: string; amount: string }[];
  mrrRows: { currency: string; amount: string }[];
}

/**
 * A process's last aggregates per seller and day (collected this month, MRR, buyer counts: sums over
 * all the seller's buyers, 10,000 subscriptions and a month of payments for a large agency). Served
 * for at most `maxAgeMs` of wall-clock time and shown with the time they were computed; what waits on
 * the seller (purchases, overdue buyers, failed charges, the pool) is always read fresh.
 */
export class DashboardFigures {
  private readonly last = new Map<string, { at: number; value: Promise<Aggregates> }>();
  constructor(
    private readonly maxAgeMs = FIGURES_MAX_AGE_MS,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get(key: string, compute: () => Promise<Aggregates>): Promise<Aggregates> {
    const hit = this.last.get(key);
    if (hit && this.nowMs() - hit.at < this.maxAgeMs) return hit.value;
    if (this.last.size > 1000) this.last.clear();
    // Requests arriving while the figures are computed share the one computation.
    const value = compute();
    this.last.set(key, { at: this.nowMs(), value });
    value.catch(() => this.last.delete(key));
    return value;
  }
}

const TREND_DAYS = 30;
const LIST_LIMIT = 20;

function byCurrency(rows: { currency: string; amount: number | string | null }[]): MoneyByCurrency[] {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(r.currency, (sums.get(r.currency) ?? 0) + Number(r.amount ?? 0));
  return [...sums].filter(([, v]) => v !== 0).map(([currency, amountMinor]) => ({ currency, amountMinor })).sort((a, b) => a.currency.localeCompare(b.currency));
}

/** Closing balance per day from the current balance back through the ledger's deltas. */
async function poolTrend(db: DbOrTx, accountId: string, balance: number, zone: string, now: Date): Promise<{ day: string; balance: number }[]> {
  const start = DateTime.fromJSDate(now).setZone(zone).startOf('day').minus({ days: TREND_DAYS - 1 });
  const rows = await db
    .select({ day: sql<string>`to_char(${creditLedger.createdAt} at time zone ${zone}, 'YYYY-MM-DD')`, delta: sql<string>`sum(${creditLedger.delta})` })
    .from(creditLedger)
    .where(and(eq(creditLedger.accountId, accountId), gte(creditLedger.createdAt, start.toJSDate())))
    .groupBy(sql`1`);
  const deltas = new Map(rows.map((r) => [r.day, Number(r.delta)]));
  const days: { day: string; balance: number }[] = [];
  let closing = balance;
  for (let i = 0; i < TREND_DAYS; i++) {
    const day = start.plus({ days: TREND_DAYS - 1 - i }).toISODate()!;
    days.push({ day, balance: closing });
    closing -= deltas.get(day) ?? 0;
  }
  return days.reverse();
}

/** The agency's pool and its trend. */
async function poolOf(db: DbOrTx, agencyId: string, zone: string, now: Date): Promise<{ pool: SellerDashboard['pool']; trend: SellerDashboard['poolTrend'] }> {
  const [acc] = await db.select().from(creditAccounts).where(and(eq(creditAccounts.agencyId, agencyId), isNull(creditAccounts.subAccountId)));
  const balance = acc?.balance ?? 0;
  const pool = { balance, threshold: acc?.lowBalanceThreshold ?? null, low: acc?.lowBalanceThreshold != null && balance < acc.lowBalanceThreshold };
  return { pool, trend: acc ? await poolTrend(db, acc.id, balance, zone, now) : [] };
}

/** Paid purchases still waiting for the pool (agency sellers resell credits). */
async function waitingPurchasesOf(db: DbOrTx, agencyId: string): Promise<WaitingPurchase[]> {
  const rows = await db
    .select({ p: purchases, buyerName: subAccounts.name, packageName: offerVersions.name, credits: offerVersions.credits })
    .from(purchases)
    .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId))
    .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
    .where(and(eq(purchases.agencyId, agencyId), eq(purchases.status, 'paid')))
    .orderBy(purchases.paidAt)
    .limit(LIST_LIMIT);
  return rows.map((r) => ({
    purchaseId: r.p.id, buyerName: r.buyerName, packageName: r.packageName, credits: r.credits, amountMinor: r.p.priceMinor, currency: r.p.currency, paidAt: r.p.paidAt, lastError: r.p.lastGrantError,
  }));
}

/**
 * Overdue invoices, grouped by buyer: summed per buyer and currency first (on the open invoices'
 * index), then the buyers' names joined to those groups only.
 */
async function overdueBuyers(db: DbOrTx, sellerAgencyId: string | null, today: string): Promise<OverdueBuyer[]> {
  const groups = db
    .select({
      agencyId: invoices.agencyId,
      subAccountId: invoices.subAccountId,
      currency: invoices.currency,
      n: sql<number>`count(*)::int`.as('n'),
      total: sql<string>`sum(${invoices.totalMinor})`.as('total'),
      oldest: sql<string>`min(${invoices.dueDay})::text`.as('oldest'),
    })
    .from(invoices)
    .where(and(sellerAgencyId ? eq(invoices.sellerAgencyId, sellerAgencyId) : isNull(invoices.sellerAgencyId), eq(invoices.status, 'open'), lt(invoices.dueDay, today)))
    .groupBy(invoices.agencyId, invoices.subAccountId, invoices.currency)
    .as('g');
  const overdueRows = await db
    .select({
      buyerId: sql<string>`coalesce(${groups.subAccountId}, ${groups.agencyId})`,
      buyerName: sql<string>`coalesce(${subAccounts.name}, ${agencies.name})`,
      currency: groups.currency,
      n: groups.n,
      total: groups.total,
      oldest: groups.oldest,
    })
    .from(groups)
    .leftJoin(subAccounts, eq(subAccounts.id, groups.subAccountId))
    .innerJoin(agencies, eq(agencies.id, groups.agencyId));
  const overdueMap = new Map<string, OverdueBuyer>();
  for (const r of overdueRows) {
    const o = overdueMap.get(r.buyerId) ?? { buyerId: r.buyerId, buyerName: r.buyerName, invoices: 0, oldestDueDay: r.oldest, daysOverdue: 0, totals: [] };
    o.invoices += r.n;
    if (r.oldest < o.oldestDueDay) o.oldestDueDay = r.oldest;
    o.totals.push({ currency: r.currency, amountMinor: Number(r.total) });
    overdueMap.set(r.buyerId, o);
  }
  return [...overdueMap.values()]
    .map((o) => ({ ...o, daysOverdue: daysBetween(o.oldestDueDay, today) }))
    .sort((a, b) => b.daysOverdue - a.daysOverdue || a.buyerName.localeCompare(b.buyerName))
    .slice(0, LIST_LIMIT);
}

/** Auto-billing that failed in the last 30 days, for the seller's buyers. */
async function failedCharges(db: DbOrTx, sellerAgencyId: string | null, now: Date): Promise<FailedCharge[]> {
  const since = DateTime.fromJSDate(now).minus({ days: 30 }).toJSDate();
  const failedRows = await db
    .select({ c: autoBillingCharges, subName: subAccounts.name, agencyName: agencies.name })
    .from(autoBillingCharges)
    .leftJoin(subAccounts, eq(subAccounts.id, autoBillingCharges.subAccountId))
    .innerJoin(agencies, eq(agencies.id, autoBillingCharges.agencyId))
    .where(and(
      inArray(autoBillingCharges.status, ['declined', 'failed']),
      gte(autoBillingCharges.createdAt, since),
      sellerAgencyId ? and(eq(autoBillingCharges.agencyId, sellerAgencyId), sql`${autoBillingCharges.subAccountId} is not null`) : isNull(autoBillingCharges.subAccountId),
    ))
    .orderBy(sql`${autoBillingCharges.createdAt} desc`)
    .limit(LIST_LIMIT);
  return failedRows.map((r) => ({ buyerName: r.subName ?? r.agencyName, amountMinor: r.c.amountMinor, currency: r.c.currency ?? '', reason: r.c.failureReason, at: r.c.createdAt }));
}

/** Buyers and suspended buyers. */
async function buyerCounts(db: DbOrTx, sellerAgencyId: string | null): Promise<{ all: number; suspended: number } | undefined> {
  const [counts] = sellerAgencyId
    ? await db.select({ all: sql<number>`count(*)::int`, suspended: sql<number>`count(*) filter (where ${subAccounts.status} = 'suspended')::int` }).from(subAccounts).where(eq(subAccounts.agencyId, sellerAgencyId))
    : await db.select({ all: sql<number>`count(*)::int`, suspended: sql<number>`count(*) filter (where ${agencies.status} = 'suspended')::int` }).from(agencies);
  return counts;
}

/** The dashboard of the actor's seller: an agency (its clients) or the platform (its agencies). */
export async function sellerDashboard(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; figures?: DashboardFigures }): Promise<SellerDashboard> {
  const { actor } = params;
  if (actor.scope !== 'platform') requireScope(actor, 'agency');
  requireBilling(actor);
  const sellerAgencyId = actor.scope === 'platform' ? null : actor.agencyId!;
  const { db } = deps;
  const now = deps.clock.now();
  const { zone } = await sellerTerms(db, sellerAgencyId);
  const today = calendarDay(now, zone);
  const monthStart = DateTime.fromJSDate(now).setZone(zone).startOf('month').toJSDate();
  const sellerIs = (col: AnyPgColumn) => (sellerAgencyId ? eq(col, sellerAgencyId) : isNull(col));

  const aggregates = async (): Promise<Aggregates> => {
    const [counts, collected, mrrRows] = await Promise.all([
      buyerCounts(db, sellerAgencyId),
      // Money: collected this month and MRR.
      db
        .select({ currency: payments.currency, amount: sql<string>`sum(${payments.amountMinor} - ${payments.refundedMinor})` })
        .from(payments)
        .where(and(sellerIs(payments.sellerAgencyId), inArray(payments.status, ['confirmed', 'refunded']), gte(payments.confirmedAt, monthStart)))
        .groupBy(payments.currency),
      db
        .select({
          currency: billingSubscriptions.currency,
          amount: sql<string>`sum(case when ${billingSubscriptions.billing} = 'term' then round(${billingSubscriptions.termPriceMinor}::numeric / ${billingSubscriptions.termMonths}) else ${billingSubscriptions.monthlyPriceMinor} * ${billingSubscriptions.quantity} end)`,
        })
        .from(billingSubscriptions)
        .where(and(sellerIs(billingSubscriptions.sellerAgencyId), eq(billingSubscriptions.status, 'active'), inArray(billingSubscriptions.billing, ['monthly', 'term']), sql`(${billingSubscriptions.termLastDay} is null or ${billingSubscriptions.termLastDay} >= ${today})`))
        .groupBy(billingSubscriptions.currency),
    ]);
    return { asOf: now, counts, collected, mrrRows };
  };

  // The figures are independent: their queries run side by side (each on its own connection).
  const [poolAndTrend, waitingPurchases, overdue, failedAutoBilling, agg, orders] = await Promise.all([
    sellerAgencyId ? poolOf(db, sellerAgencyId, zone, now) : Promise.resolve({ pool: null, trend: [] }),
    sellerAgencyId ? waitingPurchasesOf(db, sellerAgencyId) : Promise.resolve([]),
    overdueBuyers(db, sellerAgencyId, today),
    failedCharges(db, sellerAgencyId, now),
    params.figures ? params.figures.get(`${sellerAgencyId ?? ''}|${today}`, aggregates) : aggregates(),
    sellerAgencyId ? Promise.resolve([{ n: 0 }]) : db.select({ n: sql<number>`count(*)::int` }).from(agencyOrders).where(eq(agencyOrders.status, 'paid')),
  ]);
  const { counts, collected, mrrRows } = agg;
  const { pool, trend } = poolAndTrend;
  const order = orders[0];

  return {
    zone, today, pool, poolTrend: trend, waitingPurchases, overdue, failedAutoBilling,
    suspendedBuyers: counts?.suspended ?? 0, buyers: counts?.all ?? 0,
    collectedThisMonth: byCurrency(collected), mrr: byCurrency(mrrRows), ordersWaiting: order?.n ?? 0, figuresAsOf: agg.asOf,
  };
}
