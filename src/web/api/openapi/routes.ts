// Every route of the JSON API (src/web/api/* and the usage routes in src/web/app.ts), described
// from the zod schemas that validate its requests (the use cases') and shape its answers
// (../schemas.ts). test/api/openapi.test.ts fails when the Express router has a route this list
// lacks, and every answer the tests receive is checked against the document built from it.
import { z } from 'zod';
import { createKeySchema } from '../../../api-keys/api-keys.usecases';
import { settingsSchema as autoBillingSchema } from '../../../auto-billing/settings';
import { creditNoteSchema } from '../../../billing/credit-notes.usecases';
import { addressFields } from '../../../billing/billing-addresses.usecases';
import { sellerTaxSchema } from '../../../tax/seller-settings';
import { changeSchema, extraSessionsSchema, refundSchema, startSchema } from '../../../billing/subscriptions.usecases';
import { orderSchema, slotPriceSchema } from '../../../catalog/catalog.usecases';
import { offerSchemas } from '../../../catalog/offers';
import { createPackageSchema } from '../../../catalog/resold-packages';
import { testClockSchema } from '../../../clock/test-clock.usecases';
import { collectionSettingsSchema } from '../../../collections/collection-settings';
import { adjustmentSchema, historyFilterSchema, thresholdSchema } from '../../../credits/credits.usecases';
import { departmentSchema, enabledDepartmentsSchema } from '../../../departments/departments.usecases';
import { openSessionSchema } from '../../../entitlements/chatbot-sessions';
import { channelSchema, representativeSchema } from '../../../entitlements/entitlements.usecases';
import { testCardSchema } from '../../../payments/payment-methods';
import { offlineSchema, purchaseFilterSchema } from '../../../purchases/purchases.usecases';
import { agencySettingsSchema, createAgencySchema, updateAgencySchema } from '../../../tenancy/agencies.usecases';
import { createSubAccountSchema } from '../../../tenancy/sub-accounts.usecases';
import { usageEventSchema } from '../../../usage/usage.usecases';
import { presenceSchema } from '../../../users/presence';
import { inviteSchema } from '../../../users/users.usecases';
import { debitSchema, topupSchema } from '../../../wallets/wallets.usecases';
import { createEndpointSchema, deliveryFilterSchema, updateEndpointSchema } from '../../../webhooks/endpoints.usecases';
import { listQuery as offerListQuery } from '../offers.routes';
import { bodySchema as paymentSystemSchema } from '../payment-systems.routes';
import { installmentChoiceBodySchema, installmentsBodySchema } from '../installments.routes';
import { integratorBodySchema } from '../einvoice.routes';
import * as A from '../schemas';

export type KeyScope = 'platform' | 'agency' | 'sub-account';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteDoc {
  method: Method;
  /** Under /api/v1, with OpenAPI {parameters}. */
  path: string;
  tag: string;
  summary: string;
  /** A key of the apidocs catalog. */
  description?: string;
  /** Which API keys may call it (all three when absent). */
  scopes?: KeyScope[];
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Answers by status: a schema, `null` for no body (204), or 'pdf'. */
  answers: Record<number, z.ZodType | null | 'pdf'>;
  /** Error statuses beyond those every route may answer (400, 401, 403, 404, 409, 413, 415, 422, 429, 500). */
  errors?: number[];
  /** false: takes no Idempotency-Key (every other POST does; see src/web/api/idempotency.ts). */
  idempotent?: boolean;
  /** Only outside production. */
  testOnly?: boolean;
}

const PLATFORM: KeyScope[] = ['platform'];
const memberQuery = z.object({ subAccountId: z.string().optional().describe('An agency key: one of its sub-accounts instead of its own staff') });
const reportQuery = z.object({
  from: z.iso.date().optional().describe('First day (YYYY-MM-DD, seller\'s zone)'),
  to: z.iso.date().optional().describe('Last day (YYYY-MM-DD, seller\'s zone)'),
  department: z.string().optional(),
  subAccount: z.string().optional().describe("A sub-account's id, or 'pool' for the agency's own account"),
  by: z.string().optional().describe('The grouping'),
  page: z.coerce.number().int().min(1).optional().describe('By sub-account, representative or account: the page of groups, largest first (from 1)'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('By sub-account, representative or account: groups on a page (100 unless given, 1000 at most)'),
  format: z.enum(['csv']).optional().describe('csv: the same report as CSV (every group, not a page)'),
});
const AGENCY: KeyScope[] = ['agency'];
const SELLERS: KeyScope[] = ['platform', 'agency'];
const BUYERS: KeyScope[] = ['agency', 'sub-account'];
const page = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('At most this many (100 unless given, 500 at most)'),
  before: z.string().optional().describe('Only those created before the one with this id'),
});
const paged = page;

