import { eq, inArray } from 'drizzle-orm';
import { agencies, agencyOrders, invoices, offerVersions, payments, purchases, subAccounts } from '../../db/schema';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { sellerTerms } from '../billing/accounts';
import { formatInvoiceNumber } from '../billing/invoice-numbers';
import type { Payment } from './gateway';

export interface Checkout {
  payment: Payment;
  /** What is being paid for, in words. */
  description: string;
  buyerName: string;
  /** Who is paid, as buyers know it (the agency's name, or the platform's). */
  sellerName: string;
  /** Where the buyer goes back to after paying. */
  returnPath: string;
}

/** The payment behind a (signature-checked) checkout link, with what it pays for. */
export async function getCheckout(deps: Pick<Deps, 'db'>, paymentId: string): Promise<Checkout> {
  const [payment] = await deps.db.select().from(payments).where(eq(payments.id, paymentId));
  if (!payment) throw errors.notFound('Payment');
  const sellerName = (await sellerTerms(deps.db, payment.sellerAgencyId)).name;
  return { ...(await describe(deps, payment)), sellerName };
}

async function describe(deps: Pick<Deps, 'db'>, payment: Payment): Promise<Omit<Checkout, 'sellerName'>> {
  if (payment.purpose === 'package_purchase') {
    const [row] = await deps.db
      .select({ name: offerVersions.name, type: purchases.type, buyer: subAccounts.name })
      .from(purchases)
      .innerJoin(offerVersions, eq(offerVersions.id, purchases.packageVersionId))
      .innerJoin(subAccounts, eq(subAccounts.id, purchases.subAccountId))
      .where(eq(purchases.id, payment.referenceId));
    return { payment, description: `${row?.name ?? 'Package'} (${row?.type === 'subscription' ? 'subscription' : 'credit package'})`, buyerName: row?.buyer ?? '', returnPath: '/portal/purchases' };
  }
  if (payment.purpose === 'invoice') {
    const [inv] = await deps.db.select({ number: invoices.number }).from(invoices).where(eq(invoices.id, payment.referenceId.split(':')[0]!));
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    return { payment, description: inv ? `Invoice ${formatInvoiceNumber(inv.number)}` : 'Invoice', buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/billing' : '/agency/billing' };
  }
  if (payment.purpose === 'invoice_batch') {
    // "Pay all overdue": the reference lists the invoices (`overdue:<id>,<id>[;<attempt>]`).
    const ids = payment.referenceId.replace(/^overdue:/, '').split(';')[0]!.split(',').filter(Boolean);
    const rows = ids.length ? await deps.db.select({ number: invoices.number }).from(invoices).where(inArray(invoices.id, ids)) : [];
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    const numbers = rows.map((r) => r.number).sort((a, b) => a - b).join(', ');
    return { payment, description: `${rows.length} overdue invoices (${numbers})`, buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/billing' : '/agency/billing' };
  }
  if (payment.purpose === 'wallet_topup') {
    const [who] = payment.buyerSubAccountId
      ? await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, payment.buyerSubAccountId))
      : await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, payment.buyerAgencyId));
    return { payment, description: 'WhatsApp balance top-up', buyerName: who?.name ?? '', returnPath: payment.buyerSubAccountId ? '/portal/whatsapp' : '/agency/whatsapp' };
  }
  const [order] = await deps.db
    .select({ kind: agencyOrders.kind, credits: agencyOrders.credits, quantity: agencyOrders.quantity, buyer: agencies.name })
    .from(agencyOrders)
    .innerJoin(agencies, eq(agencies.id, agencyOrders.agencyId))
    .where(eq(agencyOrders.id, payment.referenceId));
  const description = order?.kind === 'topup' ? `${order.credits.toLocaleString('en-US')} credits for your pool` : `${order?.quantity ?? 0} chatbot slot(s)`;
  return { payment, description, buyerName: order?.buyer ?? '', returnPath: '/agency/store' };
}
