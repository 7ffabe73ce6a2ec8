import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { subAccounts, users, type agencies } from '../../db/schema';
import { formatMoney } from '../lib/money';
import { notify } from '../notifications/notify';
import type { PackageVersion } from '../catalog/resold-packages';
import type { Purchase } from './purchases.usecases';

type Agency = typeof agencies.$inferSelect;

const texts = {
  en: {
    subject: (pkg: string, client: string) => `Purchase confirmed: ${pkg} for ${client}`,
    body: (a: { client: string; pkg: string; type: string; amount: string; credits: number; term: number | null; id: string }) =>
      `${a.client} bought ${a.pkg}.\n\nType: ${a.type === 'credit' ? 'credit package' : `subscription, ${a.term} month(s), credits granted monthly`}\nCredits: ${a.credits.toLocaleString('en-US')}\nAmount: ${a.amount}\nPurchase: ${a.id}\n\nThe package has been applied to the account.\n`,
  },
  tr: {
    subject: (pkg: string, client: string) => `Satın alma onaylandı: ${client} için ${pkg}`,
    body: (a: { client: string; pkg: string; type: string; amount: string; credits: number; term: number | null; id: string }) =>
      `${a.client}, ${a.pkg} paketini satın aldı.\n\nTür: ${a.type === 'credit' ? 'kredi paketi' : `abonelik, ${a.term} ay, krediler her ay tanımlanır`}\nKredi: ${a.credits.toLocaleString('tr-TR')}\nTutar: ${a.amount}\nSatın alma no: ${a.id}\n\nPaket hesaba uygulandı.\n`,
  },
} as const;

/**
 * After a purchase is granted: one email to the agency's general address with its CC addresses,
 * and the buyer (the user who bought, or the sub-account's billing address), in the agency's language.
 */
export async function purchaseEmail(tx: Tx, p: { purchase: Purchase; version: PackageVersion; agency: Agency; now: Date }): Promise<string | null> {
  const [sub] = await tx.select({ name: subAccounts.name, billingEmail: subAccounts.billingEmail }).from(subAccounts).where(eq(subAccounts.id, p.purchase.subAccountId));
  const [buyer] = p.purchase.buyerUserId ? await tx.select({ email: users.email }).from(users).where(eq(users.id, p.purchase.buyerUserId)) : [];
  const locale = p.agency.locale === 'tr' ? 'tr' : 'en';
  const t = texts[locale];
  const to = [p.agency.billingEmail, buyer?.email ?? sub?.billingEmail].filter((e): e is string => Boolean(e));
  const client = sub?.name ?? 'client';
  const subject = t.subject(p.version.name, client);
  return notify(tx, {
    category: 'purchases', kind: 'purchase_granted',
    account: { agencyId: p.purchase.agencyId, subAccountId: p.purchase.subAccountId },
    at: p.now,
    inApp: { message: subject, data: { purchaseId: p.purchase.id, package: p.version.name, client } },
    email: { idempotencyKey: `purchase-granted:${p.purchase.id}`, message: {
      to: [...new Set(to)],
      cc: p.agency.ccEmails.filter((c) => !to.includes(c)),
      subject,
      text: t.body({ client, pkg: p.version.name, type: p.version.type, amount: formatMoney(p.purchase.priceMinor, p.purchase.currency, locale), credits: p.version.credits, term: p.version.termMonths, id: p.purchase.id }),
    } },
  });
}
