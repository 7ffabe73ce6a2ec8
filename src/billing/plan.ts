// An agency's plan on the billing engine (docs/catalog.md, "Plans"): a monthly subscription of
// the agency to a `plan` offer of the platform (kind 'plan'). What the plan includes (its
// modules, for example "reselling") follows from the plan subscription in effect today in the
// platform's zone, with the engine's change-day rule (the dearer plan on the day of a change), and
// only while the agency is not suspended for overdue invoices (a plan that is not paid gives
// nothing). Read here without the catalog, so that the catalog can ask.
import { and, asc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { agencies, billingPeriods, billingSubscriptions, platform } from '../../db/schema';
import type { Clock } from '../lib/clock';
import { subscriptionsInEffect, type EntitlementSubscription } from './entitlements';
import { calendarDay, DEFAULT_SELLER_ZONE } from './proration';

export interface PlanInEffect {
  subscriptionId: string;
  /** The plan offer's id. */
  offerId: string;
  name: string;
  modules: string[];
}

/** The agency's plan subscriptions (not refunded), oldest first, with their periods. */
async function planSubscriptions(db: DbOrTx, agencyId: string): Promise<(EntitlementSubscription & { packageId: string })[]> {
  const subs = await db
    .select()
    .from(billingSubscriptions)
    .where(and(eq(billingSubscriptions.buyerId, agencyId), eq(billingSubscriptions.agencyId, agencyId), isNull(billingSubscriptions.subAccountId), isNull(billingSubscriptions.sellerAgencyId), eq(billingSubscriptions.kind, 'plan'), ne(billingSubscriptions.status, 'refunded')))
    .orderBy(asc(billingSubscriptions.createdAt), asc(billingSubscriptions.id));
  if (subs.length === 0) return [];
  const periods = await db
    .select({ subscriptionId: billingPeriods.subscriptionId, fromDay: billingPeriods.fromDay, throughDay: billingPeriods.throughDay })
    .from(billingPeriods)
    .where(inArray(billingPeriods.subscriptionId, subs.map((s) => s.id)));
  return subs.map((s) => ({ ...s, periods: periods.filter((p) => p.subscriptionId === s.id) }));
}

/**
 * The plan in effect for an agency now, or null: no plan subscription covers today (never chosen,
 * cancelled, or ended), or the agency is suspended for overdue invoices.
 */
export async function planInEffect(deps: { db: DbOrTx; clock: Clock }, agencyId: string): Promise<PlanInEffect | null> {
  const [[agency], [plt], subs] = await Promise.all([
    deps.db.select({ overdueSuspendedAt: agencies.overdueSuspendedAt }).from(agencies).where(eq(agencies.id, agencyId)),
    deps.db.select({ zone: platform.timeZone }).from(platform).limit(1),
    planSubscriptions(deps.db, agencyId),
  ]);
  if (!agency || agency.overdueSuspendedAt || subs.length === 0) return null;
  const today = calendarDay(deps.clock.now(), plt?.zone || DEFAULT_SELLER_ZONE);
  const [sub] = subscriptionsInEffect(subs, today);
  return sub ? { subscriptionId: sub.id, offerId: sub.packageId, name: sub.name, modules: sub.modules } : null;
}
