// The API's answers as zod schemas (issue #19, DESIGN section 12). The serializers beside them
// (serializers.ts and the *Json helpers of the routes files) take their return types from these
// (`z.infer`), so the OpenAPI document (src/web/api/openapi) cannot drift from what they send;
// the tests validate every answer they receive against the document.
import { z } from 'zod';
import { webhookEventTypes } from '../../../db/schema';

const id = z.string().describe('Opaque id');
const time = z.iso.datetime({ offset: true }).describe('ISO 8601 time (UTC)');
const day = z.iso.date().describe('A calendar day (YYYY-MM-DD) in the seller\'s time zone');
const minor = z.number().int().describe('An amount in minor units (kuruş, cents)');
const nullable = <S extends z.ZodType>(s: S) => s.nullable();

export const listOf = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item) });

/** Every error: a stable machine code, a message in the caller's language, the request id, and details by code. */
export const ErrorAnswer = z
  .looseObject({
    error: z.string().describe('Stable machine code, e.g. validation_failed, not_found, wrong_scope'),
    message: z.string().describe('What went wrong, in the language of Accept-Language'),
    requestId: z.string().describe('Quote it to support: it finds the request in the logs'),
    fields: z.record(z.string(), z.string()).optional().describe('validation_failed: one message per field'),
  })
  .meta({ id: 'Error' });

/** 429: the error shape with the limit that was reached and the seconds to wait (also in Retry-After). */
export const RateLimited = z
  .looseObject({
    error: z.literal('rate_limited'), message: z.string(), requestId: z.string(),
    limit: z.number().int().describe('Requests per minute allowed to this key on this group of routes'),
    retryAfterSeconds: z.number().int().describe('Seconds until the next minute starts'),
  })
  .meta({ id: 'RateLimited' });

/** The usage hot path's refusals: the error shape (code, message in the caller's language, request id). */
export const UsageRefusal = z.looseObject({ error: z.string(), message: z.string(), requestId: z.string() }).meta({ id: 'UsageRefusal' });

export const Agency = z
  .object({
    id, name: z.string(), status: z.string(),
    suspension: z.object({ manual: z.boolean(), overdueSince: nullable(time) }),
    resellingModule: z.boolean(), planCode: nullable(z.string()), billingEmail: nullable(z.string()), timeZone: z.string(), ccEmails: z.array(z.string()),
    locale: z.string(), restrictDepartmentsToPackages: z.boolean(), chatbotSlots: z.number().int(), invoiceDueDays: z.number().int(), createdAt: time,
  })
  .meta({ id: 'Agency' });

export const SubAccount = z
  .object({ id, agencyId: id, name: z.string(), status: z.string(), billingEmail: nullable(z.string()), createdAt: time })
  .meta({ id: 'SubAccount' });

export const ApiKey = z
  .object({
    id, scope: z.enum(['platform', 'agency', 'sub-account']), agencyId: nullable(id), subAccountId: nullable(id), name: z.string(), prefix: z.string(),
    createdAt: time, lastUsedAt: nullable(time), revokedAt: nullable(time),
  })
  .meta({ id: 'ApiKey' });
export const NewApiKey = ApiKey.extend({ key: z.string().describe('The secret key: shown once, never again') }).meta({ id: 'NewApiKey' });

export const PackageState = z.object({
  using: z.unknown().describe('What the sub-account uses now (package or pay-as-you-go)'),
  chatbots: z.number().int(),
  subscription: nullable(z.object({ id, packageId: id, startsAt: time, endsAt: time, nextGrantAt: nullable(time), monthlyCredits: z.number().int() })),
});
export const SubAccountDetail = SubAccount.extend(PackageState.shape).meta({ id: 'SubAccountDetail' });

export const Me = z.object({ scope: z.enum(['platform', 'agency', 'sub-account']), apiKeyId: id, agencyId: nullable(id), subAccountId: nullable(id) }).meta({ id: 'Me' });

// Credits and departments.
export const Department = z.object({ id, name: z.string(), creditsPerRequest: z.number().int(), createdAt: time }).meta({ id: 'Department' });
export const Balance = z
  .object({
    balance: z.number().int(), lowBalanceThreshold: nullable(z.number().int()),
    lots: z.array(z.object({ id, source: z.string(), amount: z.number().int(), remaining: z.number().int(), expiresAt: nullable(time), createdAt: time })),
  })
  .meta({ id: 'Balance' });
