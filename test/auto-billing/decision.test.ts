// The auto-billing decision alone (pure): what to buy, or why not. Hand-worked cases.
import { expect } from 'chai';
import { decideTopup, type DecisionInput } from '../../src/auto-billing/decision';
import { localize, tFor } from '../../src/i18n/i18n';

const now = new Date('2026-03-10T09:00:00Z');
const base: DecisionInput = {
  need: { credits: 10_000, chatbots: 0 },
  have: { credits: 9_000, freeSlots: 0 },
  retryAfter: null,
  now,
  offer: { packages: [{ id: 'p2k', credits: 2_000, priceMinor: 1_000 }], slotPriceMinor: 0, currency: 'USD' },
  monthlyCapMinor: 100_000,
  spentThisMonthMinor: 0,
};

describe('auto-billing decision (pure)', () => {
  it('the seed example: 9,000 held, 10,000 needed, a 2,000-credit pack for $10: buy one pack, $10', () => {
    const d = decideTopup(base);
    expect(d).to.deep.include({ kind: 'buy', deficitCredits: 1_000, credits: 2_000, chatbots: 0, amountMinor: 1_000 });
  });

  it('nothing missing: covered, whatever the back-off, the cap or the offer', () => {
    expect(decideTopup({ ...base, have: { credits: 10_000, freeSlots: 0 }, retryAfter: new Date(now.getTime() + 60_000), monthlyCapMinor: 0, offer: { ...base.offer, packages: [] } })).to.deep.equal({ kind: 'covered' });
  });

  it('chatbots: exactly the shortfall at the slot price (have 5, need 10: buy 5)', () => {
    const d = decideTopup({ ...base, need: { credits: 0, chatbots: 10 }, have: { credits: 0, freeSlots: 5 }, offer: { ...base.offer, slotPriceMinor: 700 } });
    expect(d).to.deep.include({ kind: 'buy', deficitChatbots: 5, chatbots: 5, credits: 0, amountMinor: 3_500 });
  });

  it('during a back-off nothing is bought; once it is over, it is', () => {
    const until = new Date(now.getTime() + 15 * 60_000);
    expect(decideTopup({ ...base, retryAfter: until })).to.deep.equal({ kind: 'backoff', until });
    expect(decideTopup({ ...base, retryAfter: new Date(now.getTime() - 1) }).kind).to.equal('buy');
  });

  it('the cap is never exceeded: spent 9,500 of 10,000, a $10 top-up is refused; with $10 left the $10 top-up fits exactly', () => {
    const refused = decideTopup({ ...base, monthlyCapMinor: 10_000, spentThisMonthMinor: 9_500 });
    expect(refused).to.deep.include({ kind: 'refuse', code: 'auto_billing_cap_reached', amountMinor: 1_000 });
    expect(localize(tFor('en'), (refused as { message: string }).message)).to.equal('The monthly auto-billing cap of USD 100.00 would be exceeded (spent USD 95.00, this top-up USD 10.00).');
    expect(decideTopup({ ...base, monthlyCapMinor: 10_000, spentThisMonthMinor: 9_000 }).kind).to.equal('buy');
  });

  it('nothing on sale: refused with the reason (no packages; slots not for sale)', () => {
    expect(decideTopup({ ...base, offer: { ...base.offer, packages: [] } })).to.deep.include({ kind: 'refuse', code: 'no_topup_packages' });
    expect(decideTopup({ ...base, need: { credits: 0, chatbots: 1 } })).to.deep.include({ kind: 'refuse', code: 'not_for_sale' });
  });

  it('the cheapest combination covers the deficit (ties: fewer surplus credits)', () => {
    const offer = { ...base.offer, packages: [{ id: 'p1k', credits: 1_000, priceMinor: 600 }, { id: 'p5k', credits: 5_000, priceMinor: 2_000 }] };
    const d = decideTopup({ ...base, have: { credits: 5_500, freeSlots: 0 }, offer }); // deficit 4,500
    expect(d).to.deep.include({ kind: 'buy', credits: 5_000, amountMinor: 2_000 });
  });
});
