import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CheckoutStarter, Payment, PaymentStart } from './gateway';

/**
 * Stand-in until the gateways land: the buyer is sent to Kontor's own "sandbox payment" page,
 * which confirms or declines explicitly. Links are signed so a payment id alone cannot confirm.
 */
export class SandboxGateway implements CheckoutStarter {
  readonly kind = 'sandbox' as const;

  constructor(private readonly secret: string, private readonly publicUrl: string) {}

  signature(paymentId: string): string {
    return createHmac('sha256', this.secret).update(`sandbox-payment:${paymentId}`).digest('base64url');
  }

  verify(paymentId: string, signature: string): boolean {
    const expected = Buffer.from(this.signature(paymentId));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  async start(payment: Payment): Promise<PaymentStart> {
    return { kind: 'redirect', url: `${this.publicUrl}/sandbox/checkout/${payment.id}?sig=${this.signature(payment.id)}` };
  }
}