export const SubAccountBalance = Balance.extend(PackageState.partial().shape).meta({ id: 'OwnBalance' });
export const CreditHistoryEntry = z
  .object({ id: z.number().int(), createdAt: time, delta: z.number().int(), balanceAfter: z.number().int(), reason: z.string(), reference: nullable(z.string()), note: nullable(z.string()),
    noteKey: nullable(z.string()).describe('For a note Kontor writes ("credits:note.autoTopup"): its catalog key, to show in any language') })
  .meta({ id: 'CreditHistoryEntry' });
export const Adjustment = z.object({ balance: z.number().int(), poolBalance: z.number().int().optional(), replayed: z.boolean() }).meta({ id: 'Adjustment' });
export const Threshold = z.object({ threshold: nullable(z.number().int()) });
export const DepartmentIds = z.object({ departmentIds: z.array(id) });
export const UsageCharged = z.object({ charged: z.number().int(), balance: z.number().int() }).meta({ id: 'UsageCharged' });
export const UsageBatch = z
  .object({ results: z.array(z.looseObject({ status: z.number().int(), charged: z.number().int().optional(), balance: z.number().int().optional(), error: z.string().optional(), message: z.string().optional() })) })
  .meta({ id: 'UsageBatch' });

// Catalog: offers, resold packages, billing packages, the platform's catalog, orders.
export const OfferVersion = z
  .object({
    id, number: z.number().int(), name: z.string(), billing: nullable(z.string()), priceMinor: minor, currency: z.string(), termMonths: nullable(z.number().int()),
    credits: nullable(z.number().int()), chatbots: nullable(z.number().int()), departmentIds: z.array(id), chatbotSessions: nullable(z.number().int()),
    representatives: nullable(z.number().int()), whatsappChannels: nullable(z.number().int()), instagramChannels: nullable(z.number().int()),
    messengerChannels: nullable(z.number().int()), modules: z.array(z.string()), unit: nullable(z.string()), createdAt: time,
  })
  .meta({ id: 'OfferVersion' });
export const Offer = z
  .object({ id, kind: z.string(), seller: z.enum(['platform', 'agency']), code: nullable(z.string()), published: z.boolean(), version: OfferVersion, createdAt: time, updatedAt: time })
  .meta({ id: 'Offer' });
export const OfferWithWarnings = Offer.extend({
  warnings: z.array(z.object({ code: z.string(), message: z.string(), poolCredits: z.number().int(), creditsPerSale: z.number().int() })),
}).meta({ id: 'OfferWithWarnings' });

export const ResoldPackage = z
  .object({
    id, name: z.string(), type: z.string(), priceMinor: minor, currency: z.string(), credits: z.number().int(), termMonths: nullable(z.number().int()),
    chatbots: z.number().int(), departmentIds: z.array(id), published: z.boolean(), version: z.number().int(), createdAt: time,
  })
  .meta({ id: 'ResoldPackage' });
export const BillingPackage = z
  .object({
    id, name: z.string(), seller: z.enum(['platform', 'agency']), kind: z.string(), billing: z.string(), termMonths: nullable(z.number().int()),
    monthlyPriceMinor: minor, currency: z.string(), chatbotSessions: z.number().int(), representatives: z.number().int(), whatsappChannels: z.number().int(),
    instagramChannels: z.number().int(), messengerChannels: z.number().int(), modules: z.array(z.string()), unit: nullable(z.string()), published: z.boolean(), createdAt: time,
  })
  .meta({ id: 'BillingPackage' });
export const AnyPackage = z.union([ResoldPackage, BillingPackage]).meta({ id: 'Package' });

export const Purchase = z
  .object({
    id, subAccountId: id, packageId: id, packageVersionId: id, packageName: z.string().optional(), type: z.string(), priceMinor: minor, currency: z.string(),
    status: z.string(), paymentMethod: z.string(), paidAt: nullable(time), grantedAt: nullable(time), lastGrantError: nullable(z.string()),
    subscription: nullable(z.object({ status: z.string(), startsAt: time, endsAt: time, nextGrantAt: nullable(time) })), createdAt: time,
  })
  .meta({ id: 'Purchase' });

