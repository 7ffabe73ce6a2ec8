// What each webhook event's `data` holds (docs/webhooks.md). The emitters build their data from
// these types, and the OpenAPI document's `webhooks` section is generated from the same schemas.
import { z } from 'zod';
import { webhookEventTypes, type WebhookEventType } from '../../db/schema';

const id = z.string().describe('Opaque id');
const time = z.iso.datetime({ offset: true }).describe('ISO 8601 time (UTC)');
const day = z.iso.date().describe('A calendar day (YYYY-MM-DD) in the seller\'s time zone');
const minor = z.number().int().describe('An amount in minor units (kuruş, cents)');
const currency = z.string().describe('ISO 4217 currency code');

/** The account the event is about: an agency (subAccountId null) or one of its sub-accounts. */
export const EventAccount = z
  .object({ agencyId: id, subAccountId: id.nullable() })
  .meta({ id: 'WebhookAccount', description: 'The account the event is about: an agency (subAccountId null) or one of its clients' });

const withAccount = <S extends z.ZodRawShape>(shape: S) => z.object({ account: EventAccount, ...shape });

export const eventDataSchemas = {
  'purchase.completed': withAccount({
    purchaseId: id.describe('The purchase (a client\'s package) or the order (an agency\'s top-up or chatbot slots)'),
    kind: z.enum(['package', 'topup', 'chatbot_slots']).describe('package: a client bought one of its agency\'s packages; topup, chatbot_slots: an agency ordered from the platform'),
    packageId: id.nullable().describe('The package bought (kind package)'),
    amountMinor: minor.describe('What was charged: netMinor + taxMinor + installmentSurchargeMinor'),
    netMinor: minor.describe('The price without tax (the stated price when the seller charges no tax)'),
    taxMinor: minor.describe('The tax the checkout added or included (0 without tax)'),
    taxRateBp: z.number().int().nullable().describe('The rate in hundredths of a percent (2000 = 20%); null: the seller charged no tax'),
    installmentSurchargeMinor: minor.describe('Paid in installments: the surcharge, its tax within; else 0'),
    currency, paidAt: time,
  }),
  'invoice.issued': withAccount({ invoiceId: id, number: z.string(), totalMinor: minor, currency, issueDay: day, dueDay: day }),
  'invoice.paid': withAccount({ invoiceId: id, number: z.string(), totalMinor: minor, currency, paidAt: time, paymentId: id.nullable().describe('Null: a bank transfer the seller recorded') }),
  'payment.failed': withAccount({ paymentId: id, purpose: z.string().describe('What the payment was for (package_purchase, invoice, topup...)'), amountMinor: minor, currency, reason: z.string() }),
  'credits.low': withAccount({ balance: z.number().int(), threshold: z.number().int() }),
  'auto_billing.charged': withAccount({ chargeId: id, credits: z.number().int(), chatbots: z.number().int(), amountMinor: minor, currency, status: z.enum(['succeeded', 'on_invoice']) }),
  'auto_billing.failed': withAccount({ chargeId: id, amountMinor: minor, currency, reason: z.string(), switchedOff: z.boolean().describe('Auto-billing was switched off after too many declines') }),
  'account.suspended': withAccount({ reason: z.enum(['overdue', 'manual']), overdueInvoices: z.number().int() }),
  'account.reactivated': withAccount({ reason: z.enum(['overdue', 'manual']) }),
  'subscription.started': withAccount({ subscriptionId: id, packageId: id, quantity: z.number().int(), day }),
  'subscription.changed': withAccount({ subscriptionId: id, toSubscriptionId: id, packageId: id, quantity: z.number().int(), day }),
  'subscription.cancelled': withAccount({ subscriptionId: id, day: day.describe('The day it was cancelled; it ends with the month') }),
} satisfies Record<WebhookEventType, z.ZodType>;

export type EventData<T extends WebhookEventType> = z.input<(typeof eventDataSchemas)[T]>;

/** The body of every delivery: POSTed as JSON, signed with Kontor-Signature. */
export const eventEnvelope = <T extends WebhookEventType>(type: T) =>
  z.object({
    id: z.string().describe('The event id: the same on every retry and replay, to de-duplicate on'),
    type: z.literal(type),
    created: time.describe('When it happened'),
    data: eventDataSchemas[type],
  });

export { webhookEventTypes };
