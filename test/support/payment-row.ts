import { randomBytes } from 'node:crypto';
import type { Payment } from '../../src/payments/gateway';

/** A payments row as the core hands it to a gateway, for gateway-level tests (not stored). */
export function paymentRow(over: Partial<Payment> = {}): Payment {
  const id = over.id ?? `pay_${randomBytes(6).toString('hex')}`;
  return {
    id, sellerAgencyId: 'agy_seller', buyerAgencyId: 'agy_buyer', buyerSubAccountId: null, purpose: 'topup', referenceId: `ord_${id}`,
    amountMinor: 12_550, currency: 'TRY', gateway: 'sandbox', status: 'pending', gatewayReference: null, failureReason: null, confirmedAt: null,
    gatewayAccountId: null, paymentMethodId: null, idempotencyKey: null, refundedMinor: 0, refundedAt: null, createdAt: new Date(),
    installments: null, installmentSurchargeBp: 0, installmentSurchargeMinor: 0, priceMode: null, taxRateBp: null, taxMinor: 0,
    ...over,
  };
}
