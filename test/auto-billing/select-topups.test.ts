/**
 * Top-up selection: hand-worked cases for each preference rule, input validation, and
 * property tests against an independent exhaustive search. Expected values in the hand
 * cases are worked out in the comments, never by calling the module.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_TOPUP_DEFICIT,
  MAX_TOPUP_PACKAGES,
  TopupSelectionError,
  greedySelectTopups,
  selectTopups,
  traceSelectTopups,
  type TopupPackage,
  type TopupSelection,
  type TopupSelectionErrorCode,
} from '../../src/auto-billing/select-topups';

function expectTopupError(fn: () => unknown, code: TopupSelectionErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a TopupSelectionError').to.be.instanceOf(TopupSelectionError);
  expect((caught as TopupSelectionError).code).to.equal(code);
}

const pkg = (id: string, credits: number, priceMinor: number): TopupPackage => ({ id, credits, priceMinor });

/** packageId -> quantity, for order-free comparison. */
function quantities(sel: TopupSelection): Record<string, number> {
  return Object.fromEntries(sel.items.map((it) => [it.packageId, it.quantity]));
}

/** The totals must be exactly what the items add up to. */
function expectConsistent(sel: TopupSelection, deficit: number, packages: TopupPackage[]): void {
  const byId = new Map(packages.map((p) => [p.id, p]));
  let credits = 0;
  let price = 0;
  let count = 0;
  for (const it of sel.items) {
    const p = byId.get(it.packageId);
    expect(p, `unknown package ${it.packageId}`).to.not.equal(undefined);
    expect(it.quantity).to.be.greaterThan(0);
    expect(it.credits).to.equal(it.quantity * p!.credits);
    expect(it.priceMinor).to.equal(it.quantity * p!.priceMinor);
    credits += it.credits;
    price += it.priceMinor;
    count += it.quantity;
  }
  expect(new Set(sel.items.map((it) => it.packageId)).size).to.equal(sel.items.length);
  expect(sel.totalCredits).to.equal(credits);
  expect(sel.totalPriceMinor).to.equal(price);
  expect(sel.packageCount).to.equal(count);
  expect(sel.surplusCredits).to.equal(credits - deficit);
  expect(sel.surplusCredits).to.be.at.least(0);
}

/**
 * Reference: plain exhaustive enumeration of quantity vectors, scored with the documented
 * rules. Its only cuts are two facts that need no proof beyond "prices are positive": a
 * selection that already covers the deficit is never improved by buying more, and nothing
 * dearer than a known cover (cheapest single-package cover) can win.
 */
function bruteForce(deficit: number, packages: TopupPackage[]): { price: number; surplus: number; count: number; q: Record<string, number> } {
  // Canonical order of the rule-4 tie-break: price per credit asc, credits desc, id asc.
  const ps = [...packages].sort(
    (a, b) => a.priceMinor * b.credits - b.priceMinor * a.credits || b.credits - a.credits || (a.id < b.id ? -1 : 1),
  );
  const cap = Math.min(...ps.map((p) => Math.ceil(deficit / p.credits) * p.priceMinor));
  let best: { price: number; surplus: number; count: number; v: number[] } | null = null;
  const v = new Array<number>(ps.length).fill(0);
  const walk = (i: number, credits: number, price: number, count: number): void => {
    if (i === ps.length) {
      if (credits < deficit) return;
      const cand = { price, surplus: credits - deficit, count, v: [...v] };
      if (!best) best = cand;
      else {
        const d = cand.price - best.price || cand.surplus - best.surplus || cand.count - best.count;
        const k = cand.v.findIndex((x, j) => x !== best!.v[j]);
        if (d < 0 || (d === 0 && k >= 0 && cand.v[k]! > best.v[k]!)) best = cand;
      }
      return;
    }
    const { credits: c, priceMinor: p } = ps[i]!;
    for (let n = 0; price + n * p <= cap; n++) {
      v[i] = n;
      walk(i + 1, credits + n * c, price + n * p, count + n);
      if (credits + n * c >= deficit) break; // covered: more of anything only costs more
    }
    v[i] = 0;
  };
  walk(0, 0, 0, 0);
  const b = best!;
  const q: Record<string, number> = {};
  ps.forEach((p, i) => {
    if (b.v[i]! > 0) q[p.id] = b.v[i]!;
  });
  return { price: b.price, surplus: b.surplus, count: b.count, q };
}

