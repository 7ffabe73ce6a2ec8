/**
 * Credit top-up selection for auto-billing: given a credit deficit and the seller's top-up
 * packages, pick how many of each package to buy. Pure, integer-only (credits are integers,
 * money is integer minor units; nothing fractional is ever produced or rounded).
 *
 * Order of preference between two selections that both cover the deficit:
 *   1. lower total price;
 *   2. fewer surplus credits (total - deficit);
 *   3. fewer packages;
 *   4. deterministic last resort: the quantity vector that is lexicographically GREATEST when
 *      packages are listed in canonical order -- price per credit ascending, then credits
 *      descending, then id ascending (UTF-16 code units). In words: "more of the better-value
 *      packages". The canonical order ignores the input order, so the answer is stable.
 *
 * Algorithm (exact; proofs next to the code):
 *   - drop packages that can never be in the optimum (a cheaper cover exists for them);
 *   - depth-first branch and bound over the packages in canonical order, trying the largest
 *     quantity of each package first. It visits complete selections in lexicographically
 *     decreasing order, which is what makes rule 4 cheap: the first selection found with a
 *     given (price, surplus, count) is the winner among equals, so a subtree may be cut as
 *     soon as its lower bound merely EQUALS the best so far;
 *   - the search has a node budget. Realistic price lists (volume discounts) finish in a few
 *     hundred nodes; if the budget runs out (adversarial lists, e.g. many packages with exactly
 *     the same price per credit), an exact dynamic programme over credit totals takes over,
 *     on a remainder made small by the "all but a bounded remainder is the best-value
 *     package" argument (see `reduceToRemainder`).
 */

export interface TopupPackage {
  readonly id: string;
  /** Credits granted per purchase; positive safe integer. */
  readonly credits: number;
  /** Price per purchase in minor units; positive safe integer. */
  readonly priceMinor: number;
}

export interface TopupSelectionItem {
  packageId: string;
  quantity: number;
  /** Line totals: quantity x package credits / price. */
  credits: number;
  priceMinor: number;
}

export interface TopupSelection {
  /** Packages bought, in canonical order (best price per credit first); empty when nothing is due. */
  items: TopupSelectionItem[];
  totalCredits: number;
  totalPriceMinor: number;
  surplusCredits: number;
  packageCount: number;
}

export type TopupSelectionErrorCode =
  | 'no_topup_packages'
  | 'invalid_deficit'
  | 'invalid_package'
  | 'duplicate_package_id'
  | 'too_many_packages'
  | 'amount_out_of_range';

/**
 * Thrown for bad input. `no_topup_packages` is an error (not a null result) on purpose: a
 * positive deficit that cannot be covered must never look like "nothing to buy".
 */
