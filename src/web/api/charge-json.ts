import type { CheckoutAmount } from '../../billing/checkout-amount';
import type * as A from './schemas';
import type { Answer } from './schemas';

/** A checkout's charge as the API answers it (the CheckoutCharge schema; docs/tax.md). */
export const chargeJson = (c: CheckoutAmount & { currency: string }): Answer<typeof A.CheckoutCharge> => ({
  priceMinor: c.priceMinor, netMinor: c.net, taxMinor: c.tax, totalMinor: c.total, taxRateBp: c.rateBp, priceMode: c.mode, currency: c.currency,
});