describe('auto-billing/select-topups', () => {
  describe('seed example', () => {
    it('deficit 1,000 with one 2,000-credit package at 1000 minor buys it once', () => {
      const sel = selectTopups(1000, [pkg('credits-2000', 2000, 1000)]);
      expect(sel).to.deep.equal({
        items: [{ packageId: 'credits-2000', quantity: 1, credits: 2000, priceMinor: 1000 }],
        totalCredits: 2000,
        totalPriceMinor: 1000,
        surplusCredits: 1000,
        packageCount: 1,
      });
    });
  });

  describe('nothing due / nothing to buy', () => {
    const empty = { items: [], totalCredits: 0, totalPriceMinor: 0, surplusCredits: 0, packageCount: 0 };
    it('deficit 0 or negative -> empty selection', () => {
      expect(selectTopups(0, [pkg('a', 10, 5)])).to.deep.equal(empty);
      expect(selectTopups(-25, [pkg('a', 10, 5)])).to.deep.equal(empty);
      expect(selectTopups(0, [])).to.deep.equal(empty);
    });
    it('positive deficit with no packages -> no_topup_packages', () => {
      expectTopupError(() => selectTopups(1, []), 'no_topup_packages');
      expectTopupError(() => greedySelectTopups(1, []), 'no_topup_packages');
    });
  });

  describe('rule 1: lowest total price', () => {
    it('prefers one dearer-per-credit package over two of the best-value one', () => {
      // D=10. a: 6 cr for 5 (0.83/cr, best value), b: 10 cr for 9 (0.9/cr).
      // Greedy buys 2a = 12 cr for 10; b alone covers for 9.
      const packages = [pkg('a', 6, 5), pkg('b', 10, 9)];
      expect(quantities(selectTopups(10, packages))).to.deep.equal({ b: 1 });
      expect(quantities(greedySelectTopups(10, packages))).to.deep.equal({ a: 2 });
    });
    it('mixes packages when that is cheapest', () => {
      // D=1,100. big: 1000 cr for 800, small: 100 cr for 100.
      // 2 big = 1600; big + small = 900 (exact). 11 small = 1100.
      const sel = selectTopups(1100, [pkg('small', 100, 100), pkg('big', 1000, 800)]);
      expect(quantities(sel)).to.deep.equal({ big: 1, small: 1 });
      expect(sel.totalPriceMinor).to.equal(900);
      expect(sel.surplusCredits).to.equal(0);
    });
  });

  describe('rule 2: fewest surplus credits at equal price', () => {
    it('picks the smaller package when both cost the same', () => {
      // D=10. a: 12 cr for 10, b: 11 cr for 10. Same price; surplus 2 vs 1 -> b.
      expect(quantities(selectTopups(10, [pkg('a', 12, 10), pkg('b', 11, 10)]))).to.deep.equal({ b: 1 });
    });
    it('picks an exact fit over an overshoot at the same price', () => {
      // D=9. x: 10 cr for 9 (best value), y: 9 cr for 9. Both cost 9; y leaves no surplus.
      expect(quantities(selectTopups(9, [pkg('x', 10, 9), pkg('y', 9, 9)]))).to.deep.equal({ y: 1 });
    });
  });

  describe('rule 3: fewest packages at equal price and surplus', () => {
    it('two 6-packs beat a 9-pack plus three 1-packs', () => {
      // D=12, all 1 minor per credit, so every exact fit costs 12 with surplus 0.
      // a(9) + 3 x c(1) = 4 packages; 2 x b(6) = 2 packages -> 2 x b, even though rule 4
      // alone would prefer the selection containing the bigger package a.
      const sel = selectTopups(12, [pkg('c', 1, 1), pkg('a', 9, 9), pkg('b', 6, 6)]);
      expect(quantities(sel)).to.deep.equal({ b: 2 });
      expect(sel.packageCount).to.equal(2);
    });
  });

  describe('rule 4: deterministic last resort', () => {
    it('between equal price, surplus and count, prefers more of the bigger package', () => {
      // D=12, 1 minor per credit: a(8)+c(4) and 2 x b(6) both cost 12, surplus 0, 2 packages.
      // Canonical order a, b, c; vectors (1,0,1) vs (0,2,0) -> (1,0,1) is greater.
      for (const order of [
        ['a', 'b', 'c'],
        ['c', 'b', 'a'],
        ['b', 'c', 'a'],
      ]) {
        const byId: Record<string, TopupPackage> = { a: pkg('a', 8, 8), b: pkg('b', 6, 6), c: pkg('c', 4, 4) };
        expect(quantities(selectTopups(12, order.map((id) => byId[id]!)))).to.deep.equal({ a: 1, c: 1 });
      }
    });
    it('compares the whole quantity vector, not just the first package', () => {
      // D=17, 1 minor per credit. Canonical order: p4(12), p2(8), p0(3), p5(3), p3(2), p1(1).
      // Exact 3-package fits include p4+p0+p3 = (1,0,1,0,1,0) and 2 x p2 + p1 = (0,2,0,0,0,1);
      // no 2-package fit exists (12+3, 12+2, 8+8 all miss 17). The first vector is greater.
      // p5 is a clone of p0 and loses to the smaller id.
      const packages = [pkg('p0', 3, 3), pkg('p1', 1, 1), pkg('p2', 8, 8), pkg('p3', 2, 2), pkg('p4', 12, 12), pkg('p5', 3, 3)];
      const expected = { p4: 1, p0: 1, p3: 1 };
      expect(quantities(selectTopups(17, packages))).to.deep.equal(expected);
      expect(quantities(traceSelectTopups(17, packages, 0).selection)).to.deep.equal(expected);
    });
    it('between identical packages, prefers the smaller id whatever the input order', () => {
      expect(quantities(selectTopups(25, [pkg('zeta', 10, 7), pkg('alpha', 10, 7)]))).to.deep.equal({ alpha: 3 });
      expect(quantities(selectTopups(25, [pkg('alpha', 10, 7), pkg('zeta', 10, 7)]))).to.deep.equal({ alpha: 3 });
    });
    it('lists items best value first', () => {
      // D=1,100: big (0.8/cr) then small (1/cr).
      const sel = selectTopups(1100, [pkg('small', 100, 100), pkg('big', 1000, 800)]);
      expect(sel.items.map((it) => it.packageId)).to.deep.equal(['big', 'small']);
    });
  });

  describe('input validation', () => {
    const ok = [pkg('a', 10, 5)];
    it('rejects a non-integer or out-of-range deficit', () => {
      for (const d of [1.5, Number.NaN, Infinity, -Infinity, MAX_TOPUP_DEFICIT + 1]) {
        expectTopupError(() => selectTopups(d, ok), 'invalid_deficit');
      }
      expect(selectTopups(MAX_TOPUP_DEFICIT, ok).totalCredits).to.equal(MAX_TOPUP_DEFICIT);
    });
    it('rejects zero, negative or fractional credits and prices', () => {
      for (const bad of [pkg('x', 0, 5), pkg('x', -10, 5), pkg('x', 2.5, 5), pkg('x', 10, 0), pkg('x', 10, -1), pkg('x', 10, 0.5), pkg('x', 10, Number.NaN)]) {
        expectTopupError(() => selectTopups(5, [...ok, bad]), 'invalid_package');
        expectTopupError(() => selectTopups(0, [...ok, bad]), 'invalid_package');
        expectTopupError(() => greedySelectTopups(5, [bad]), 'invalid_package');
      }
    });
    it('rejects empty and duplicate ids', () => {
      expectTopupError(() => selectTopups(5, [pkg('', 10, 5)]), 'invalid_package');
      expectTopupError(() => selectTopups(5, [pkg('a', 10, 5), pkg('a', 20, 9)]), 'duplicate_package_id');
    });
    it('rejects more than MAX_TOPUP_PACKAGES packages', () => {
      const many = Array.from({ length: MAX_TOPUP_PACKAGES + 1 }, (_, i) => pkg(`p${i}`, i + 1, i + 1));
      expectTopupError(() => selectTopups(5, many), 'too_many_packages');
      expect(selectTopups(5, many.slice(1)).totalPriceMinor).to.equal(5);
    });
    it('rejects a deficit whose cheapest cover exceeds a safe integer', () => {
      // 10,000,000 credits at 10^12 minor each = 10^19 > 2^53.
      expectTopupError(() => selectTopups(10_000_000, [pkg('a', 1, 1e12)]), 'amount_out_of_range');
    });
  });

  describe('large numbers', () => {
    it('compares price per credit exactly beyond 2^53 (BigInt path)', () => {
      // Per-credit prices 1 + 1/4e15 vs 1 + 1/3e15 are equal as doubles; a is better.
      const a = pkg('a', 4e15, 4e15 + 1);
      const b = pkg('b', 3e15, 3e15 + 1);
      expect(quantities(greedySelectTopups(5, [b, a]))).to.deep.equal({ a: 1 });
      expect(quantities(selectTopups(5, [a, b]))).to.deep.equal({ b: 1 }); // cheaper outright
    });
    it('deficit 10,000,000 with a realistic price list matches the exact fallback', () => {
      const packages = [
        pkg('p100', 100, 150), pkg('p1k', 1_000, 1_390), pkg('p7k', 7_000, 9_100),
        pkg('p40k', 40_000, 48_000), pkg('p250k', 250_000, 280_000), pkg('p1m', 1_000_000, 1_090_000),
        pkg('p600k', 600_000, 657_000),
      ];
      const fast = traceSelectTopups(10_000_000 - 1, packages);
      const exact = traceSelectTopups(10_000_000 - 1, packages, 0);
      expect(fast.fallback).to.equal(false);
      expect(exact.fallback).to.equal(true);
      expect(fast.selection).to.deep.equal(exact.selection);
      expectConsistent(fast.selection, 10_000_000 - 1, packages);
    });
  });

  describe('properties against exhaustive search', () => {
    const packagesArb = (credits: fc.Arbitrary<number>, price: (c: number) => fc.Arbitrary<number>, maxLength = 5) =>
      fc
        .array(credits.chain((c) => price(c).map((p) => [c, p] as const)), { minLength: 1, maxLength })
        .chain((cp) =>
          fc.shuffledSubarray(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], { minLength: cp.length, maxLength: cp.length }).map((ids) =>
            cp.map(([c, p], i) => pkg(ids[i]!, c, p)),
          ),
        );
    const anyPrices = packagesArb(fc.integer({ min: 1, max: 60 }), () => fc.integer({ min: 1, max: 100 }));
    // Tie-heavy: small sizes, mostly one minor unit per credit, so many selections tie on
    // price, surplus and count and rules 3 and 4 decide.
    const tiePrices = packagesArb(fc.integer({ min: 1, max: 15 }), (c) => fc.constantFrom(c, c, c, c + 1, 2 * c), 6);

    const check = (deficit: number, packages: TopupPackage[], nodeBudget?: number): void => {
      const { selection: sel, fallback } = traceSelectTopups(deficit, packages, nodeBudget);
      if (nodeBudget === 0) expect(fallback).to.equal(true);
      const ref = bruteForce(deficit, packages);
      expectConsistent(sel, deficit, packages);
      expect(sel.totalPriceMinor, 'price').to.equal(ref.price);
      expect(sel.surplusCredits, 'surplus').to.equal(ref.surplus);
      expect(sel.packageCount, 'count').to.equal(ref.count);
      expect(quantities(sel), 'quantities (rule 4)').to.deep.equal(ref.q);
    };

    it('branch and bound equals brute force (random prices)', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), anyPrices, (d, ps) => check(d, ps)), { numRuns: 2500 });
    });
    it('branch and bound equals brute force (tie-heavy prices)', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), tiePrices, (d, ps) => check(d, ps)), { numRuns: 2000 });
    });
    it('exact fallback equals brute force (search budget 0)', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), anyPrices, (d, ps) => check(d, ps, 0)), { numRuns: 1500 });
      fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), tiePrices, (d, ps) => check(d, ps, 0)), { numRuns: 1500 });
    });
    it('answer does not depend on the input order', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 200 }), tiePrices, fc.integer(), (d, ps, seed) => {
          const shuffled = [...ps].sort((a, b) => ((a.id.charCodeAt(0) * 31 + seed) % 7) - ((b.id.charCodeAt(0) * 31 + seed) % 7));
          expect(selectTopups(d, shuffled)).to.deep.equal(selectTopups(d, ps));
        }),
        { numRuns: 500 },
      );
    });
    it('search and fallback agree on large random price lists (deficit up to 300,000, 20 packages)', () => {
      const big = fc.array(
        fc.integer({ min: 100, max: 60_000 }).chain((c) =>
          fc.oneof(fc.integer({ min: Math.ceil(c * 0.6), max: c * 2 }), fc.constant(c)).map((p) => [c, p] as const),
        ),
        { minLength: 1, maxLength: 20 },
      );
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300_000 }), big, (d, cp) => {
          const ps = cp.map(([c, p], i) => pkg(`p${i}`, c, p));
          const fast = traceSelectTopups(d, ps);
          const exact = traceSelectTopups(d, ps, 0);
          expect(fast.selection).to.deep.equal(exact.selection);
          expectConsistent(fast.selection, d, ps);
        }),
        { numRuns: 150 },
      );
    });
    it('greedy is never cheaper than the optimum', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 200 }), anyPrices, (d, ps) => {
          const g = greedySelectTopups(d, ps);
          expectConsistent(g, d, ps);
          expect(g.totalPriceMinor).to.be.at.least(selectTopups(d, ps).totalPriceMinor);
        }),
        { numRuns: 500 },
      );
    });
  });
});