export class TopupSelectionError extends Error {
  override readonly name = 'TopupSelectionError';
  readonly code: TopupSelectionErrorCode;
  constructor(code: TopupSelectionErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Largest deficit accepted. It bounds the exact fallback's memory: one byte per credit of
 * deficit plus 12 bytes per credit of the largest package smaller than the deficit.
 */
export const MAX_TOPUP_DEFICIT = 10_000_000;

/** Longest package list accepted (a seller's list is ~20; the fallback stores a package index in a byte). */
export const MAX_TOPUP_PACKAGES = 100;

/**
 * Branch-and-bound nodes before switching to the exact dynamic programme: roughly 50 ms of
 * search. Volume-discount price lists need a few hundred nodes; the budget only matters for
 * subset-sum-like lists (many packages at exactly the same price per credit with unrelated
 * sizes), where the search still usually wins over the O(packages x deficit) programme.
 */
export const DEFAULT_NODE_BUDGET = 2_000_000;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface Pack {
  readonly id: string;
  readonly c: number; // credits
  readonly p: number; // price, minor units
}

/** Winning quantities, aligned with the (pruned, canonical) package list. */
type Counts = number[];

/**
 * Sign of a*b - c*d for positive safe integers. A double product is exact while the true
 * product is <= 2^53 - 1, and rounding is monotone, so "double product <= MAX_SAFE" reliably
 * detects the exact case; otherwise BigInt.
 */
function cmpProducts(a: number, b: number, c: number, d: number): number {
  const x = a * b;
  const y = c * d;
  if (x <= MAX_SAFE && y <= MAX_SAFE) return Math.sign(x - y);
  const z = BigInt(a) * BigInt(b) - BigInt(c) * BigInt(d);
  return z < 0n ? -1 : z > 0n ? 1 : 0;
}

/**
 * ceil(a*b/c) for non-negative safe a, positive safe b, c. For an exact (safe) numerator,
 * Math.ceil of the double quotient is exact: a fractional part is at least 1/c, far more than
 * half an ulp of the quotient. Results above MAX_SAFE are only ever compared with safe
 * prices, for which a monotone over-estimate of an already-huge value is harmless.
 */
function ceilMulDiv(a: number, b: number, c: number): number {
  const x = a * b;
  if (x <= MAX_SAFE) return Math.ceil(x / c);
  const n = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  return Number((n + bc - 1n) / bc);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Canonical order: price per credit ascending, credits descending, id ascending. */
function canonical(x: Pack, y: Pack): number {
  return cmpProducts(x.p, y.c, y.p, x.c) || y.c - x.c || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
}

function validate(deficit: number, packages: readonly TopupPackage[]): Pack[] {
  if (!Number.isSafeInteger(deficit) || deficit > MAX_TOPUP_DEFICIT) {
    throw new TopupSelectionError('invalid_deficit', `Deficit must be an integer <= ${MAX_TOPUP_DEFICIT}, got ${deficit}.`);
  }
  if (packages.length > MAX_TOPUP_PACKAGES) {
    throw new TopupSelectionError('too_many_packages', `At most ${MAX_TOPUP_PACKAGES} top-up packages, got ${packages.length}.`);
  }
  const seen = new Set<string>();
  return packages.map((pkg) => {
    const { id, credits, priceMinor } = pkg;
    if (typeof id !== 'string' || id === '') throw new TopupSelectionError('invalid_package', 'Package id must be a non-empty string.');
    for (const [field, v] of [['credits', credits], ['priceMinor', priceMinor]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) {
        throw new TopupSelectionError('invalid_package', `Package ${id}: ${field} must be a positive integer, got ${v}.`);
      }
    }
    if (seen.has(id)) throw new TopupSelectionError('duplicate_package_id', `Package id ${id} appears twice.`);
    seen.add(id);
    return { id, c: credits, p: priceMinor };
  });
}

/**
 * Packages that can appear in the optimum, in canonical order. Package a is dropped when
 *  - some package b covers a's credits with ceil(a.c/b.c) copies for strictly less money:
 *    swapping every a for those copies keeps the deficit covered and lowers the price (rule 1);
 *  - or an earlier package in canonical order has identical credits and price: swapping keeps
 *    price, surplus and count and raises the earlier coordinate (rule 4).
 * Both are properties of the unique optimum, so dropping all such packages at once is safe.
 */
function usefulPackages(packs: Pack[]): Pack[] {
  const sorted = [...packs].sort(canonical);
  return sorted.filter(
    (a, i) =>
      !sorted.some(
        (b, k) => k !== i && (Math.ceil(a.c / b.c) * b.p < a.p || (k < i && b.c === a.c && b.p === a.p)),
      ),
  );
}

/** Best (price, surplus, count) found so far; `counts` is null while only the seed bound is known. */
interface Best {
  price: number;
  surplus: number;
  count: number;
  counts: Counts | null;
}

/**
 * Depth-first branch and bound. Returns the optimum, or null when the node budget ran out
 * (`best` then still holds a valid upper bound on the price).
 *
 * Exactness: every selection is reachable (quantity of package j ranges over 0..ceil(R/c_j);
 * buying more than ceil(R/c_j) of one package only adds cost to an already-covering
 * selection, and the last package's quantity is forced to the minimum). A subtree is skipped
 * only when a lower bound on every selection in it is lexicographically >= best, and equality
 * may be cut because everything in the subtree is visited later, i.e. is lexicographically
 * smaller (rule 4). Lower bounds for covering R more credits with packages j.. (sorted by
 * price per credit, so package j is the cheapest per credit among them):
 *   price: with f = floor(R/c_j), r = R - f*c_j: either >= f+1 copies of j (cost >= (f+1)p_j),
 *     or <= f copies and the rest, >= r credits, bought at >= package j+1's price per credit
 *     (cost >= f*p_j + r*p_{j+1}/c_{j+1}; fewer copies of j only make it dearer);
 *   surplus: the extra credits are a multiple of g = gcd(c_j..), so surplus >= (-R) mod g;
 *   count: >= ceil(R / largest remaining credits).
 */
function branchAndBound(deficit: number, packs: Pack[], best: Best, budget: number): { counts: Counts | null; nodes: number } {
  const m = packs.length;
  const c = packs.map((x) => x.c);
  const p = packs.map((x) => x.p);
  const maxCreditsFrom = new Array<number>(m + 1).fill(1);
  const gcdFrom = new Array<number>(m + 1).fill(0);
  for (let j = m - 1; j >= 0; j--) {
    maxCreditsFrom[j] = Math.max(c[j]!, maxCreditsFrom[j + 1]!);
    gcdFrom[j] = gcd(c[j]!, gcdFrom[j + 1]!);
  }
  // Quantity caps. For a package a before j in canonical order, with g = gcd(c_a, c_j),
  // c_a/g copies of j and c_j/g copies of a hold the same credits; the latter cost
  // (c_j/g)*p_a <= (c_a/g)*p_j, and on equality (same price per credit) c_j < c_a (equal
  // credits would be a dropped clone) so they are fewer packages. Either way the optimum buys
  // j fewer than c_a/g times.
  const maxQty = c.map((cj, j) => Math.min(...c.slice(0, j).map((ca) => ca / gcd(ca, cj) - 1)));
  const counts = new Array<number>(m).fill(0);
  let nodes = 0;

  const priceLowerBound = (j: number, R0: number): number => {
    const cj = c[j]!;
    const pj = p[j]!;
    if (j === m - 1) return Math.ceil(R0 / cj) * pj;
    const g = gcdFrom[j]!;
    const R = Math.ceil(R0 / g) * g; // packages j.. only buy multiples of g credits
    const f = Math.floor(R / cj);
    const r = R - f * cj;
    if (r === 0) return f * pj;
    return Math.min((f + 1) * pj, f * pj + ceilMulDiv(r, p[j + 1]!, c[j + 1]!));
  };
  // (price, surplus, count) strictly better than best?
  const better = (price: number, surplus: number, count: number): boolean =>
    price !== best.price ? price < best.price : surplus !== best.surplus ? surplus < best.surplus : count < best.count;
  const leaf = (price: number, surplus: number, count: number): void => {
    if (better(price, surplus, count)) Object.assign(best, { price, surplus, count, counts: [...counts] });
  };

  // Returns false when the budget is exhausted. R > 0 credits still to cover.
  const visit = (j: number, R: number, P: number, N: number): boolean => {
    const cj = c[j]!;
    const pj = p[j]!;
    const need = Math.ceil(R / cj);
    if (j === m - 1) {
      if (++nodes > budget) return false;
      counts[j] = need;
      if (need <= maxQty[j]! && need * pj <= best.price - P) leaf(P + need * pj, need * cj - R, N + need);
      counts[j] = 0;
      return true;
    }
    const c1 = c[j + 1]!;
    const p1 = p[j + 1]!;
    // Never spend beyond the best price (keeps every running total <= a safe price).
    for (let n = Math.min(need, maxQty[j]!, Math.floor((best.price - P) / pj)); n >= 0; n--) {
      if (++nodes > budget) return false;
      counts[j] = n;
      const R2 = R - n * cj;
      const P2 = P + n * pj;
      const N2 = N + n;
      if (R2 <= 0) {
        leaf(P2, -R2, N2);
        continue;
      }
      // Plain LP bound; it only grows as n falls (each copy of j dropped costs >= p_j at
      // package j+1's rate), so once it exceeds the best price no smaller n can help.
      if (P2 + ceilMulDiv(R2, p1, c1) > best.price) break;
      const lbPrice = P2 + priceLowerBound(j + 1, R2);
      const g = gcdFrom[j + 1]!;
      const lbSurplus = (g - (R2 % g)) % g;
      const lbCount = N2 + Math.ceil(R2 / maxCreditsFrom[j + 1]!);
      if (!better(lbPrice, lbSurplus, lbCount)) continue;
      if (!visit(j + 1, R2, P2, N2)) return false;
    }
    counts[j] = 0;
    return true;
  };

  const finished = visit(0, deficit, 0, 0);
  return { counts: finished ? best.counts : null, nodes };
}

/**
 * Exact fallback. Let b = packs[0] (best price per credit; largest such; clones were dropped, so
 * every other package with the same price per credit has fewer credits). Scale prices by c_b:
 * for package i let E_i = p_i*c_b - c_i*p_b >= 0 ("excess over b's rate"). For any selection
 * with total T = D + s:   price*c_b = T*p_b + sum_{i != b} n_i*E_i = D*p_b + s*p_b + sum n_i*E_i.
 * With a known achievable price U, the optimum therefore has sum n_i*E_i <= W := U*c_b - D*p_b, so
 *  - packages with E_i > 0 hold at most W * max(c_i/E_i) credits in total;
 *  - a package with E_i = 0 (and c_i < c_b) is bought fewer than c_b/g times (g = gcd(c_i, c_b)):
 *    c_b/g copies of it equal c_i/g copies of b in credits AND price, and c_i/g < c_b/g, so the
 *    swap keeps price and surplus and lowers the count (rule 3).
 * So the non-b part holds at most L credits and, as T >= D, the optimum buys at least
 * k0 = ceil((D - L)/c_b) copies of b. Every rule is unchanged by adding the same k0 copies to
 * both sides of a comparison, hence optimum(D) = k0 x b + optimum(D - k0*c_b).
 */
function reduceToRemainder(deficit: number, packs: Pack[], upperPrice: number): number {
  const b = packs[0]!;
  const cb = BigInt(b.c);
  const pb = BigInt(b.p);
  const W = BigInt(upperPrice) * cb - BigInt(deficit) * pb;
  let best: { c: bigint; e: bigint } | null = null; // max c_i/E_i over E_i > 0
  let L = 0n;
  for (const x of packs.slice(1)) {
    const e = BigInt(x.p) * cb - BigInt(x.c) * pb;
    if (e > 0n) {
      if (!best || BigInt(x.c) * best.e > best.c * e) best = { c: BigInt(x.c), e };
    } else {
      L += (cb / BigInt(gcd(x.c, b.c)) - 1n) * BigInt(x.c);
    }
  }
  if (best) L += (W * best.c) / best.e;
  if (L >= BigInt(deficit)) return 0;
  return Math.ceil((deficit - Number(L)) / b.c);
}

/**
 * Exact DP over credit totals for the remainder D (> 0). A package with c >= D can only be
 * bought alone (anything next to it could be removed, lowering the price). For the others, the
 * optimum's total is < D + max c (dropping any item must uncover the deficit), so totals
 * 0..D+maxC-1 suffice. For each exact total t keep the rule-4 winner X(t) among selections of
 * t credits, as (price, count) plus the package taken last. Recurrence: X(t) = X(t - c_j) + j
 * for the option with the lowest (price, count) and, on a tie, the SMALLEST j. Why smallest:
 * every j in X(t) gives X(t - c_j) + j = X(t) (removing/adding one j preserves all comparisons),
 * and if the smallest tied j were not in X(t), the tied option would have no smaller package
 * either and would beat X(t) on rule 4 -- a contradiction. Memory: (price, count) only for the
 * last maxC totals (a ring), one byte of "last package" per total for the walk back.
 */
function dynamicProgramme(deficit: number, packs: Pack[]): Counts {
  const m = packs.length;
  const small = packs.flatMap((x, i) => (x.c < deficit ? [i] : [])); // canonical order
  const candidates: { price: number; surplus: number; count: number; counts: Counts }[] = [];

  if (small.length > 0) {
    const sc = small.map((i) => packs[i]!.c);
    const sp = small.map((i) => packs[i]!.p);
    const ring = Math.max(...sc) + 1;
    const size = deficit + ring - 1;
    const price = new Float64Array(ring).fill(Infinity);
    const count = new Int32Array(ring);
    const last = new Uint8Array(size); // 1 + index into `small`; 0 = unreachable
    price[0] = 0;
    let bestT = -1;
    let bestPrice = Infinity;
    for (let t = 1, slot = 1; t < size; t++, slot = slot + 1 === ring ? 0 : slot + 1) {
      let bp = Infinity;
      let bn = 0;
      let bk = -1;
      for (let k = 0; k < sc.length; k++) {
        const ck = sc[k]!;
        if (ck > t) continue;
        const from = slot >= ck ? slot - ck : slot - ck + ring;
        const q = price[from]!;
        if (q === Infinity) continue;
        const cand = q + sp[k]!;
        const n = count[from]! + 1;
        if (cand < bp || (cand === bp && n < bn)) [bp, bn, bk] = [cand, n, k];
      }
      price[slot] = bp;
      count[slot] = bn;
      last[t] = bk + 1;
      // Later totals carry more surplus: only a strictly lower price displaces an earlier one.
      if (t >= deficit && bp < bestPrice) [bestPrice, bestT] = [bp, t];
    }
    if (bestT >= 0) {
      const counts = new Array<number>(m).fill(0);
      let n = 0;
      for (let t = bestT; t > 0; n++) {
        const k = last[t]! - 1;
        counts[small[k]!]!++;
        t -= sc[k]!;
      }
      candidates.push({ price: bestPrice, surplus: bestT - deficit, count: n, counts });
    }
  }
  packs.forEach((x, i) => {
    if (x.c < deficit) return;
    const counts = new Array<number>(m).fill(0);
    counts[i] = 1;
    candidates.push({ price: x.p, surplus: x.c - deficit, count: 1, counts });
  });
  const winner = candidates.reduce((a, b) => {
    const d = a.price - b.price || a.surplus - b.surplus || a.count - b.count;
    return d < 0 || (d === 0 && !lexGreater(b.counts, a.counts)) ? a : b;
  });
  return winner.counts;
}

function lexGreater(a: Counts, b: Counts): boolean {
  const i = a.findIndex((v, k) => v !== b[k]);
  return i >= 0 && a[i]! > b[i]!;
}

function toSelection(deficit: number, packs: Pack[], counts: Counts): TopupSelection {
  const items: TopupSelectionItem[] = [];
  packs.forEach((x, i) => {
    const quantity = counts[i]!;
    if (quantity > 0) items.push({ packageId: x.id, quantity, credits: quantity * x.c, priceMinor: quantity * x.p });
  });
  const totalCredits = items.reduce((s, it) => s + it.credits, 0);
  return {
    items,
    totalCredits,
    totalPriceMinor: items.reduce((s, it) => s + it.priceMinor, 0),
    surplusCredits: totalCredits - deficit,
    packageCount: items.reduce((s, it) => s + it.quantity, 0),
  };
}

function emptySelection(): TopupSelection {
  return { items: [], totalCredits: 0, totalPriceMinor: 0, surplusCredits: 0, packageCount: 0 };
}

/** Validated, canonical packages and a safe upper bound on the optimal price (cheapest single-package cover). */
function prepare(deficit: number, packages: readonly TopupPackage[]): { packs: Pack[]; upper: number } | null {
  const all = validate(deficit, packages);
  if (deficit <= 0) return null;
  if (all.length === 0) throw new TopupSelectionError('no_topup_packages', 'No top-up packages to cover the deficit.');
  const packs = usefulPackages(all);
  const upper = Math.min(...packs.map((x) => Math.ceil(deficit / x.c) * x.p));
  if (upper > MAX_SAFE) throw new TopupSelectionError('amount_out_of_range', 'Covering this deficit costs more than a safe integer.');
  return { packs, upper };
}

/**
 * Cheapest set of top-up packages covering `deficit` credits (rules in the file header).
 * Deficit <= 0 -> empty selection. Throws TopupSelectionError: `no_topup_packages` when a
 * positive deficit meets an empty list, `invalid_deficit` / `invalid_package` /
 * `duplicate_package_id` / `too_many_packages` for bad input, `amount_out_of_range` if the cheapest cover's price
 * would not be a safe integer.
 */
export function selectTopups(deficit: number, packages: readonly TopupPackage[]): TopupSelection {
  return traceSelectTopups(deficit, packages).selection;
}

/**
 * selectTopups plus how it got there (search nodes, whether the exact fallback ran), for the
 * benchmark and tests; `nodeBudget: 0` forces the fallback. The answer never depends on the budget.
 */
export function traceSelectTopups(
  deficit: number,
  packages: readonly TopupPackage[],
  nodeBudget = DEFAULT_NODE_BUDGET,
): { selection: TopupSelection; nodes: number; fallback: boolean } {
  const prepared = prepare(deficit, packages);
  if (!prepared) return { selection: emptySelection(), nodes: 0, fallback: false };
  const { packs, upper } = prepared;
  const best: Best = { price: upper, surplus: Infinity, count: Infinity, counts: null };
  const { counts: found, nodes } = branchAndBound(deficit, packs, best, nodeBudget);
  let counts = found;
  if (!counts) {
    const k0 = reduceToRemainder(deficit, packs, best.price);
    const rest = deficit - k0 * packs[0]!.c;
    counts = rest > 0 ? dynamicProgramme(rest, packs) : packs.map(() => 0);
    counts[0] = counts[0]! + k0;
  }
  return { selection: toSelection(deficit, packs, counts), nodes, fallback: !found };
}

/**
 * The naive choice, for the benchmark only: buy the best price-per-credit package until the
 * deficit is covered. It ignores the leftover, so it can overpay.
 */
export function greedySelectTopups(deficit: number, packages: readonly TopupPackage[]): TopupSelection {
  const all = validate(deficit, packages);
  if (deficit <= 0) return emptySelection();
  if (all.length === 0) throw new TopupSelectionError('no_topup_packages', 'No top-up packages to cover the deficit.');
  const packs = [...all].sort(canonical);
  const quantity = Math.ceil(deficit / packs[0]!.c);
  if (quantity * packs[0]!.p > MAX_SAFE) throw new TopupSelectionError('amount_out_of_range', 'Greedy cover costs more than a safe integer.');
  return toSelection(deficit, packs, [quantity]);
}
