// What a ledger entry's reference means to a person. References are written by the system
// ("purchase:pur_...", "subscription:sbs_...:2", "order:ord_...", "auto:abc_...", a lot id) and
// stay as they are in the API and the CSV; screens show these labels (and links) instead.
import { and, eq, inArray } from 'drizzle-orm';
import { agencyOrders, creditLots, offerVersions, purchases, subAccounts, subscriptions } from '../../db/schema';
import type { DbOrTx } from '../../db/client';

export interface ReferenceLabel {
  label: string;
  /** Where the thing is shown, when the reader's screens have a page for it. */
  href: string | null;
}

export interface ReferenceContext {
  /** Tenant of the ledger: every lookup is limited to it. */
  agencyId: string;
  /** Who reads: the agency sees its clients' names and its own pages; a client its portal's. */
  scope: 'platform' | 'agency' | 'sub_account';
  /** Whether the reader may open billing pages (purchases, store, auto-billing). */
  billing: boolean;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Labels for the given references (duplicates and nulls allowed); unknown ones get a plain word. */
export async function labelReferences(db: DbOrTx, ctx: ReferenceContext, references: readonly (string | null)[]): Promise<Map<string, ReferenceLabel>> {
  const out = new Map<string, ReferenceLabel>();
  const unique = [...new Set(references.filter((r): r is string => !!r))];
  const idsOf = (prefix: string) => unique.filter((r) => r.startsWith(`${prefix}:`)).map((r) => r.split(':')[1]!);
  const portal = ctx.scope === 'sub_account';
  const link = (agencyPath: string, portalPath: string) => (!ctx.billing || ctx.scope === 'platform' ? null : portal ? portalPath : agencyPath);

  const purchaseIds = idsOf('purchase');
  const subscriptionIds = [...new Set(idsOf('subscription'))];
  const orderIds = idsOf('order');
  const lotIds = unique.filter((r) => r.startsWith('lot_'));

  const [bought, subscribed, orders, lots] = await Promise.all([
    purchaseIds.length === 0 ? [] : db
      .select({ id: purchases.id, name: offerVersions.name, subAccountId: purchases.subAccountId, buyer: subAccounts.name })
      .from(purchases)
      .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
      .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId))
      .where(and(eq(purchases.agencyId, ctx.agencyId), inArray(purchases.id, purchaseIds))),
    subscriptionIds.length === 0 ? [] : db
      .select({ id: subscriptions.id, name: offerVersions.name, subAccountId: subscriptions.subAccountId, buyer: subAccounts.name })
      .from(subscriptions)
      .innerJoin(offerVersions, eq(offerVersions.id, subscriptions.packageVersionId))
      .innerJoin(subAccounts, eq(subAccounts.id, subscriptions.subAccountId))
      .where(and(eq(subscriptions.agencyId, ctx.agencyId), inArray(subscriptions.id, subscriptionIds))),
    orderIds.length === 0 ? [] : db
      .select({ id: agencyOrders.id, kind: agencyOrders.kind, credits: agencyOrders.credits, quantity: agencyOrders.quantity })
      .from(agencyOrders)
      .where(and(eq(agencyOrders.agencyId, ctx.agencyId), inArray(agencyOrders.id, orderIds))),
    lotIds.length === 0 ? [] : db
      .select({ id: creditLots.id, source: creditLots.source, createdAt: creditLots.createdAt })
      .from(creditLots)
      .where(and(eq(creditLots.agencyId, ctx.agencyId), inArray(creditLots.id, lotIds))),
  ]);
  const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
  const purchaseOf = byId(bought);
  const subscriptionOf = byId(subscribed);
  const orderOf = byId(orders);
  const lotOf = byId(lots);
  const forClient = (name: string) => (portal ? '' : ` for ${name}`);

  for (const ref of unique) {
    const [kind, id, index] = ref.split(':');
    let label: ReferenceLabel;
    if (kind === 'purchase') {
      const p = purchaseOf.get(id ?? '');
      label = { label: p ? `Purchase of ${p.name}${forClient(p.buyer)}` : 'Purchase', href: link(`/agency/purchases${p ? `?subAccountId=${p.subAccountId}` : ''}`, '/portal/purchases') };
    } else if (kind === 'subscription') {
      const s = subscriptionOf.get(id ?? '');
      const month = index !== undefined && /^\d+$/.test(index) ? `, month ${Number(index) + 1}` : '';
      label = { label: s ? `Subscription to ${s.name}${forClient(s.buyer)}${month}` : `Subscription${month}`, href: link(`/agency/purchases${s ? `?subAccountId=${s.subAccountId}` : ''}`, '/portal/purchases') };
    } else if (kind === 'order') {
      const o = orderOf.get(id ?? '');
      const what = !o ? '' : o.kind === 'topup' ? `: ${o.credits.toLocaleString('en-US')} credits` : `: ${o.quantity} chatbot slot${o.quantity === 1 ? '' : 's'}`;
      label = { label: `Order from the platform${what}`, href: link('/agency/store', '/portal/credits') };
    } else if (kind === 'auto') {
      label = { label: 'Automatic top-up', href: link('/agency/auto-billing', '/portal/auto-billing') };
    } else if (kind === 'adjustment') {
      label = { label: 'Adjustment', href: null };
    } else if (kind === 'grants') {
      label = { label: 'Package grants', href: null };
    } else if (kind?.startsWith('lot_')) {
      const l = lotOf.get(ref);
      label = { label: l ? `Credits received ${day(l.createdAt)} (${l.source.replace('_', ' ')})` : 'Expired credits', href: null };
    } else {
      // Anything else written by hand or by a future caller: a word, never a raw id.
      label = { label: /^[a-z]{2,4}_[0-9a-z]{6,}/.test(ref) ? 'Reference' : ref.replace(/[a-z]{2,4}_[0-9a-z]{6,}/g, '…'), href: null };
    }
    out.set(ref, label);
  }
  return out;
}
