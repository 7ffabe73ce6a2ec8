import { Router, type Request } from 'express';
import type { BillingAddress } from '../../billing/billing-addresses.usecases';
import { addBillingAddress, listBillingAddresses, updateBillingAddress } from '../../billing/billing-addresses.usecases';
import type { BillingPackage } from '../../catalog/billing-offers';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import { renderInvoicePdf } from '../../billing/invoice-pdf';
import { fromAcceptLanguage } from '../../i18n/i18n';
import { einvoiceStateOf } from '../../einvoice/send';
import { einvoiceStateJson } from './einvoice.routes';
import { getInvoice, listInvoices, listIssuedInvoices, recordBankTransfer, type Invoice, type InvoiceWithLines } from '../../billing/invoices.usecases';
import { billingAccount, sellerTerms } from '../../billing/accounts';
import { predictInvoice, type Prediction } from '../../billing/prediction';
import {
  buyExtraSessions, cancelSubscription, changeSubscription, getSubscription, listSubscriptions, reactivateSubscription, refundTermSubscription, startSubscription,
  type ExtraSessionCharge, type SubscriptionView,
} from '../../billing/subscriptions.usecases';
import type { BillingSubscription } from '../../billing/subscriptions.usecases';
import type { Deps } from '../../deps';
import { chatbotSessionQuota, openChatbotSession } from '../../entitlements/chatbot-sessions';
import { getSubAccount } from '../../tenancy/sub-accounts.usecases';
import {
  addChannel, addRepresentative, listChannels, listRepresentatives, myEntitlementStatus, removeChannel, removeRepresentative, type ChannelIntegration, type Representative,
} from '../../entitlements/entitlements.usecases';
import { actorOf } from '../middleware';
import { invoiceTaxSummary } from '../../billing/invoice-view';
import { getSellerTaxSettings, saveSellerTaxSettings, type SellerTaxSettings } from '../../tax/seller-settings';
import { rateText } from '../../tax/tax';
import { apiT, apiText } from './text';
import { readMessage } from '../../lib/message';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const billingPackageJson = (p: BillingPackage): Answer<typeof A.BillingPackage> => ({
  id: p.id,
  name: p.name,
  seller: p.sellerAgencyId === null ? 'platform' : 'agency',
  kind: p.kind,
  billing: p.billing,
  termMonths: p.termMonths,
  monthlyPriceMinor: p.monthlyPriceMinor,
  currency: p.currency,
  chatbotSessions: p.chatbotSessions,
  representatives: p.representatives,
  whatsappChannels: p.whatsappChannels,
  instagramChannels: p.instagramChannels,
  messengerChannels: p.messengerChannels,
  modules: p.modules,
  unit: p.unit,
  published: p.published,
  createdAt: p.createdAt.toISOString(),
});

export const subscriptionJson = (s: SubscriptionView | BillingSubscription): Answer<typeof A.Subscription> => ({
  id: s.id,
  packageId: s.packageId,
  name: s.name,
  kind: s.kind,
  billing: s.billing,
  status: s.status,
  quantity: s.quantity,
  monthlyPriceMinor: s.monthlyPriceMinor,
  termMonths: s.termMonths,
  termPriceMinor: s.termPriceMinor,
  currency: s.currency,
  startDay: s.startDay,
  termLastDay: s.termLastDay,
  changedFromId: s.changedFromId,
  changedToId: s.changedToId,
  periods: 'periods' in s ? s.periods : undefined,
  entitlements: {
    chatbotSessions: s.chatbotSessions, representatives: s.representatives, whatsappChannels: s.whatsappChannels, instagramChannels: s.instagramChannels,
    messengerChannels: s.messengerChannels, modules: s.modules, unit: s.unit,
  },
  createdAt: s.createdAt.toISOString(),
});

export const invoiceJson = (i: Invoice): Answer<typeof A.Invoice> => ({
  id: i.id,
  number: formatInvoiceNumber(i.number),
  sequence: i.number,
  kind: i.kind,
  period: i.period,
  periodStart: i.periodStart,
  periodEnd: i.periodEnd,
  issueDay: i.issueDay,
  dueDay: i.dueDay,
  status: i.status,
  totalMinor: i.totalMinor,
  currency: i.currency,
  accountId: i.buyerId,
  subAccountId: i.subAccountId,
  seller: i.sellerAgencyId === null ? 'platform' : i.sellerAgencyId,
  paidAt: i.paidAt?.toISOString() ?? null,
  netMinor: i.totalMinor - i.taxMinor,
  taxMinor: i.taxMinor,
  priceMode: i.priceMode,
});

/** A line's description as a catalog key and parameters (null for a seller's own text). */
export const descriptionKeyJson = (message: string | null) => {
  const read = message ? readMessage(message) : null;
  return read?.key ? { descriptionKey: read.key, descriptionParams: read.params } : { descriptionKey: null, descriptionParams: null };
};

