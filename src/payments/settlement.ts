import { eq } from 'drizzle-orm';
import { payments, type PaymentPurpose } from '../../db/schema';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';

export interface SettleInput {
  paymentId: string;
  approved: boolean;
  reason?: string;
  raw: Record<string, unknown>;
  /** As reported by the gateway: an approved payment that differs from the order is refused. */
  amountMinor?: number;
  currency?: string;
  gatewayReference?: string;
}

export interface SettlementResult {
  outcome: string;
  /** What the payment was for (a purchase, an invoice, a top-up...), as its domain names it. */
  referenceId: string;
  /** Package purchases: whether the credits were granted now or wait for the agency's pool. */
  grant: 'granted' | 'waiting' | null;
}

/**
 * Settles one payment of one purpose (a package purchase, an invoice, a wallet top-up...):
 * marks the payment once (settlePayment) and applies what it paid for. Each domain owns the
 * handler of its purposes; payments knows none of them.
 */
export type SettlementHandler = (deps: Deps, input: SettleInput, payment: { purpose: PaymentPurpose; referenceId: string }) => Promise<SettlementResult>;

/** The handlers by purpose, registered at composition (src/composition.ts; the tests' deps). */
export type SettlementHandlers = Readonly<Partial<Record<PaymentPurpose, SettlementHandler>>>;

/**
 * The one place a gateway callback, webhook or reconciliation lands: finds the payment's purpose
 * and hands it to the handler its domain registered. Money flows one way: payments sits below
 * the domains that sell things and never imports them.
 */
export async function settleAnyPayment(deps: Deps, input: SettleInput): Promise<SettlementResult & { purpose: PaymentPurpose }> {
  const [payment] = await deps.db.select({ purpose: payments.purpose, referenceId: payments.referenceId }).from(payments).where(eq(payments.id, input.paymentId));
  if (!payment) throw errors.notFound('Payment');
  const handler = deps.settlement[payment.purpose];
  // A composition mistake, not a caller's: it fails loudly (the gateway retries the callback).
  if (!handler) throw new Error(`no settlement handler registered for ${payment.purpose} payments`);
  return { ...(await handler(deps, input, payment)), purpose: payment.purpose };
}