// Request bodies that the use cases assemble from several schemas.
const offerKinds = Object.keys(offerSchemas) as (keyof typeof offerSchemas)[];
const createOffer = z.union(offerKinds.map((k) => offerSchemas[k].extend({ kind: z.literal(k) })));
const reviseOffer = z.union(offerKinds.map((k) => offerSchemas[k].partial().extend({ kind: z.literal(k).optional() })));
const billingPackageBody = z.union([offerSchemas.package, offerSchemas.quantity, offerSchemas.extra_sessions.extend({ kind: z.literal('extra_sessions') })]);
const createPlan = offerSchemas.plan.omit({ chatbots: true, credits: true, modules: true }).extend({
  resellingModule: z.boolean().optional(), includedChatbots: z.number().int().min(0), monthlyCredits: z.number().int().min(0),
});
const agencyFlags = updateAgencySchema.partial();
const invitation = inviteSchema.extend({ agencyId: z.string().optional().describe('Platform keys: the agency to invite into') });
const refundPaymentBody = z.object({ reason: z.string().min(1).max(500).describe('Why the payment is refunded') });
const usageBatch = z.object({ events: z.array(usageEventSchema).max(1000) });
const issuedCreditNotesQuery = z.object({ accountId: z.string().optional().describe('Only the credit notes of this account') });
const issuedQuery = z.object({ accountId: z.string().optional().describe('Only the invoices of this account (agency keys: one of its sub-accounts)') });
const packagesQuery = z.object({ seller: z.enum(['platform']).optional().describe('Agency keys: the platform\'s packages the agency can buy') });

const webhookAttemptsQuery = z.object({ deliveryId: z.string().optional().describe('Only the attempts of this delivery') });

const r = (doc: RouteDoc): RouteDoc => doc;

/** The groups of the reference, in order (their descriptions: locales/<lang>/apidocs.json, tag.<name>). */
export const apiTags = ['Keys', 'Agencies', 'Sub-accounts', 'Users', 'Usage', 'Credits', 'Departments', 'Offers', 'Packages', 'Platform catalog', 'Payments', 'Auto-billing', 'WhatsApp balance', 'Subscriptions', 'Invoices', 'People', 'Reports', 'Webhooks', 'Test clock'];

