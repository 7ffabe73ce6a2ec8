import { eq, inArray } from 'drizzle-orm';
import { agencies, agencyOrders, invoices, offerVersions, payments, purchases, subAccounts } from '../../db/schema';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { sellerTerms } from '../billing/accounts';
import { formatInvoiceNumber } from '../billing/invoice-numbers';
import type { Payment } from './gateway';
import { formatterFor } from '../i18n/format';
import { isLang, tFor, type Lang } from '../i18n/i18n';

export interface Checkout {
  payment: Payment;
  /** What is being paid for, in words. */
  description: string;
  buyerName: string;
  /** Who is paid, as buyers know it (the agency's name, or the platform's). */
  sellerName: string;
  /** Where the buyer goes back to after paying. */
  returnPath: string;
  /**
   * The language the buyer reads the payment in (the payment pages have no session): the
   * seller's, else the buying agency's; the description is written in it.
   */
  lang: Lang;
}

/** The payment behind a (signature-checked) checkout link, with what it pays for. */
export async function getCheckout(deps: Pick<Deps, 'db'>, paymentId: string): Promise<Checkout> {
  const [payment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
  if (!payment) throw errors.notFound('Payment');
  const sellerName = (await sellerTerms(deps.db, payment.sellerAgencyId)).name;
  const lang = await buyerLanguage(deps, payment);
  return { ...(await describe(deps, payment, lang)), sellerName, lang };
}

/**
 * What an off-session charge (a saved card charged for an invoice) is for, as the gateway passes it
 * to the bank and the cardholder's statement: the checkout page's words ("Fatura INV-000007"), in
 * the same language (the seller's, else the buying agency's; docs/i18n.md).
 */
export async function offSessionDescription(deps: Pick<Deps, 'db'>, payment: Payment): Promise<string> {
  return (await describe(deps, payment, await buyerLanguage(deps, payment))).description;
}

/** The seller's language, else the buying agency's: the checkout pages' and the gateway's (src/payments/checkout-flow.ts). */
export async function buyerLanguage(deps: Pick<Deps, 'db'>, payment: Payment): Promise<Lang> {
  const ids = [payment.sellerAgencyId, payment.buyerAgencyId].filter((id): id is string => !!id);
  const rows = await deps.db.select({ id: agencies.id, locale: agencies.locale }).from(agencies).where(inArray(agencies.id, ids));
  const localeOf = (id: string | null) => rows.find((r) => r.id === id)?.locale ?? null;
  const locale = localeOf(payment.sellerAgencyId) ?? localeOf(payment.buyerAgencyId);
  return isLang(locale) ? locale : 'en';
}

async function describe(deps: Pick<Deps, 'db'>, payment: Payment, lang: Lang): Promise<Omit<Checkout, 'sellerName' | 'lang'>> {
  const t = tFor(lang);
  if (payment.purpose === 'package_purchase') {
    const [row] = await deps.db
      .select({ name: offerVersions.name, type: purchases.type, buyer: subAccounts.name })
      .from(purchases)
      .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
      .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId))
      .where(eq(purchases.id, payment.referenceId));
    return { payment, description: t('payments:item.package', { name: row?.name ?? t('payments:item.packageUnnamed'), type: t(row?.type === 'subscription' ? 'payments:item.subscription' : 'payments:item.creditPackage') }), buyerName: row?.buyer ?? '', returnPath: '/portal/purchases' };
  }
  if (payment.purpose === 'invoice') {
    const [inv] = await deps.db.select({ number: invoices.number }).from(invoices).where(eq(invoices.id, payment.referenceId.split(':')[0]!));
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    return { payment, description: inv ? t('payments:item.invoice', { number: formatInvoiceNumber(inv.number) }) : t('payments:item.invoiceUnnamed'), buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/billing' : '/agency/billing' };
  }
  if (payment.purpose === 'invoice_batch') {
    // "Pay all overdue": the reference lists the invoices (`overdue:<id>,<id>[;<attempt>]`).
    const ids = payment.referenceId.replace(/^overdue:/, '').split(';')[0]!.split(',').filter(Boolean);
    const rows = ids.length ? await deps.db.select({ number: invoices.number }).from(invoices).where(inArray(invoices.id, ids)) : [];
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    const numbers = rows.map((r) => r.number).sort((a, b) => a - b).map(formatInvoiceNumber).join(', ');
    return { payment, description: t('payments:item.overdue', { count: rows.length, numbers }), buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/billing' : '/agency/billing' };
  }
  if (payment.purpose === 'wallet_topup') {
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    return { payment, description: t('payments:item.walletTopup'), buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/whatsapp' : '/agency/whatsapp' };
  }
  const [order] = await deps.db
    .select({ kind: agencyOrders.kind, credits: agencyOrders.credits, quantity: agencyOrders.quantity, buyer: agencies.name })
    .from(agencyOrders)
    .innerJoin(agencies, eq(agencies.id, agencyOrders.agencyId))
    .where(eq(agencyOrders.id, payment.referenceId));
  const description = order?.kind === 'topup' ? t('payments:item.poolCredits', { n: formatterFor(lang).number(order.credits) }) : t('payments:item.chatbotSlots', { count: order?.quantity ?? 0 });
  return { payment, description, buyerName: order?.buyer ?? '', returnPath: '/agency/store' };
}
