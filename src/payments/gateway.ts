import type { payments } from '../../db/schema';

export type Payment = typeof payments.$inferSelect;

/** Where to send the buyer's browser to pay. NestPay will add a posted form ('form'). */
export type PaymentStart = { kind: 'redirect'; url: string };

/**
 * One interface for every gateway (DESIGN section 7). The gateways issue implements it for
 * NestPay 3D_PAY, iyzico and Stripe; until then the sandbox stand-in below is the only one.
 */
export interface PaymentGateway {
  readonly name: string;
  /** Whether a saved method can be charged without the buyer (NestPay 3D_PAY: no). */
  readonly canChargeOffSession: boolean;
  start(payment: Payment): Promise<PaymentStart>;
}