export const TopupPackage = z.object({ id, credits: z.number().int(), priceMinor: minor, currency: z.string(), createdAt: time }).meta({ id: 'TopupPackage' });
export const Plan = z
  .object({
    id, code: z.string(), name: z.string(), resellingModule: z.boolean(), includedChatbots: z.number().int(), monthlyCredits: z.number().int(),
    priceMinor: minor, currency: z.string(), published: z.boolean(),
  })
  .meta({ id: 'Plan' });
export const SlotPrice = z.object({ priceMinor: minor, currency: z.string() }).meta({ id: 'ChatbotSlotPrice' });
export const Order = z
  .object({
    id, kind: z.string(), topupPackageId: nullable(id), quantity: z.number().int(), credits: z.number().int(), amountMinor: minor, currency: z.string(),
    status: z.string(), appliedAt: nullable(time), createdAt: time,
  })
  .meta({ id: 'Order' });
const checkoutUrl = nullable(z.string()).describe('Where the buyer pays (null when nothing is left to pay at a gateway)');
/** What a checkout charges (docs/tax.md): the stated price, net + tax by the seller's price mode, and the total to pay. */
export const CheckoutCharge = z
  .object({
    priceMinor: minor.describe('The stated price (unit price x quantity)'), netMinor: minor, taxMinor: minor,
    totalMinor: minor.describe('What the buyer pays (before any installment surcharge)'), taxRateBp: z.number().int().describe('Tax rate in hundredths of a percent (2000 = 20%)'),
    priceMode: nullable(z.enum(['exclusive', 'inclusive'])).describe('exclusive: tax added to the price; inclusive: within it; null: no tax'), currency: z.string(),
  })
  .meta({ id: 'CheckoutCharge' });
export const StartedOrder = Order.extend({ checkoutUrl, charge: CheckoutCharge }).meta({ id: 'StartedOrder' });

// Payments.
export const Payment = z
  .object({
    id, status: z.string(), purpose: z.string(), referenceId: nullable(z.string()), amountMinor: minor, currency: z.string(), gateway: z.string(),
    gatewayReference: nullable(z.string()), failureReason: nullable(z.string()), refundedMinor: minor,
    confirmedAt: nullable(time), refundedAt: nullable(time), createdAt: time,
  })
  .meta({ id: 'Payment' });
export const PaymentMethod = z
  .object({ id, gateway: z.string(), brand: nullable(z.string()), last4: nullable(z.string()), expMonth: nullable(z.number().int()), expYear: nullable(z.number().int()), isDefault: z.boolean(), createdAt: time })
  .meta({ id: 'PaymentMethod' });
export const StartedInvoicePayment = z.object({ paymentId: id, checkoutUrl });
export const StartedOverduePayment = z.object({ paymentId: id, invoices: z.array(z.unknown()), amountMinor: minor, currency: z.string(), checkoutUrl });
export const PaymentSystems = z
  .object({
    paymentSystem: nullable(z.object({ kind: z.string(), mode: z.string(), settings: z.record(z.string(), z.unknown()), secretHints: z.record(z.string(), z.unknown()), webhookUrl: z.string(), updatedAt: time })),
    available: z.array(z.object({
      kind: z.string(), label: z.string(),
      fields: z.array(z.object({ name: z.string(), label: z.string(), secret: z.boolean(), required: z.boolean(), options: z.array(z.string()).optional() })),
    })),
  })
  .meta({ id: 'PaymentSystems' });
export const EInvoiceIntegrator = z
  .object({
    integrator: nullable(z.object({ kind: z.string(), mode: z.string(), invoiceSeries: z.string(), creditNoteSeries: z.string(), commercial: z.boolean(), secretHints: z.record(z.string(), z.unknown()), updatedAt: time })),
    available: z.array(z.object({ kind: z.string(), label: z.string(), docsUrl: nullable(z.string()), fields: z.array(z.object({ name: z.string(), secret: z.boolean(), required: z.boolean() })) })),
  })
  .meta({ id: 'EInvoiceIntegrator' });
export const EInvoiceState = z
  .object({
    status: z.enum(['queued', 'sending', 'retrying', 'pending', 'accepted', 'rejected', 'not_sendable']), ettn: nullable(z.string()), number: nullable(z.string()),
    profile: nullable(z.string()), integrator: nullable(z.string()), error: nullable(z.string()), attempts: z.number().int(), sentAt: nullable(time), acceptedAt: nullable(time),
  })
  .describe('The invoice\'s way to GİB through the seller\'s e-invoice integrator; null when it is not sent through one.')
  .meta({ id: 'EInvoiceState' });