export const invoiceDetailJson = (i: InvoiceWithLines): Answer<typeof A.InvoiceDetail> => ({
  ...invoiceJson(i),
  billingAddress: i.billingAddress,
  lines: i.lines.map((l) => ({
    position: l.position, kind: l.kind, description: l.description, ...descriptionKeyJson(l.descriptionKey), subscriptionId: l.subscriptionId, fromDay: l.fromDay, throughDay: l.throughDay,
    activeDays: l.activeDays, daysInMonth: l.daysInMonth, quantity: l.quantity, unitPriceMinor: l.unitPriceMinor, amountMinor: l.amountMinor,
    taxRateBp: l.taxRateBp, taxMinor: l.taxMinor, totalMinor: l.amountMinor + l.taxMinor,
  })),
  taxByRate: invoiceTaxSummary(i).byRate.map((r) => ({ rateBp: r.rateBp, netMinor: r.net, taxMinor: r.tax })),
  sellerParty: i.sellerParty,
  buyerParty: i.buyerParty,
});

export const taxSettingsJson = (t: SellerTaxSettings): Answer<typeof A.TaxSettings> => ({
  taxEnabled: t.taxEnabled, legalName: t.legalName, addressLine1: t.addressLine1, addressLine2: t.addressLine2, district: t.district, city: t.city, postalCode: t.postalCode,
  country: t.country, taxOffice: t.taxOffice, taxNumber: t.taxNumber, defaultRateBp: t.defaultRateBp, defaultRate: rateText(t.defaultRateBp), priceMode: t.priceMode, enabledAt: t.enabledAt?.toISOString() ?? null,
});

export const representativeJson = (r: Representative): Answer<typeof A.Representative> => ({ id: r.id, name: r.name, email: r.email, createdAt: r.createdAt.toISOString() });
export const channelJson = (c: ChannelIntegration): Answer<typeof A.Channel> => ({ id: c.id, type: c.type, name: c.name, createdAt: c.createdAt.toISOString() });

export const predictionJson = (p: Prediction): Answer<typeof A.Prediction> => ({
  ...p,
  lines: p.lines.map(({ descriptionKey, ...l }) => ({ ...l, ...descriptionKeyJson(descriptionKey) })),
});

const chargeJson = (c: ExtraSessionCharge): Answer<typeof A.ExtraSessionCharge> => ({
  id: c.id, quantity: c.quantity, sessions: c.sessions, amountMinor: c.amountMinor, currency: c.currency, day: c.day, expiresAt: c.expiresAt?.toISOString() ?? null, description: c.description, ...descriptionKeyJson(c.descriptionKey),
});

export const addressJson = (a: BillingAddress): Answer<typeof A.BillingAddress> => ({
  id: a.id, name: a.name, line1: a.line1, line2: a.line2, district: a.district, city: a.city, postalCode: a.postalCode, country: a.country, taxId: a.taxId,
  taxKind: a.taxKind, taxNumber: a.taxNumber, taxOffice: a.taxOffice, eInvoiceRegistered: a.eInvoiceRegistered, eInvoiceAlias: a.eInvoiceAlias, firstName: a.firstName, familyName: a.familyName, exemptionReason: a.exemptionReason,
  isDefault: a.isDefault,
});

/** An invoice as a PDF response (the buyer's or the seller's), in the reader's language. */
export async function sendInvoicePdf(deps: Deps, res: import('express').Response, inv: InvoiceWithLines): Promise<void> {
  const account = await billingAccount(deps.db, inv.agencyId, inv.subAccountId);
  const seller = await sellerTerms(deps.db, inv.sellerAgencyId);
  // A page's reader has a language; an API call asks by Accept-Language, else the buyer's agency's.
  const locale = res.req.lang ?? fromAcceptLanguage(res.req.get('accept-language')) ?? account.locale;
  const pdf = await renderInvoicePdf(inv, { sellerName: seller.name, buyerName: account.buyerName, locale });
  res.type('application/pdf').set('Content-Disposition', `inline; filename="${formatInvoiceNumber(inv.number)}.pdf"`).send(pdf);
}

