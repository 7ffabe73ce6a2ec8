// What a ledger entry's reference means to a person. References are written by the system
// ("purchase:pur_...", "subscription:sbs_...:2", "order:ord_...", "auto:abc_...", a lot id) and
// stay as they are in the API and the CSV; screens show these labels (and links) instead.
import { and, eq, inArray } from 'drizzle-orm';
import { agencyOrders, creditLots, offerVersions, purchases, subAccounts, subscriptions } from '../../db/schema';
import type { DbOrTx } from '../../db/client';
import { formatterFor, type Formatter } from '../i18n/format';
import { tFor, type Translate } from '../i18n/i18n';

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
  /** The reader's language and formats (English and UTC when not given). */
  t?: Translate;
  fmt?: Formatter;
}

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
  const t = ctx.t ?? tFor('en');
  const fmt = ctx.fmt ?? formatterFor('en', 'UTC');
  // A client reads its own purchases; the agency reads whose they are.
  const named = (key: string, name: string, client: string) => (portal ? t(`credits:ref.${key}`, { name }) : t(`credits:ref.${key}For`, { name, client }));

  for (const ref of unique) {
    const [kind, id, index] = ref.split(':');
    let label: ReferenceLabel;
    if (kind === 'purchase') {
      const p = purchaseOf.get(id ?? '');
      label = { label: p ? named('purchaseOf', p.name, p.buyer) : t('credits:ref.purchase'), href: link(`/agency/purchases${p ? `?subAccountId=${p.subAccountId}` : ''}`, '/portal/purchases') };
    } else if (kind === 'subscription') {
      const s = subscriptionOf.get(id ?? '');
      const what = s ? named('subscriptionTo', s.name, s.buyer) : t('credits:ref.subscription');
      label = { label: index !== undefined && /^\d+$/.test(index) ? t('credits:ref.month', { label: what, n: Number(index) + 1 }) : what, href: link(`/agency/purchases${s ? `?subAccountId=${s.subAccountId}` : ''}`, '/portal/purchases') };
    } else if (kind === 'order') {
      const o = orderOf.get(id ?? '');
      const what = !o ? t('credits:ref.order') : o.kind === 'topup' ? t('credits:ref.orderCredits', { n: fmt.number(o.credits) }) : t('credits:ref.orderChatbots', { count: o.quantity });
      label = { label: what, href: link('/agency/store', '/portal/credits') };
    } else if (kind === 'auto') {
      label = { label: t('credits:ref.auto'), href: link('/agency/auto-billing', '/portal/auto-billing') };
    } else if (kind === 'adjustment') {
      label = { label: t('credits:ref.adjustment'), href: null };
    } else if (kind === 'grants') {
      label = { label: t('credits:ref.grants'), href: null };
    } else if (kind?.startsWith('lot_')) {
      const l = lotOf.get(ref);
      label = { label: l ? t('credits:ref.lot', { date: fmt.date(l.createdAt), source: t(`credits:source.${l.source}`) }) : t('credits:ref.expired'), href: null };
    } else {
      // Anything else written by hand or by a future caller: a word, never a raw id.
      label = { label: /^[a-z]{2,4}_[0-9a-z]{6,}/.test(ref) ? t('credits:ref.other') : ref.replace(/[a-z]{2,4}_[0-9a-z]{6,}/g, '…'), href: null };
    }
    out.set(ref, label);
  }
  return out;
}