// Auto-billing and the WhatsApp balance.
export const AutoBilling = z
  .object({
    available: z.boolean(), unavailableReason: nullable(z.string()), enabled: z.boolean(), monthlyCapMinor: nullable(minor), currency: nullable(z.string()),
    paymentMethodId: nullable(id), notifyEmails: z.array(z.string()), spentThisMonthMinor: minor, consecutiveDeclines: z.number().int(), retryAfter: nullable(time),
    disabledReason: nullable(z.string()), onInvoice: z.boolean(),
  })
  .meta({ id: 'AutoBilling' });
export const AutoBillingCharge = z
  .object({
    id, trigger: z.string(), status: z.string(), deficitCredits: z.number().int(), deficitChatbots: z.number().int(), credits: z.number().int(), chatbots: z.number().int(),
    items: z.unknown(), amountMinor: minor, currency: z.string(), paymentId: nullable(id), failureReason: nullable(z.string()),
    createdAt: time, completedAt: nullable(time), deliveredAt: nullable(time),
  })
  .meta({ id: 'AutoBillingCharge' });
export const WalletEntry = z.object({ id, deltaMinor: minor, balanceAfterMinor: minor, reason: z.string(), reference: nullable(z.string()), createdAt: time }).meta({ id: 'WalletEntry' });
export const Wallet = z.object({ balanceMinor: minor, currency: nullable(z.string()), entries: z.array(WalletEntry) }).meta({ id: 'WhatsappBalance' });
export const WalletDebit = z.object({ balanceMinor: minor, currency: z.string() });
export const WalletTopup = z.object({ topupId: id, paymentId: id, status: z.literal('pending_payment'), checkoutUrl, charge: CheckoutCharge });

// Subscription billing.
const entitlementCounts = {
  chatbotSessions: z.number().int(), representatives: z.number().int(), whatsappChannels: z.number().int(), instagramChannels: z.number().int(),
  messengerChannels: z.number().int(), modules: z.array(z.string()),
};
export const Subscription = z
  .object({
    id, packageId: id, name: z.string(), kind: z.string(), billing: z.string(), status: z.string(), quantity: z.number().int(), monthlyPriceMinor: minor,
    termMonths: nullable(z.number().int()), termPriceMinor: nullable(minor), currency: z.string(), startDay: day, termLastDay: nullable(day),
    changedFromId: nullable(id), changedToId: nullable(id),
    periods: z.array(z.object({ fromDay: day, throughDay: nullable(day) })).optional(),
    entitlements: z.object({ ...entitlementCounts, unit: nullable(z.string()) }),
    createdAt: time,
  })
  .meta({ id: 'Subscription' });
export const Invoice = z
  .object({
    id, number: z.string(), sequence: z.number().int(), kind: z.string(), period: nullable(z.string()), periodStart: nullable(day), periodEnd: nullable(day),
    issueDay: day, dueDay: nullable(day), status: z.string(), totalMinor: minor, currency: z.string(), accountId: id, subAccountId: nullable(id),
    seller: z.string().describe('"platform", or the selling agency\'s id'), paidAt: nullable(time),
    netMinor: minor.describe('The sum of the lines\' net amounts'), taxMinor: minor.describe('The sum of the lines\' taxes (0 on invoices issued without tax)'),
    priceMode: nullable(z.enum(['exclusive', 'inclusive'])).describe('The seller\'s price mode at issue; null: issued without tax'),
  })
  .meta({ id: 'Invoice' });
