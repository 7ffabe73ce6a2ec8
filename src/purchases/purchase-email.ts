import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { payments, subAccounts, users, type agencies } from '../../db/schema';
import { chargedBy, type Charged } from '../billing/checkout-amount';
import { rateLabel } from '../billing/invoice-view';
import { msg } from '../lib/message';
import { mailLanguage, mailWriter, type MailWriter } from '../mail/language';
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
  // What was charged: the purchase's confirmed payment (a gateway's, or one recorded as paid offline).
  const [payment] = await tx.select().from(payments).where(and(eq(payments.purpose, 'package_purchase'), eq(payments.referenceId, p.purchase.id), eq(payments.status, 'confirmed')));
  const charged = chargedBy(payment ?? { amountMinor: p.purchase.priceMinor });
  return notify(tx, {
    category: 'purchases', kind: 'purchase_granted',
    account: { agencyId: p.purchase.agencyId, subAccountId: p.purchase.subAccountId },
    at: p.now,
    inApp: { message: subject, data: { purchaseId: p.purchase.id, package: p.version.name, client } },
    email: { idempotencyKey: `purchase-granted:${p.purchase.id}`, message: {
      to: [...new Set(to)],
      cc: p.agency.ccEmails.filter((c) => !to.includes(c)),
      subject: w.t('email:purchase.subject', { pkg: p.version.name, client }),
      text: w.t('email:purchase.body', { client, pkg: p.version.name, type, credits: w.fmt.number(p.version.credits), charged: chargedText(w, charged, p.purchase.currency), id: p.purchase.id }),
    } },
  });
}

/**
 * What the purchase's payment charged, as its checkout stored it (docs/tax.md): net, tax and total
 * for a seller charging tax, with any installment surcharge on its own line; else the amount.
 */
function chargedText(w: MailWriter, c: Charged, currency: string): string {
  const money = (minor: number) => w.fmt.money(minor, currency);
  const lines: string[] = [];
  if (c.taxRateBp !== null) lines.push(w.t('email:purchase.net', { amount: money(c.netMinor) }), w.t('email:purchase.tax', { rate: rateLabel(c.taxRateBp, w.lang), amount: money(c.taxMinor) }));
  if (c.installmentSurchargeMinor > 0) lines.push(w.t('email:purchase.surcharge', { amount: money(c.installmentSurchargeMinor) }));
  lines.push(w.t('email:purchase.total', { amount: money(c.totalMinor) }));
  return lines.join('\n');
}
