// Who buys and who sells on the billing engine. A sub-account buys from its agency; an agency
// buys from the platform. The seller's time zone and invoice terms come from the seller: the
// agency's settings, or the platform row (default Europe/Istanbul, 10 days).
import { and, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { agencies, memberships, platform, subAccounts, users } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { errors } from '../lib/errors';
import { DEFAULT_SELLER_ZONE } from './proration';

export const PLATFORM_SELLER_KEY = 'platform';

/** The buyer of a billing action, with its seller's terms. */
export interface BillingAccount {
  /** The tenant: the sub-account's agency, or the buying agency. */
  agencyId: string;
  subAccountId: string | null;
  /** The buyer's own id (sub-account or agency): `buyer_id` on the billing tables. */
  buyerId: string;
  /** null: the platform sells. */
  sellerAgencyId: string | null;
  sellerKey: string;
  sellerName: string;
  /** The seller's IANA time zone: every billed day is a calendar day there. */
  zone: string;
  dueDays: number;
  locale: 'en' | 'tr';
  buyerName: string;
  status: 'active' | 'suspended';
}

/**
 * The account for a buyer id pair; throws not found if it does not exist. `knownSub`: the
 * sub-account's row as the caller has just read it (not read again when it is that sub-account of
 * that agency).
 */
export async function billingAccount(db: DbOrTx, agencyId: string, subAccountId: string | null, knownSub?: typeof subAccounts.$inferSelect): Promise<BillingAccount> {
  const known = subAccountId && knownSub?.id === subAccountId && knownSub.agencyId === agencyId ? knownSub : null;
  // The agency and the buyer's other row (its sub-account, or the platform) are read side by side.
  const [[agency], [sub], [plt]] = await Promise.all([
    db.select().from(agencies).where(eq(agencies.id, agencyId)),
    known ? Promise.resolve([known]) : subAccountId ? db.select().from(subAccounts).where(and(eq(subAccounts.id, subAccountId), eq(subAccounts.agencyId, agencyId))) : Promise.resolve([]),
    subAccountId ? Promise.resolve([]) : db.select().from(platform).limit(1),
  ]);
  if (!agency) throw errors.notFound('Account');
  if (subAccountId) {
    if (!sub) throw errors.notFound('Account');
    return {
      agencyId, subAccountId, buyerId: sub.id, sellerAgencyId: agency.id, sellerKey: agency.id, sellerName: agency.name,
      zone: agency.timeZone || DEFAULT_SELLER_ZONE, dueDays: agency.invoiceDueDays, locale: agency.locale === 'tr' ? 'tr' : 'en', buyerName: sub.name, status: sub.status,
    };
  }
  return {
    agencyId, subAccountId: null, buyerId: agency.id, sellerAgencyId: null, sellerKey: PLATFORM_SELLER_KEY, sellerName: plt?.name ?? 'Kontor',
    zone: plt?.timeZone || DEFAULT_SELLER_ZONE, dueDays: plt?.invoiceDueDays ?? 10, locale: agency.locale === 'tr' ? 'tr' : 'en', buyerName: agency.name, status: agency.status,
  };
}

/** The caller as a buyer: an agency (of platform packages) or a sub-account (of its agency's). */
export async function buyerAccount(db: DbOrTx, actor: Actor): Promise<BillingAccount> {
  if (actor.scope === 'platform' || !actor.agencyId) throw errors.wrongScope('agency or sub-account');
  return billingAccount(db, actor.agencyId, actor.scope === 'sub_account' ? actor.subAccountId : null);
}

/** Zone and due days of a seller (null: the platform). */
export async function sellerTerms(db: DbOrTx, sellerAgencyId: string | null): Promise<{ zone: string; dueDays: number; name: string }> {
  if (sellerAgencyId) {
    const [a] = await db.select({ zone: agencies.timeZone, dueDays: agencies.invoiceDueDays, name: agencies.name }).from(agencies).where(eq(agencies.id, sellerAgencyId));
    if (!a) throw errors.notFound('Seller');
    return { zone: a.zone || DEFAULT_SELLER_ZONE, dueDays: a.dueDays, name: a.name };
  }
  const [p] = await db.select().from(platform).limit(1);
  return { zone: p?.timeZone || DEFAULT_SELLER_ZONE, dueDays: p?.invoiceDueDays ?? 10, name: p?.name ?? 'Kontor' };
}

/**
 * Where a buyer's invoices go: its billing email (an agency's with its CC addresses); without
 * one, its owners.
 */
export async function invoiceRecipients(db: DbOrTx, agencyId: string, subAccountId: string | null): Promise<{ to: string[]; cc: string[] }> {
  const owners = async () => {
    const rows = await db
      .select({ email: users.email })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.agencyId, agencyId), subAccountId ? eq(memberships.subAccountId, subAccountId) : isNull(memberships.subAccountId), eq(memberships.role, 'owner')));
    return rows.map((r) => r.email);
  };
  if (subAccountId) {
    const [sub] = await db.select({ email: subAccounts.billingEmail }).from(subAccounts).where(eq(subAccounts.id, subAccountId));
    return { to: sub?.email ? [sub.email] : await owners(), cc: [] };
  }
  const [agency] = await db.select({ email: agencies.billingEmail, cc: agencies.ccEmails }).from(agencies).where(eq(agencies.id, agencyId));
  return agency?.email ? { to: [agency.email], cc: agency.cc.filter((c) => c !== agency.email) } : { to: await owners(), cc: [] };
}