/** A stored text Kontor writes, beside the text as written (docs/i18n.md). */
const storedTextKey = {
  descriptionKey: nullable(z.string()).describe('For a text Kontor writes: its catalog key (locales/<lang>/<ns>.json, "billing:line.whatsappBalance"), to show in any language'),
  descriptionParams: nullable(z.record(z.string(), z.unknown())).describe('The parameters of descriptionKey'),
};
export const InvoiceDetail = Invoice.extend({
  billingAddress: z.unknown(),
  lines: z.array(z.object({
    position: z.number().int(), kind: z.string(), description: z.string().describe('The text as issued'), ...storedTextKey,
    subscriptionId: nullable(id), fromDay: nullable(day), throughDay: nullable(day),
    activeDays: nullable(z.number().int()), daysInMonth: nullable(z.number().int()), quantity: z.number().int(), unitPriceMinor: minor, amountMinor: minor.describe('The line\'s net amount'),
    taxRateBp: z.number().int().describe('Hundredths of a percent: 2000 = 20%'), taxMinor: minor, totalMinor: minor,
  })),
  einvoice: nullable(EInvoiceState).optional(),
  taxByRate: z.array(z.object({ rateBp: z.number().int(), netMinor: minor, taxMinor: minor })).describe('The lines\' sums per rate, highest rate first'),
  sellerParty: z.unknown().describe('The seller\'s legal identity at issue (null before tax)'),
  buyerParty: z.unknown().describe('The buyer\'s tax identity at issue: company (VKN), person (TCKN) or exempt (null before tax)'),
}).meta({ id: 'InvoiceDetail' });
export const CreditNote = z
  .object({
    id, number: z.string().describe('"CN-000001": the seller\'s credit note series, apart from invoices'), sequence: z.number().int(),
    invoiceId: id, invoiceNumber: z.string(), issueDay: day, currency: z.string(),
    totalMinor: minor.describe('Taken off the invoice: net plus tax, a positive number'), taxMinor: minor, netMinor: minor,
    reason: z.string(), accountId: id, subAccountId: nullable(id), seller: z.string().describe('"platform", or the selling agency\'s id'),
  })
  .meta({ id: 'CreditNote' });
export const CreditNoteDetail = CreditNote.extend({
  billingAddress: z.unknown(),
  lines: z.array(z.object({
    position: z.number().int(), invoiceLineId: id, description: z.string().describe('The credited line\'s text as issued'), ...storedTextKey, quantity: z.number().int(),
    amountMinor: minor.describe('Net amount taken off the invoice line'), taxRateBp: z.number().int().describe('Tax rate in hundredths of a percent (2000 = 20%)'), taxMinor: minor,
  })),
}).meta({ id: 'CreditNoteDetail' });
export const Prediction = z
  .object({
    period: z.string(), periodStart: day, periodEnd: day, today: day, daysElapsed: z.number().int(), daysInMonth: z.number().int(), cutOffDay: day,
    currency: nullable(z.string()), soFarMinor: minor, estimateMinor: minor, lines: z.array(z.object({
      kind: z.enum(['monthly', 'extra_sessions', 'topup']), subscriptionId: nullable(id), description: z.string(), ...storedTextKey, fromDay: day, throughDay: day, daysSoFar: nullable(z.number().int()),
      daysAtMonthEnd: nullable(z.number().int()), daysInMonth: nullable(z.number().int()), monthlyPriceMinor: nullable(minor), soFarMinor: minor, estimateMinor: minor, note: nullable(z.string()),
    })),
    chart: z.array(z.object({ day, amountMinor: minor, estimated: z.boolean() })),
    prepaid: z.array(z.object({ subscriptionId: id, name: z.string(), fromDay: day, throughDay: day })),
    tax: nullable(z.object({
      priceMode: z.enum(['exclusive', 'inclusive']),
      soFar: z.object({ netMinor: minor, taxMinor: minor, totalMinor: minor }),
      estimate: z.object({ netMinor: minor, taxMinor: minor, totalMinor: minor, byRate: z.array(z.object({ rateBp: z.number().int(), netMinor: minor, taxMinor: minor })) }),
    })).describe('The seller\'s tax on the month (null while it charges none); soFarMinor and estimateMinor then include it'),
  })
  .meta({ id: 'UpcomingInvoice' });
const limitLine = { item: z.string(), limit: z.number().int(), used: z.number().int(), over: z.number().int() };
export const EntitlementStatus = z
  .looseObject({
    ...entitlementCounts, extraSessions: z.number().int(), inEffect: z.array(id), day,
    termQuotas: z.array(z.object({ subscriptionId: id, name: z.string(), index: z.number().int(), from: day, until: day })),
    limits: z.array(z.object(limitLine)), overLimits: z.array(z.object({ ...limitLine, guidance: z.string() })),
    chatbots: z.object({ limit: z.number().int(), used: nullable(z.number().int()) }), departments: z.object({ used: z.number().int(), limit: z.null() }),
  })
  .meta({ id: 'Entitlements' });
