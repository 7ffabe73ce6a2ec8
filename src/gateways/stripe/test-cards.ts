import type { TestCard } from '../../payments/gateway';

/**
 * What a test card does when it is charged (the fake Stripe API's behaviours, docs/sandboxes.md).
 * The names follow Stripe's documented test PaymentMethods (`pm_card_visa`...); the two
 * `sandbox*` cards exist only here.
 */
export type StripeCardBehaviour =
  | 'succeed'
  | 'decline'
  | 'decline_after_attach'
  | 'insufficient_funds'
  | 'processing_error'
  | 'authenticate'
  | 'hang'
  | 'api_error';

export interface StripeTestCard {
  /** The key inside Kontor's saved PaymentMethod ids (`pm_<key>_<random>`), and the token suffix. */
  key: string;
  /** The stateless token to confirm or attach with, like Stripe's own `pm_card_visa`. */
  token: string;
  number: string;
  brand: 'visa';
  last4: string;
  behaviour: StripeCardBehaviour;
  label: string;
}

export const stripeTestCards: readonly StripeTestCard[] = [
  { key: 'visa', token: 'pm_card_visa', number: '4242 4242 4242 4242', brand: 'visa', last4: '4242', behaviour: 'succeed', label: 'Succeeds' },
  { key: 'chargeDeclined', token: 'pm_card_chargeDeclined', number: '4000 0000 0000 0002', brand: 'visa', last4: '0002', behaviour: 'decline', label: 'Declined (generic_decline)' },
  { key: 'chargeDeclinedInsufficientFunds', token: 'pm_card_chargeDeclinedInsufficientFunds', number: '4000 0000 0000 9995', brand: 'visa', last4: '9995', behaviour: 'insufficient_funds', label: 'Declined (insufficient_funds)' },
  { key: 'chargeDeclinedProcessingError', token: 'pm_card_chargeDeclinedProcessingError', number: '4000 0000 0000 0119', brand: 'visa', last4: '0119', behaviour: 'processing_error', label: 'Fails (processing_error)' },
  { key: 'authenticationRequired', token: 'pm_card_authenticationRequired', number: '4000 0027 6000 3184', brand: 'visa', last4: '3184', behaviour: 'authenticate', label: '3D Secure required on every payment' },
  { key: 'chargeCustomerFail', token: 'pm_card_chargeCustomerFail', number: '4000 0000 0000 0341', brand: 'visa', last4: '0341', behaviour: 'decline_after_attach', label: 'Saves fine, every charge is declined' },
  { key: 'sandboxTimeout', token: 'pm_card_sandboxTimeout', number: '4000 0000 0000 1000', brand: 'visa', last4: '1000', behaviour: 'hang', label: 'Off-session: charged, answer too late (timeout); here: processing, then succeeds' },
  { key: 'sandboxApiError', token: 'pm_card_sandboxApiError', number: '4000 0000 0000 1018', brand: 'visa', last4: '1018', behaviour: 'api_error', label: 'Stripe fails with a 500 api_error' },
];

/** Test cards expire at the end of this month in the sandbox (fixed, so saved cards are stateless). */
export const TEST_CARD_EXP = { month: 12, year: 2034 } as const;

/**
 * Kontor's four test-card names (TestCard) to Stripe tokens, for saved cards: "declined" is the
 * card that saves fine and is declined when charged (Stripe's 0341; its 0002 card cannot even be
 * saved), "3ds" needs authentication on every payment, so an off-session charge cannot complete.
 */
export const savedTestCardTokens: Record<TestCard, string> = {
  visa: 'pm_card_visa',
  declined: 'pm_card_chargeCustomerFail',
  timeout: 'pm_card_sandboxTimeout',
  '3ds': 'pm_card_authenticationRequired',
};

export function testCardByToken(token: string): StripeTestCard | undefined {
  return stripeTestCards.find((c) => c.token === token);
}

export function testCardByKey(key: string): StripeTestCard | undefined {
  return stripeTestCards.find((c) => c.key === key);
}