/** Subscription billing (DESIGN section 6): the buyer's key (agency: platform packages; sub-account: its agency's). */
export function billingRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/subscriptions', async (req, res) => {
    res.json({ data: (await listSubscriptions(deps, { actor: actorOf(req) })).map(subscriptionJson) });
  });
  r.post('/subscriptions', async (req, res) => {
    const sub = await startSubscription(deps, { actor: actorOf(req), input: body(req) });
    res.status(201).json(subscriptionJson(await getSubscription(deps, { actor: actorOf(req), subscriptionId: sub.id })));
  });
  r.get('/subscriptions/:id', async (req, res) => {
    res.json(subscriptionJson(await getSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) })));
  });
  r.post('/subscriptions/:id/cancel', async (req, res) => {
    res.json(subscriptionJson(await cancelSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) })));
  });
  r.post('/subscriptions/:id/reactivate', async (req, res) => {
    res.json(subscriptionJson(await reactivateSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) })));
  });
  r.post('/subscriptions/:id/change', async (req, res) => {
    res.status(201).json(subscriptionJson(await changeSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id), input: body(req) })));
  });
  // The seller's admin (platform or agency key): refund an accidental term purchase.
  r.post('/subscriptions/:id/refund', async (req, res) => {
    res.json(subscriptionJson(await refundTermSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id), input: body(req) })));
  });
  // What the account may use, what it uses, and what to do where it is over a limit.
  r.get('/entitlements', async (req, res) => {
    const { overLimits, ...status } = await myEntitlementStatus(deps, { actor: actorOf(req) });
    const t = apiT(req);
    res.json({ ...status, overLimits: overLimits.map(({ guidanceMessage, ...l }) => ({ ...l, guidance: apiText(t, guidanceMessage) })) });
  });
  // Chatbot sessions (the chat product opens one per conversation its chatbot takes): counted
  // against the period's quota; opening the same session id again counts nothing.
  r.get('/chatbot-sessions/quota', async (req, res) => {
    res.json(await chatbotSessionQuota(deps, { actor: actorOf(req) }));
  });
  r.post('/chatbot-sessions', async (req, res) => {
    const opened = await openChatbotSession(deps, { actor: actorOf(req), input: body(req) });
    res.status(opened.created ? 201 : 200).json(opened);
  });
  r.get('/representatives', async (req, res) => {
    res.json({ data: (await listRepresentatives(deps, { actor: actorOf(req) })).map(representativeJson) });
  });
  r.post('/representatives', async (req, res) => {
    res.status(201).json(representativeJson(await addRepresentative(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.delete('/representatives/:id', async (req, res) => {
    res.json(representativeJson(await removeRepresentative(deps, { actor: actorOf(req), representativeId: String(req.params.id) })));
  });
  r.get('/channels', async (req, res) => {
    res.json({ data: (await listChannels(deps, { actor: actorOf(req) })).map(channelJson) });
  });
  r.post('/channels', async (req, res) => {
    res.status(201).json(channelJson(await addChannel(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.delete('/channels/:id', async (req, res) => {
    res.json(channelJson(await removeChannel(deps, { actor: actorOf(req), channelId: String(req.params.id) })));
  });
  r.post('/extra-sessions', async (req, res) => {
    res.status(201).json(chargeJson(await buyExtraSessions(deps, { actor: actorOf(req), input: body(req) })));
  });

  r.get('/invoices', async (req, res) => {
    res.json({ data: (await listInvoices(deps, { actor: actorOf(req) })).map(invoiceJson) });
  });
  r.get('/invoices/upcoming', async (req, res) => {
    res.json(predictionJson(await predictInvoice(deps, { actor: actorOf(req) })));
  });
  r.get('/invoices/:id', async (req, res) => {
    const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
    res.json({ ...invoiceDetailJson(inv), einvoice: einvoiceStateJson(await einvoiceStateOf(deps.db, { kind: 'invoice', id: inv.id })) });
  });
  r.get('/invoices/:id/pdf', async (req, res) => {
    await sendInvoicePdf(deps, res, await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) }));
  });
  // The seller's admin: a bank transfer received for one of its invoices.
  r.post('/invoices/:id/mark-paid', async (req, res) => {
    res.json(invoiceJson(await recordBankTransfer(deps, { actor: actorOf(req), invoiceId: String(req.params.id) })));
  });
  // Sellers: the invoices they issued (platform: to agencies; agency: to its sub-accounts).
  r.get('/issued-invoices', async (req, res) => {
    const actor = actorOf(req);
    const accountId = typeof req.query.accountId === 'string' ? req.query.accountId : undefined;
    if (accountId && actor.scope === 'agency') await getSubAccount(deps, { actor, subAccountId: accountId });
    res.json({ data: (await listIssuedInvoices(deps, { actor, ...(accountId ? { accountId } : {}) })).map(invoiceJson) });
  });

  r.get('/billing-addresses', async (req, res) => {
    res.json({ data: (await listBillingAddresses(deps, { actor: actorOf(req) })).map(addressJson) });
  });
  r.post('/billing-addresses', async (req, res) => {
    res.status(201).json(addressJson(await addBillingAddress(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.put('/billing-addresses/:id', async (req, res) => {
    res.json(addressJson(await updateBillingAddress(deps, { actor: actorOf(req), addressId: String(req.params.id), input: body(req) })));
  });
  // Sellers: their tax settings.
  r.get('/tax-settings', async (req, res) => {
    const row = await getSellerTaxSettings(deps, { actor: actorOf(req) });
    res.json(row ? taxSettingsJson(row) : null);
  });
  r.put('/tax-settings', async (req, res) => {
    res.json(taxSettingsJson(await saveSellerTaxSettings(deps, { actor: actorOf(req), input: body(req) })));
  });
  return r;
}