const quota = { periodStart: day, periodEnd: day, used: z.number().int(), limit: z.number().int(), included: z.number().int(), extra: z.number().int() };
export const SessionQuota = z.object(quota).meta({ id: 'ChatbotSessionQuota' });
export const OpenedSession = z.object({ ...quota, sessionId: z.string(), created: z.boolean() }).meta({ id: 'ChatbotSession' });
export const Representative = z.object({ id, name: z.string(), email: z.string(), createdAt: time }).meta({ id: 'Representative' });
export const Channel = z.object({ id, type: z.string(), name: z.string(), createdAt: time }).meta({ id: 'Channel' });
export const ExtraSessionCharge = z
  .object({ id, quantity: z.number().int(), sessions: nullable(z.number().int()), amountMinor: minor, currency: z.string(), day, expiresAt: nullable(time), description: z.string(), ...storedTextKey })
  .meta({ id: 'ExtraSessionCharge' });
export const BillingAddress = z
  .object({
    id, name: z.string(), line1: z.string(), line2: nullable(z.string()), district: nullable(z.string()), city: z.string(), postalCode: nullable(z.string()), country: z.string(), taxId: nullable(z.string()),
    taxKind: nullable(z.enum(['company', 'person', 'exempt'])), taxNumber: nullable(z.string()), taxOffice: nullable(z.string()), eInvoiceRegistered: z.boolean(),
    eInvoiceAlias: nullable(z.string()).describe('A registered company\'s GİB mailbox (urn:mail:...), where e-Fatura is delivered'),
    firstName: nullable(z.string()), familyName: nullable(z.string()), exemptionReason: nullable(z.string()), isDefault: z.boolean(),
  })
  .meta({ id: 'BillingAddress' });

export const TaxSettings = z
  .object({
    taxEnabled: z.boolean(), legalName: z.string(), addressLine1: z.string(), addressLine2: nullable(z.string()), district: nullable(z.string()), city: z.string(), postalCode: nullable(z.string()),
    country: z.string(), taxOffice: z.string(), taxNumber: z.string(), defaultRateBp: z.number().int().describe('Hundredths of a percent: 2000 = 20%'), defaultRate: z.string().describe('The same in percent: "20.00"'),
    priceMode: z.enum(['exclusive', 'inclusive']), enabledAt: nullable(time),
  })
  .meta({ id: 'TaxSettings' });
export const TaxSettingsAnswer = nullable(TaxSettings);

export const Invitation = z.object({ id, email: z.string() });
export const TestClock = z.object({ now: time, frozen: z.boolean() });

export const Member = z
  .object({ userId: id, name: z.string(), email: z.string(), role: z.string(), status: z.enum(['online', 'busy', 'be_right_back', 'offline']), statusChangedAt: nullable(time) })
  .meta({ id: 'Member' });
const reportFilters = z.object({ from: day, to: day, departmentId: nullable(z.string()), subAccountId: nullable(z.string()).describe("A sub-account's id, 'pool' for the agency's own account, or null for all") });
const reportRow = z.record(z.string(), z.unknown()).describe('One row: the group (day, department, sub-account, representative, package, month or agency) and its figures');
/** Reports with many groups (usage by sub-account or representative, credit flow by account): the page answered, and the groups not on it. */
const reportPaging = z.object({
  page: z.number().int(), limit: z.number().int(), groups: z.number().int().describe('Groups in the range, on all pages'), pages: z.number().int(),
  others: z.record(z.string(), z.unknown()).describe('The groups not on this page: how many (groups) and their sums, the same fields as totals'),
}).meta({ id: 'ReportPaging' });
export const UsageReport = z.object({ zone: z.string(), filters: reportFilters, by: z.string(), data: z.array(reportRow), totals: z.record(z.string(), z.unknown()), paging: reportPaging.optional() }).meta({ id: 'UsageReport' });
export const CreditFlowReport = z.object({ zone: z.string(), filters: reportFilters, by: z.string(), data: z.array(reportRow), totals: z.record(z.string(), z.unknown()), paging: reportPaging.optional() }).meta({ id: 'CreditFlowReport' });
export const SalesReport = z.object({ zone: z.string(), filters: reportFilters, data: z.array(reportRow), totals: z.unknown() }).meta({ id: 'SalesReport' });

