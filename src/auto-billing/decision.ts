// The auto-billing decision, pure: from what an operation needs, what the account holds, what the
// seller sells and the account's limits, whether to buy and what. No database, no clock of its
// own: src/auto-billing/charge.ts reads the state under the account's lock and acts on the answer.
import { money, msg } from '../lib/message';
import { selectTopups, type TopupPackage } from './select-topups';

export interface TopupOffer {
  /** Credit top-ups on sale, in the offer's currency. */
  packages: TopupPackage[];
  /** Price of one chatbot slot (0: not for sale). */
  slotPriceMinor: number;
  currency: string;
}

export interface DecisionInput {
  need: { credits: number; chatbots: number };
  have: { credits: number; freeSlots: number };
  /** After a declined charge: no new charge before this instant. */
  retryAfter: Date | null;
  now: Date;
  offer: TopupOffer;
  monthlyCapMinor: number | null;
  /** Pending, charged and on-invoice top-ups of the month (the cap counts them). */
  spentThisMonthMinor: number;
}

export type TopupDecision =
  | { kind: 'covered' }
  | { kind: 'backoff'; until: Date }
  | { kind: 'refuse'; code: 'no_topup_packages' | 'not_for_sale' | 'auto_billing_cap_reached'; message: string; amountMinor?: number }
  | {
      kind: 'buy';
      deficitCredits: number;
      deficitChatbots: number;
      items: ReturnType<typeof selectTopups>['items'];
      /** Credits bought (at least the deficit: the surplus stays in the account). */
      credits: number;
      chatbots: number;
      amountMinor: number;
    };

/**
 * DESIGN section 5: buy exactly the missing chatbots, and the cheapest combination of top-ups
 * covering the missing credits; never during a back-off, never past the monthly cap.
 */
export function decideTopup(input: DecisionInput): TopupDecision {
  const deficitCredits = Math.max(0, input.need.credits - input.have.credits);
  const deficitChatbots = Math.max(0, input.need.chatbots - input.have.freeSlots);
  if (deficitCredits === 0 && deficitChatbots === 0) return { kind: 'covered' };
  if (input.retryAfter && input.retryAfter > input.now) return { kind: 'backoff', until: input.retryAfter };
  const { offer } = input;
  let items: ReturnType<typeof selectTopups>['items'] = [];
  let credits = 0;
  if (deficitCredits > 0) {
    if (offer.packages.length === 0) return { kind: 'refuse', code: 'no_topup_packages', message: msg('errors:autoBilling.noPackages', { currency: offer.currency }) };
    const selection = selectTopups(deficitCredits, offer.packages);
    items = selection.items;
    credits = selection.totalCredits;
  }
  if (deficitChatbots > 0 && offer.slotPriceMinor <= 0) return { kind: 'refuse', code: 'not_for_sale', message: 'Chatbot slots are not for sale yet.' };
  const amountMinor = items.reduce((sum, i) => sum + i.priceMinor, 0) + deficitChatbots * offer.slotPriceMinor;
  const cap = input.monthlyCapMinor;
  if (cap !== null && input.spentThisMonthMinor + amountMinor > cap) {
    const m = (minor: number) => money(minor, offer.currency);
    return {
      kind: 'refuse', code: 'auto_billing_cap_reached', amountMinor,
      message: msg('errors:autoBilling.capExceeded', { cap: m(cap), spent: m(input.spentThisMonthMinor), amount: m(amountMinor) }),
    };
  }
  return { kind: 'buy', deficitCredits, deficitChatbots, items, credits, chatbots: deficitChatbots, amountMinor };
}
