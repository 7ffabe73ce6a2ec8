// One page per client for its agency (issue 16): everything the agency needs to know about one
// sub-account, read in one place, and the audit-logged read-only view of the client's portal.
import { and, count, eq, inArray } from 'drizzle-orm';
import { channelIntegrations, representatives } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireScope } from '../auth/policies';
import { billingAccount } from '../billing/accounts';
import { FREE_REPRESENTATIVES } from '../billing/entitlements';
import { invoiceStatusLabel, listIssuedInvoices, type Invoice } from '../billing/invoices.usecases';
import { calendarDay } from '../billing/proration';
import { accountSubscriptions, type SubscriptionView } from '../billing/subscriptions.usecases';
import { getBalance, listCreditHistory, type BalanceView, type HistoryEntry } from '../credits/credits.usecases';
import { labelReferences, type ReferenceLabel } from '../credits/references';
import type { Deps } from '../deps';
import { entitlementStatus, type EntitlementStatus } from '../entitlements/entitlements.usecases';
import { listPurchases, type PurchaseRow } from '../purchases/purchases.usecases';
import { isManuallySuspended } from '../suspension/manual-suspension';
import { suspensionOf, type SuspensionView } from '../suspension/suspension.usecases';
import { getSubAccount, type SubAccount } from './sub-accounts.usecases';

/** What the client's portal shows now: suspended and over limits both lock it (src/web/account-gate.ts). */
export type ClientState = 'active' | 'suspended' | 'over_limits';

export interface ClientOverview {
  sub: SubAccount;
  state: ClientState;
  balance: BalanceView;
  history: HistoryEntry[];
  references: Map<string, ReferenceLabel>;
  limits: EntitlementStatus;
  suspension: SuspensionView & { manual: boolean };
  /** Billing sections: only for members with the billing permission (null otherwise). */
  billing: {
    subscriptions: (SubscriptionView & { live: boolean })[];
    invoices: (Invoice & { statusLabel: string; overdueDays: number | null })[];
    purchases: PurchaseRow[];
  } | null;
}

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** The agency's view of one of its clients; another agency's client is not found. */
export async function clientOverview(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; subAccountId: string; sub?: SubAccount }): Promise<ClientOverview> {
  const { actor } = params;
  requireScope(actor, 'agency');
  // `sub`: the caller's own read of that sub-account with this actor (read once per page, passed down).
  const known = params.sub?.id === params.subAccountId && params.sub.agencyId === actor.agencyId ? params.sub : null;
  const sub = known ?? (await getSubAccount(deps, { actor, subAccountId: params.subAccountId }));
  const account = await billingAccount(deps.db, sub.agencyId, sub.id, sub);
  const owner = { agencyId: sub.agencyId, subAccountId: sub.id };
  // The client's subscriptions: read once, for its limits and (with the billing permission) its packages.
  const subscriptionsRead = accountSubscriptions(deps.db, sub.id);
  subscriptionsRead.catch(() => {}); // awaited below; a failure is reported there
  const [balance, history, limits, suspension] = await Promise.all([
    getBalance(deps, owner),
    listCreditHistory(deps, owner, { limit: 10 }),
    entitlementStatus(deps, account, subscriptionsRead),
    suspensionOf(deps, account),
  ]);
  const references = await labelReferences(deps.db, { agencyId: sub.agencyId, scope: 'agency', billing: actor.billing }, history.entries.map((e) => e.reference));
  const today = calendarDay(deps.clock.now(), account.zone);
  let billing: ClientOverview['billing'] = null;
  if (actor.billing) {
    const [subscriptions, invoices, purchases] = await Promise.all([
      subscriptionsRead,
      listIssuedInvoices(deps, { actor, accountId: sub.id, limit: 24 }),
      listPurchases(deps, { actor, subAccountId: sub.id, limit: 20, sub }),
    ]);
    billing = {
      subscriptions: subscriptions
        .map((s) => ({ ...s, live: s.status === 'active' && s.periods.some((p) => p.throughDay === null || p.throughDay >= today) }))
        .reverse(),
      invoices: invoices.map((i) => {
        const overdue = (i.status === 'open' || i.status === 'draft') && i.dueDay < today;
        return { ...i, statusLabel: overdue ? 'overdue' : invoiceStatusLabel[i.status], overdueDays: overdue ? daysBetween(i.dueDay, today) : null };
      }),
      purchases,
    };
  }
  const state: ClientState = suspension.suspended || sub.status === 'suspended' ? 'suspended' : limits.overLimits.length > 0 ? 'over_limits' : 'active';
  return { sub, state, balance, history: history.entries, references, limits, suspension: { ...suspension, manual: isManuallySuspended(sub) }, billing };
}

/**
 * The state of each listed client, as its portal sees it (the sub-accounts list). Most clients
 * use no more than the free representative and no channel, so only the others are checked
 * against their packages (two grouped queries, then one check per such client), as the gate does.
 */
export async function clientStates(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; subs: readonly SubAccount[] }): Promise<Map<string, ClientState>> {
  const agencyId = params.actor.agencyId!;
  requireScope(params.actor, 'agency');
  const states = new Map<string, ClientState>();
  const open = params.subs.filter((s) => s.agencyId === agencyId && s.status !== 'suspended');
  for (const s of params.subs) if (s.agencyId === agencyId && s.status === 'suspended') states.set(s.id, 'suspended');
  if (open.length === 0) return states;
  const ids = open.map((s) => s.id);
  const [reps, chans] = await Promise.all([
    deps.db.select({ id: representatives.accountId, n: count() }).from(representatives).where(and(eq(representatives.agencyId, agencyId), inArray(representatives.accountId, ids))).groupBy(representatives.accountId),
    deps.db.select({ id: channelIntegrations.accountId, n: count() }).from(channelIntegrations).where(and(eq(channelIntegrations.agencyId, agencyId), inArray(channelIntegrations.accountId, ids))).groupBy(channelIntegrations.accountId),
  ]);
  const candidates = new Set([...reps.filter((r) => Number(r.n) > FREE_REPRESENTATIVES).map((r) => r.id), ...chans.filter((c) => Number(c.n) > 0).map((c) => c.id)]);
  for (const s of open) {
    const over = candidates.has(s.id) && (await entitlementStatus(deps, await billingAccount(deps.db, agencyId, s.id))).overLimits.length > 0;
    states.set(s.id, over ? 'over_limits' : 'active');
  }
  return states;
}

/**
 * The client's portal home as the client sees it, for its agency: read only, and every look is
 * audit-logged (who looked at which client, when).
 */
export async function viewClientPortal(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; subAccountId: string }): Promise<{ sub: SubAccount; balance: BalanceView; agencyName: string }> {
  const { actor } = params;
  requireScope(actor, 'agency');
  const sub = await getSubAccount(deps, { actor, subAccountId: params.subAccountId });
  const [balance, account] = await Promise.all([getBalance(deps, { agencyId: sub.agencyId, subAccountId: sub.id }), billingAccount(deps.db, sub.agencyId, sub.id)]);
  await recordAudit(deps.db, actor, { action: 'sub_account.portal_viewed', targetType: 'sub_account', targetId: sub.id, agencyId: sub.agencyId, subAccountId: sub.id, data: { readOnly: true } }, deps.clock.now());
  return { sub, balance, agencyName: account.sellerName };
}