// Collections (dunning): a seller's schedules, and what they did for an invoice.
export const CollectionSettings = z
  .object({
    reminderDays: z.array(z.number().int()).describe('Days relative to the due day a reminder goes (negative: before it)'),
    retryDays: z.array(z.number().int()).describe('Days after the due day the saved card is charged again'),
    custom: z.boolean().describe('False while the seller uses the defaults'),
    cardRetriesPossible: z.boolean().describe('Whether the seller\'s payment system can charge a saved card without the buyer (else no retry happens)'),
  })
  .meta({ id: 'CollectionSettings' });
export const InvoiceCollection = z
  .object({
    invoiceId: id,
    reminders: z.array(z.object({ offsetDays: z.number().int(), day, sentAt: time })),
    chargeAttempts: z.array(z.object({
      attemptNo: z.number().int(), daysAfterDue: z.number().int(), day, status: z.enum(['pending', 'succeeded', 'declined', 'skipped']),
      card: nullable(z.string()), paymentId: nullable(id), gatewayReference: nullable(z.string()), error: nullable(z.string()).describe('Why it did not succeed, in the reader\'s language'),
      createdAt: time, completedAt: nullable(time),
    })),
  })
  .meta({ id: 'InvoiceCollection' });

export type Answer<S extends z.ZodType> = z.infer<S>;

// Outgoing webhooks (docs/webhooks.md).
const webhookEventType = z.enum(webhookEventTypes);
export const WebhookEndpoint = z
  .object({
    id, url: z.string(), description: nullable(z.string()), events: z.array(webhookEventType), enabled: z.boolean(),
    disabledReason: nullable(z.enum(['manual', 'failing'])).describe('Why it is off: switched off by the seller, or by Kontor after failing for days'),
    failingSince: nullable(time).describe('First failed attempt since the last success'),
    secretHint: z.string().describe('The end of the signing secret; the secret itself is shown once, at creation'), createdAt: time, updatedAt: time,
  })
  .meta({ id: 'WebhookEndpoint' });
export const NewWebhookEndpoint = WebhookEndpoint.extend({ secret: z.string().describe('The signing secret: shown once, never again') }).meta({ id: 'NewWebhookEndpoint' });
export const WebhookDelivery = z
  .object({
    id, eventId: id, eventType: webhookEventType, status: z.enum(['pending', 'delivering', 'succeeded', 'failed']), attempts: z.number().int(),
    nextAttemptAt: nullable(time), lastStatus: nullable(z.number().int()), lastError: nullable(z.string()), deliveredAt: nullable(time), createdAt: time,
  })
  .meta({ id: 'WebhookDelivery' });
export const WebhookAttempt = z
  .object({
    id, deliveryId: id, eventId: id, eventType: webhookEventType, attempt: z.number().int(), url: z.string(),
    requestHeaders: z.record(z.string(), z.string()), requestBody: z.string(),
    responseStatus: nullable(z.number().int()), responseBody: nullable(z.string()).describe('The first 2 KB of the answer'), error: nullable(z.string()),
    durationMs: z.number().int(), createdAt: time,
  })
  .meta({ id: 'WebhookAttempt' });
export const WebhookReplay = z.object({ replayed: z.number().int().describe('How many deliveries are sent again') }).meta({ id: 'WebhookReplay' });

const installmentQuote = z.object({ count: z.number().int(), surchargeBp: z.number().int(), surchargeMinor: minor, totalMinor: minor, eachMinor: minor, lastMinor: minor });
export const InstallmentSettings = z
  .object({
    gateway: nullable(z.string()).describe('The seller\'s payment system (installments with nestpay and iyzico)'), available: z.boolean(),
    plan: nullable(z.object({ offers: z.array(z.object({ count: z.number().int(), surchargeBp: z.number().int(), surcharge: z.string() })), minAmountMinor: minor })),
  })
  .meta({ id: 'InstallmentSettings' });
export const InstallmentChoice = z
  .object({
    paymentId: id, status: z.string(), amountMinor: minor.describe('What is charged (with the surcharge once chosen)'), currency: z.string(),
    installments: nullable(z.number().int()).describe('null until chosen; 1 for a single payment'), installmentSurchargeMinor: minor,
    choice: nullable(z.object({ gateway: z.string(), single: installmentQuote, options: z.array(installmentQuote) })).describe('null: no choice to make'),
  })
  .meta({ id: 'InstallmentChoice' });