export const apiRoutes: RouteDoc[] = [
  // Keys and tenants.
  r({ method: 'get', path: '/me', tag: 'Keys', summary: 'The calling key and its tenant', answers: { 200: A.Me } }),
  r({ method: 'get', path: '/agencies', tag: 'Agencies', summary: 'List agencies', scopes: PLATFORM, query: paged, answers: { 200: A.listOf(A.Agency) } }),
  r({ method: 'post', path: '/agencies', tag: 'Agencies', summary: 'Create an agency', scopes: PLATFORM, body: createAgencySchema, answers: { 201: A.Agency } }),
  r({ method: 'get', path: '/agencies/{id}', tag: 'Agencies', summary: 'One agency', scopes: PLATFORM, answers: { 200: A.Agency } }),
  r({ method: 'patch', path: '/agencies/{id}', tag: 'Agencies', summary: 'Suspend or reactivate an agency, set its plan or reselling module', scopes: PLATFORM, body: agencyFlags, answers: { 200: A.Agency } }),
  r({ method: 'post', path: '/agencies/{id}/api-keys', tag: 'Keys', summary: 'Create an API key for an agency', scopes: PLATFORM, body: createKeySchema, answers: { 201: A.NewApiKey } }),
  r({ method: 'post', path: '/agencies/{id}/adjustments', tag: 'Credits', summary: 'Add or remove credits in an agency\'s pool', scopes: PLATFORM, body: adjustmentSchema, answers: { 200: A.Adjustment, 201: A.Adjustment }, errors: [402] }),
  r({ method: 'get', path: '/agency', tag: 'Agencies', summary: 'The calling agency', scopes: AGENCY, answers: { 200: A.Agency } }),
  r({ method: 'patch', path: '/agency', tag: 'Agencies', summary: 'Change the calling agency\'s settings', scopes: AGENCY, body: agencySettingsSchema.partial(), answers: { 200: A.Agency } }),
  r({ method: 'get', path: '/sub-accounts', tag: 'Sub-accounts', summary: 'List sub-accounts', scopes: AGENCY, query: paged, answers: { 200: A.listOf(A.SubAccount) } }),
  r({ method: 'post', path: '/sub-accounts', tag: 'Sub-accounts', summary: 'Create a sub-account', scopes: AGENCY, body: createSubAccountSchema, answers: { 201: A.SubAccount } }),
  r({ method: 'get', path: '/sub-accounts/{id}', tag: 'Sub-accounts', summary: 'One sub-account with its package state', scopes: AGENCY, answers: { 200: A.SubAccountDetail } }),
  r({ method: 'post', path: '/sub-accounts/{id}/api-keys', tag: 'Keys', summary: 'Create an API key for a sub-account', scopes: AGENCY, body: createKeySchema, answers: { 201: A.NewApiKey } }),
  r({ method: 'post', path: '/invitations', tag: 'Users', summary: 'Invite a user into the caller\'s tenant', body: invitation, answers: { 201: A.Invitation } }),
  r({ method: 'get', path: '/api-keys', tag: 'Keys', summary: 'The caller\'s API keys', answers: { 200: A.listOf(A.ApiKey) } }),
  r({ method: 'delete', path: '/api-keys/{id}', tag: 'Keys', summary: 'Revoke an API key', answers: { 200: A.ApiKey } }),

  // Credits, usage and departments.
  r({ method: 'post', path: '/usage', tag: 'Usage', summary: 'Charge one conversation', description: 'apidocs:usage', scopes: BUYERS, idempotent: false, body: usageEventSchema, answers: { 200: A.UsageCharged, 402: A.UsageRefusal, 403: A.UsageRefusal, 404: A.UsageRefusal, 422: A.UsageRefusal }, errors: [402] }),
  r({ method: 'post', path: '/usage/batch', tag: 'Usage', summary: 'Charge up to 1,000 conversations', description: 'apidocs:usageBatch', scopes: BUYERS, idempotent: false, body: usageBatch, answers: { 200: A.UsageBatch } }),
  r({ method: 'get', path: '/balance', tag: 'Credits', summary: 'The caller\'s credit balance', answers: { 200: A.SubAccountBalance } }),
  r({ method: 'get', path: '/credit-history', tag: 'Credits', summary: 'The caller\'s credit ledger', query: historyFilterSchema, answers: { 200: A.listOf(A.CreditHistoryEntry) } }),
  r({ method: 'put', path: '/low-balance-threshold', tag: 'Credits', summary: 'Set the caller\'s low-balance warning', body: thresholdSchema, answers: { 200: A.Threshold } }),
  r({ method: 'get', path: '/sub-accounts/{id}/balance', tag: 'Credits', summary: 'A sub-account\'s balance', scopes: AGENCY, answers: { 200: A.Balance } }),
  r({ method: 'get', path: '/sub-accounts/{id}/credit-history', tag: 'Credits', summary: 'A sub-account\'s credit ledger', scopes: AGENCY, query: historyFilterSchema, answers: { 200: A.listOf(A.CreditHistoryEntry) } }),
  r({ method: 'put', path: '/sub-accounts/{id}/low-balance-threshold', tag: 'Credits', summary: 'Set a sub-account\'s low-balance warning', scopes: AGENCY, body: thresholdSchema, answers: { 200: A.Threshold } }),
  r({ method: 'post', path: '/sub-accounts/{id}/adjustments', tag: 'Credits', summary: 'Move credits between the pool and a sub-account', scopes: AGENCY, body: adjustmentSchema, answers: { 200: A.Adjustment, 201: A.Adjustment }, errors: [402] }),
  r({ method: 'get', path: '/departments', tag: 'Departments', summary: 'The agency\'s departments', scopes: AGENCY, answers: { 200: A.listOf(A.Department) } }),
  r({ method: 'post', path: '/departments', tag: 'Departments', summary: 'Create a department', scopes: AGENCY, body: departmentSchema, answers: { 201: A.Department } }),
  r({ method: 'patch', path: '/departments/{id}', tag: 'Departments', summary: 'Rename a department or change its price', scopes: AGENCY, body: departmentSchema.partial(), answers: { 200: A.Department } }),
  r({ method: 'delete', path: '/departments/{id}', tag: 'Departments', summary: 'Archive a department', scopes: AGENCY, answers: { 204: null } }),
  r({ method: 'get', path: '/sub-accounts/{id}/departments', tag: 'Departments', summary: 'The departments enabled for a sub-account', scopes: AGENCY, answers: { 200: A.DepartmentIds } }),
  r({ method: 'put', path: '/sub-accounts/{id}/departments', tag: 'Departments', summary: 'Enable departments for a sub-account', scopes: AGENCY, body: enabledDepartmentsSchema, answers: { 200: A.DepartmentIds } }),

  // The one catalog.
  r({ method: 'get', path: '/offers', tag: 'Offers', summary: 'The seller\'s offers (or what its buyers see)', query: offerListQuery, answers: { 200: A.listOf(A.Offer) } }),
  r({ method: 'post', path: '/offers', tag: 'Offers', summary: 'Create an offer', scopes: SELLERS, body: createOffer, answers: { 201: A.OfferWithWarnings } }),
  r({ method: 'get', path: '/offers/{id}', tag: 'Offers', summary: 'One offer', answers: { 200: A.Offer } }),
  r({ method: 'patch', path: '/offers/{id}', tag: 'Offers', summary: 'Revise an offer (changed terms make a new version)', scopes: SELLERS, body: reviseOffer, answers: { 200: A.OfferWithWarnings } }),
  r({ method: 'get', path: '/offers/{id}/versions', tag: 'Offers', summary: 'An offer\'s versions', scopes: SELLERS, answers: { 200: A.listOf(A.OfferVersion) } }),
  r({ method: 'post', path: '/offers/{id}/retire', tag: 'Offers', summary: 'Retire an offer', scopes: SELLERS, answers: { 204: null } }),

  // Packages and purchases.
  r({ method: 'get', path: '/packages', tag: 'Packages', summary: 'Resold and billing packages', query: packagesQuery, answers: { 200: A.listOf(A.AnyPackage) } }),
  r({ method: 'post', path: '/packages', tag: 'Packages', summary: 'Create a package', scopes: SELLERS, body: z.union([createPackageSchema, billingPackageBody]), answers: { 201: A.AnyPackage } }),
  r({ method: 'get', path: '/packages/{id}', tag: 'Packages', summary: 'One package', answers: { 200: A.AnyPackage } }),
  r({ method: 'patch', path: '/packages/{id}', tag: 'Packages', summary: 'Change a package', scopes: SELLERS, body: z.union([createPackageSchema.partial(), offerSchemas.package.partial()]), answers: { 200: A.AnyPackage } }),
  r({ method: 'get', path: '/sub-accounts/{id}/purchases', tag: 'Packages', summary: 'A sub-account\'s purchases', scopes: AGENCY, query: purchaseFilterSchema, answers: { 200: A.listOf(A.Purchase) } }),
  r({ method: 'post', path: '/sub-accounts/{id}/purchases', tag: 'Packages', summary: 'Record a purchase paid outside the payment system', scopes: AGENCY, body: offlineSchema, answers: { 201: A.Purchase } }),
  r({ method: 'get', path: '/purchases', tag: 'Packages', summary: 'Purchases', query: purchaseFilterSchema, answers: { 200: A.listOf(A.Purchase) } }),

  // The platform's catalog and agencies' orders.
  r({ method: 'get', path: '/topup-packages', tag: 'Platform catalog', summary: 'The platform\'s credit top-ups', answers: { 200: A.listOf(A.TopupPackage) } }),
  r({ method: 'post', path: '/topup-packages', tag: 'Platform catalog', summary: 'Create a credit top-up', scopes: PLATFORM, body: offerSchemas.topup, answers: { 201: A.TopupPackage } }),
  r({ method: 'get', path: '/plans', tag: 'Platform catalog', summary: 'The platform\'s agency plans', answers: { 200: A.listOf(A.Plan) } }),
  r({ method: 'post', path: '/plans', tag: 'Platform catalog', summary: 'Create an agency plan', scopes: PLATFORM, body: createPlan, answers: { 201: A.Plan } }),
  r({ method: 'get', path: '/chatbot-slot-price', tag: 'Platform catalog', summary: 'The price of one chatbot slot', answers: { 200: A.SlotPrice } }),
  r({ method: 'put', path: '/chatbot-slot-price', tag: 'Platform catalog', summary: 'Set the price of a chatbot slot', scopes: PLATFORM, body: slotPriceSchema, answers: { 200: A.SlotPrice } }),
  r({ method: 'get', path: '/orders', tag: 'Platform catalog', summary: 'The agency\'s orders from the platform', scopes: AGENCY, answers: { 200: A.listOf(A.Order) } }),
  r({ method: 'post', path: '/orders/quote', tag: 'Platform catalog', summary: 'What an order would charge, tax included', scopes: AGENCY, body: orderSchema, answers: { 200: A.CheckoutCharge } }),
  r({ method: 'post', path: '/orders', tag: 'Platform catalog', summary: 'Order top-ups or chatbot slots from the platform', scopes: AGENCY, body: orderSchema, answers: { 201: A.StartedOrder }, errors: [402] }),

  // Payments.
  r({ method: 'post', path: '/invoices/pay-overdue', tag: 'Payments', summary: 'Pay every overdue invoice in one payment', scopes: BUYERS, answers: { 201: A.StartedOverduePayment } }),
  r({ method: 'post', path: '/invoices/{id}/pay', tag: 'Payments', summary: 'Pay an open invoice', scopes: BUYERS, answers: { 201: A.StartedInvoicePayment } }),
  r({ method: 'post', path: '/payments/{id}/refund', tag: 'Payments', summary: 'Refund a payment', scopes: SELLERS, body: refundPaymentBody, answers: { 200: A.Payment }, errors: [402] }),
  r({ method: 'get', path: '/payment-methods', tag: 'Payments', summary: 'The caller\'s saved cards', scopes: BUYERS, answers: { 200: A.listOf(A.PaymentMethod) } }),
  r({ method: 'post', path: '/payment-methods', tag: 'Payments', summary: 'Save a test card (sandbox gateways)', scopes: BUYERS, body: testCardSchema, answers: { 201: A.PaymentMethod }, errors: [402] }),
  r({ method: 'post', path: '/payment-methods/{id}/default', tag: 'Payments', summary: 'Make a card the default', scopes: BUYERS, answers: { 204: null } }),
  r({ method: 'delete', path: '/payment-methods/{id}', tag: 'Payments', summary: 'Remove a saved card', scopes: BUYERS, answers: { 204: null } }),
  r({ method: 'get', path: '/payment-systems', tag: 'Payments', summary: 'The seller\'s payment system (secrets never shown)', scopes: SELLERS, answers: { 200: A.PaymentSystems } }),
  r({ method: 'put', path: '/payment-systems', tag: 'Payments', summary: 'Set up the seller\'s payment system', scopes: SELLERS, body: paymentSystemSchema, answers: { 200: A.PaymentSystems } }),
  r({ method: 'get', path: '/installments', tag: 'Payments', summary: 'The installments the seller offers (NestPay, iyzico)', scopes: SELLERS, answers: { 200: A.InstallmentSettings } }),
  r({ method: 'put', path: '/installments', tag: 'Payments', summary: 'Set the installments the seller offers', scopes: SELLERS, body: installmentsBodySchema, answers: { 200: A.InstallmentSettings } }),
  r({ method: 'get', path: '/payments/{id}/installments', tag: 'Payments', summary: 'The installment choice of a pending payment', scopes: BUYERS, answers: { 200: A.InstallmentChoice } }),
  r({ method: 'post', path: '/payments/{id}/installments', tag: 'Payments', summary: 'Choose how many installments to pay a pending payment in', scopes: BUYERS, body: installmentChoiceBodySchema, answers: { 200: A.InstallmentChoice } }),
  r({ method: 'get', path: '/einvoice-integrator', tag: 'Payments', summary: 'The seller\'s e-invoice integrator (secrets never shown)', scopes: SELLERS, answers: { 200: A.EInvoiceIntegrator } }),
  r({ method: 'put', path: '/einvoice-integrator', tag: 'Payments', summary: 'Set up the seller\'s e-invoice integrator (e-Fatura, e-Arşiv)', scopes: SELLERS, body: integratorBodySchema, answers: { 200: A.EInvoiceIntegrator } }),

  // Auto-billing and the WhatsApp balance.
  r({ method: 'get', path: '/auto-billing', tag: 'Auto-billing', summary: 'The caller\'s auto-billing', scopes: BUYERS, answers: { 200: A.AutoBilling } }),
  r({ method: 'put', path: '/auto-billing', tag: 'Auto-billing', summary: 'Switch auto-billing on or off, set its cap', scopes: BUYERS, body: autoBillingSchema, answers: { 200: A.AutoBilling } }),
  r({ method: 'get', path: '/auto-billing/charges', tag: 'Auto-billing', summary: 'Auto-billing charges', scopes: BUYERS, answers: { 200: A.listOf(A.AutoBillingCharge) } }),
  r({ method: 'get', path: '/whatsapp-balance', tag: 'WhatsApp balance', summary: 'The WhatsApp balance and its entries', scopes: BUYERS, answers: { 200: A.Wallet } }),
  r({ method: 'post', path: '/whatsapp-balance/top-ups', tag: 'WhatsApp balance', summary: 'Top up the WhatsApp balance', scopes: BUYERS, body: topupSchema, answers: { 201: A.WalletTopup } }),
  r({ method: 'post', path: '/whatsapp-balance/debits', tag: 'WhatsApp balance', summary: 'Debit the WhatsApp balance', scopes: BUYERS, body: debitSchema, answers: { 200: A.WalletDebit }, errors: [402] }),

  // Subscription billing.
  r({ method: 'get', path: '/subscriptions', tag: 'Subscriptions', summary: 'The caller\'s subscriptions', answers: { 200: A.listOf(A.Subscription) } }),
  r({ method: 'post', path: '/subscriptions', tag: 'Subscriptions', summary: 'Start a subscription', scopes: BUYERS, body: startSchema, answers: { 201: A.Subscription }, errors: [402] }),
  r({ method: 'get', path: '/subscriptions/{id}', tag: 'Subscriptions', summary: 'One subscription', answers: { 200: A.Subscription } }),
  r({ method: 'post', path: '/subscriptions/{id}/cancel', tag: 'Subscriptions', summary: 'Cancel at the end of the month', scopes: BUYERS, answers: { 200: A.Subscription } }),
  r({ method: 'post', path: '/subscriptions/{id}/reactivate', tag: 'Subscriptions', summary: 'Reactivate a cancelled subscription', scopes: BUYERS, answers: { 200: A.Subscription } }),
  r({ method: 'post', path: '/subscriptions/{id}/change', tag: 'Subscriptions', summary: 'Change to another package', scopes: BUYERS, body: changeSchema, answers: { 201: A.Subscription } }),
  r({ method: 'post', path: '/subscriptions/{id}/refund', tag: 'Subscriptions', summary: 'Refund an accidental term purchase', scopes: SELLERS, body: refundSchema, answers: { 200: A.Subscription }, errors: [402] }),
  r({ method: 'get', path: '/entitlements', tag: 'Subscriptions', summary: 'What the account may use, uses, and is over', answers: { 200: A.EntitlementStatus } }),
  r({ method: 'get', path: '/chatbot-sessions/quota', tag: 'Subscriptions', summary: 'This period\'s chatbot session quota', answers: { 200: A.SessionQuota } }),
  r({ method: 'post', path: '/chatbot-sessions', tag: 'Subscriptions', summary: 'Open a chatbot session (the same id again counts nothing)', body: openSessionSchema, answers: { 200: A.OpenedSession, 201: A.OpenedSession }, errors: [402] }),
  r({ method: 'get', path: '/representatives', tag: 'Subscriptions', summary: 'Representatives', answers: { 200: A.listOf(A.Representative) } }),
  r({ method: 'post', path: '/representatives', tag: 'Subscriptions', summary: 'Add a representative', body: representativeSchema, answers: { 201: A.Representative } }),
  r({ method: 'delete', path: '/representatives/{id}', tag: 'Subscriptions', summary: 'Remove a representative', answers: { 200: A.Representative } }),
  r({ method: 'get', path: '/channels', tag: 'Subscriptions', summary: 'Channel integrations', answers: { 200: A.listOf(A.Channel) } }),
  r({ method: 'post', path: '/channels', tag: 'Subscriptions', summary: 'Add a channel integration', body: channelSchema, answers: { 201: A.Channel } }),
  r({ method: 'delete', path: '/channels/{id}', tag: 'Subscriptions', summary: 'Remove a channel integration', answers: { 200: A.Channel } }),
  r({ method: 'post', path: '/extra-sessions', tag: 'Subscriptions', summary: 'Buy extra chatbot sessions for this month', scopes: BUYERS, body: extraSessionsSchema, answers: { 201: A.ExtraSessionCharge }, errors: [402] }),

  // Invoices.
  r({ method: 'get', path: '/invoices', tag: 'Invoices', summary: 'The caller\'s invoices', answers: { 200: A.listOf(A.Invoice) } }),
  r({ method: 'get', path: '/invoices/upcoming', tag: 'Invoices', summary: 'This month\'s invoice as it stands, and its estimate', answers: { 200: A.Prediction } }),
  r({ method: 'get', path: '/invoices/{id}', tag: 'Invoices', summary: 'One invoice with its lines', answers: { 200: A.InvoiceDetail } }),
  r({ method: 'get', path: '/invoices/{id}/pdf', tag: 'Invoices', summary: 'One invoice as a PDF', answers: { 200: 'pdf' } }),
  r({ method: 'post', path: '/invoices/{id}/mark-paid', tag: 'Invoices', summary: 'Record a bank transfer for an invoice', scopes: SELLERS, answers: { 200: A.Invoice } }),
  r({ method: 'get', path: '/invoices/{id}/collection', tag: 'Invoices', summary: 'Reminders sent and saved-card retries for an invoice', answers: { 200: A.InvoiceCollection } }),
  r({ method: 'get', path: '/collection-settings', tag: 'Invoices', summary: 'The seller\'s reminder and card-retry schedules', scopes: SELLERS, answers: { 200: A.CollectionSettings } }),
  r({ method: 'put', path: '/collection-settings', tag: 'Invoices', summary: 'Set the seller\'s reminder and card-retry schedules', scopes: SELLERS, body: collectionSettingsSchema, answers: { 200: A.CollectionSettings } }),
  r({ method: 'post', path: '/invoices/{id}/credit-notes', tag: 'Invoices', summary: 'Issue a credit note for chosen lines of an invoice', description: 'apidocs:creditNotePost', scopes: SELLERS, body: creditNoteSchema, answers: { 201: A.CreditNoteDetail } }),
  r({ method: 'get', path: '/credit-notes', tag: 'Invoices', summary: 'The caller\'s credit notes (as a buyer)', scopes: BUYERS, answers: { 200: A.listOf(A.CreditNote) } }),
  r({ method: 'get', path: '/credit-notes/{id}', tag: 'Invoices', summary: 'One credit note with its lines', answers: { 200: A.CreditNoteDetail } }),
  r({ method: 'get', path: '/credit-notes/{id}/pdf', tag: 'Invoices', summary: 'One credit note as a PDF', answers: { 200: 'pdf' } }),
  r({ method: 'get', path: '/issued-credit-notes', tag: 'Invoices', summary: 'The credit notes the seller issued', scopes: SELLERS, query: issuedCreditNotesQuery, answers: { 200: A.listOf(A.CreditNote) } }),
  r({ method: 'get', path: '/issued-invoices', tag: 'Invoices', summary: 'The invoices the seller issued', scopes: SELLERS, query: issuedQuery, answers: { 200: A.listOf(A.Invoice) } }),
  r({ method: 'get', path: '/billing-addresses', tag: 'Invoices', summary: 'Billing addresses', answers: { 200: A.listOf(A.BillingAddress) } }),
  r({ method: 'post', path: '/billing-addresses', tag: 'Invoices', summary: 'Add a billing address', body: addressFields, answers: { 201: A.BillingAddress } }),
  r({ method: 'put', path: '/billing-addresses/{id}', tag: 'Invoices', summary: 'Change a billing address', body: addressFields, answers: { 200: A.BillingAddress } }),
  r({ method: 'get', path: '/tax-settings', tag: 'Invoices', summary: 'The seller\'s tax settings (legal identity, default rate, price mode); null before they are saved', scopes: SELLERS, answers: { 200: A.TaxSettingsAnswer } }),
  r({ method: 'put', path: '/tax-settings', tag: 'Invoices', summary: 'Save the seller\'s tax settings (defaultRate in percent: "20", "8.5"; taxNumber a VKN or TCKN)', scopes: SELLERS, body: sellerTaxSchema, answers: { 200: A.TaxSettings } }),

  // People and their online status.
  r({ method: 'get', path: '/members', tag: 'People', summary: 'The people of the key\'s tenant and their online status', query: memberQuery, answers: { 200: A.listOf(A.Member) } }),
  r({ method: 'get', path: '/members/{userId}', tag: 'People', summary: 'One person and their online status', query: memberQuery, answers: { 200: A.Member } }),
  r({ method: 'put', path: '/members/{userId}/status', tag: 'People', summary: 'Set a person\'s online status', query: memberQuery, body: presenceSchema, answers: { 200: A.Member } }),

  // Reports (?format=csv answers the same as CSV).
  r({ method: 'get', path: '/reports/usage', tag: 'Reports', summary: 'Conversations and credits by day, department, sub-account or representative', scopes: BUYERS, query: reportQuery, answers: { 200: A.UsageReport } }),
  r({ method: 'get', path: '/reports/credit-flow', tag: 'Reports', summary: 'Credits in, out, forfeited and expired, by day or account', scopes: BUYERS, query: reportQuery, answers: { 200: A.CreditFlowReport } }),
  r({ method: 'get', path: '/reports/sales', tag: 'Reports', summary: 'Revenue by package and month (an agency), or by agency (the platform)', scopes: SELLERS, query: reportQuery, answers: { 200: A.SalesReport } }),

  // Outgoing webhooks (their payloads: the document's `webhooks` section).
  r({ method: 'get', path: '/webhook-endpoints', tag: 'Webhooks', summary: 'The seller\'s webhook endpoints', scopes: SELLERS, answers: { 200: A.listOf(A.WebhookEndpoint) } }),
  r({ method: 'post', path: '/webhook-endpoints', tag: 'Webhooks', summary: 'Add a webhook endpoint (its signing secret is answered once)', scopes: SELLERS, body: createEndpointSchema, answers: { 201: A.NewWebhookEndpoint } }),
  r({ method: 'get', path: '/webhook-endpoints/{id}', tag: 'Webhooks', summary: 'One webhook endpoint', scopes: SELLERS, answers: { 200: A.WebhookEndpoint } }),
  r({ method: 'patch', path: '/webhook-endpoints/{id}', tag: 'Webhooks', summary: 'Change a webhook endpoint, or switch it on or off', scopes: SELLERS, body: updateEndpointSchema, answers: { 200: A.WebhookEndpoint } }),
  r({ method: 'delete', path: '/webhook-endpoints/{id}', tag: 'Webhooks', summary: 'Delete a webhook endpoint and its log', scopes: SELLERS, answers: { 204: null } }),
  r({ method: 'get', path: '/webhook-endpoints/{id}/deliveries', tag: 'Webhooks', summary: 'An endpoint\'s deliveries, newest first', scopes: SELLERS, query: deliveryFilterSchema, answers: { 200: A.listOf(A.WebhookDelivery) } }),
  r({ method: 'get', path: '/webhook-endpoints/{id}/attempts', tag: 'Webhooks', summary: 'An endpoint\'s delivery log: each attempt\'s request, answer and timing', scopes: SELLERS, query: webhookAttemptsQuery, answers: { 200: A.listOf(A.WebhookAttempt) } }),
  r({ method: 'post', path: '/webhook-endpoints/{id}/deliveries/{deliveryId}/replay', tag: 'Webhooks', summary: 'Send one delivery again (same event id)', scopes: SELLERS, answers: { 202: A.WebhookReplay } }),
  r({ method: 'post', path: '/webhook-endpoints/{id}/replay-failed', tag: 'Webhooks', summary: 'Send every failed delivery of an endpoint again', scopes: SELLERS, answers: { 202: A.WebhookReplay } }),

  // Outside production only.
  r({ method: 'get', path: '/test-clock', tag: 'Test clock', summary: 'The test clock', scopes: PLATFORM, testOnly: true, answers: { 200: A.TestClock } }),
  r({ method: 'post', path: '/test-clock', tag: 'Test clock', summary: 'Move, freeze or reset the test clock', scopes: PLATFORM, testOnly: true, body: testClockSchema, answers: { 200: A.TestClock } }),
];
