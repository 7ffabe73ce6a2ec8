import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { subAccounts, users, type agencies } from '../../db/schema';
import { msg } from '../lib/message';
import { mailLanguage, mailWriter } from '../mail/language';
import { notify } from '../notifications/notify';
import type { PackageVersion } from '../catalog/resold-packages';
import type { Purchase } from './purchases.usecases';

type Agency = typeof agencies.$inferSelect;

/**
 * After a purchase is granted: one email to the agency's general address with its CC addresses,
 * and the buyer (the user who bought, or the sub-account's billing address), in their language
 * (their own choice, else the agency's).
 */
export async function purchaseEmail(tx: Tx, p: { purchase: Purchase; version: PackageVersion; agency: Agency; now: Date }): Promise<string | null> {
  const [sub] = await tx.select({ name: subAccounts.name, billingEmail: subAccounts.billingEmail }).from(subAccounts).where(eq(subAccounts.id, p.purchase.subAccountId));
  const [buyer] = p.purchase.buyerUserId ? await tx.select({ email: users.email }).from(users).where(eq(users.id, p.purchase.buyerUserId)) : [];
  const to = [p.agency.billingEmail, buyer?.email ?? sub?.billingEmail].filter((e): e is string => Boolean(e));
  const w = mailWriter(await mailLanguage(tx, p.agency.id, to), p.agency.timeZone);
  const client = sub?.name ?? w.t('email:purchase.someClient');
  const type = p.version.type === 'credit' ? w.t('email:purchase.typeCredit') : w.t('email:purchase.typeSubscription', { count: p.version.termMonths ?? 1 });
  const subject = msg('email:purchase.subject', { pkg: p.version.name, client });
  return notify(tx, {
    category: 'purchases', kind: 'purchase_granted',
    account: { agencyId: p.purchase.agencyId, subAccountId: p.purchase.subAccountId },
    at: p.now,
    inApp: { message: subject, data: { purchaseId: p.purchase.id, package: p.version.name, client } },
    email: { idempotencyKey: `purchase-granted:${p.purchase.id}`, message: {
      to: [...new Set(to)],
      cc: p.agency.ccEmails.filter((c) => !to.includes(c)),
      subject: w.t('email:purchase.subject', { pkg: p.version.name, client }),
      text: w.t('email:purchase.body', { client, pkg: p.version.name, type, credits: w.fmt.number(p.version.credits), amount: w.fmt.money(p.purchase.priceMinor, p.purchase.currency), id: p.purchase.id }),
    } },
  });
}
