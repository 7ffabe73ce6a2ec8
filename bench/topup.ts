/**
 * Benchmark of the auto-billing top-up selection (`npx tsx bench/topup.ts`).
 *
 * Random but reproducible cases (seeded PRNG): a deficit of 1..10,000,000 credits and 20
 * packages of 100..1,000,000 credits priced on a volume-discount curve (per seller: a base
 * rate of 0.5..3 minor units per credit and a 15..40% discount at the top size, growing with
 * log(size); per package: +-2% noise, rounded to whole minor units). Prints the latency of
 * selectTopups (median, p99, max; after a warm-up) and what the naive greedy choice overpays
 * on the same cases. Figures only, no assertions.
 *
 * A second, informational set uses flat-rate tiers with random sizes (several packages at
 * exactly the same price per credit): that is a subset-sum-like problem, and its latency is
 * reported separately so the headline figures are not mistaken for a worst case.
 */
import {
  greedySelectTopups,
  selectTopups,
  traceSelectTopups,
  type TopupPackage,
} from '../src/auto-billing/select-topups';

const CASES = 5_000;
const WARMUP_ROUNDS = 2;

/** mulberry32: tiny seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  deficit: number;
  packages: TopupPackage[];
}

function volumeDiscountCases(seed: number, n: number): Case[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  return Array.from({ length: n }, () => {
    const baseRate = 0.5 + rnd() * 2.5;
    const topDiscount = 0.15 + rnd() * 0.25;
    const packages = Array.from({ length: 20 }, (_, i) => {
      const credits = int(100, 1_000_000);
      const discount = (topDiscount * Math.log10(credits / 100)) / 4; // 0 at 100, top at 1,000,000
      const noise = 1 + (rnd() - 0.5) * 0.04;
      const priceMinor = Math.max(1, Math.round(credits * baseRate * (1 - discount) * noise));
      return { id: `pkg-${i}`, credits, priceMinor };
    });
    return { deficit: int(1, 10_000_000), packages };
  });
}

function flatTierCases(seed: number, n: number): Case[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  return Array.from({ length: n }, () => {
    const packages = Array.from({ length: 20 }, (_, i) => {
      const credits = int(100, 1_000_000);
      const ratePerThousand = credits < 10_000 ? 10 : credits < 100_000 ? 9 : credits < 500_000 ? 8 : 7;
      return { id: `pkg-${i}`, credits, priceMinor: credits * ratePerThousand };
    });
    return { deficit: int(1, 10_000_000), packages };
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Per-call latency in microseconds, sorted; every case is run WARMUP_ROUNDS times first. */
function latencies(cases: Case[]): number[] {
  let sink = 0; // keeps the calls observable
  for (let r = 0; r < WARMUP_ROUNDS; r++) for (const c of cases) sink += selectTopups(c.deficit, c.packages).packageCount;
  const out = cases.map((c) => {
    const t0 = process.hrtime.bigint();
    sink += selectTopups(c.deficit, c.packages).packageCount;
    return Number(process.hrtime.bigint() - t0) / 1000;
  });
  if (sink < 0) console.log(sink);
  return out.sort((a, b) => a - b);
}

const fmt = (us: number): string => `${(us / 1000).toFixed(3)} ms`;

function report(label: string, cases: Case[]): void {
  const lat = latencies(cases);
  const traces = cases.map((c) => traceSelectTopups(c.deficit, c.packages));
  const nodes = traces.map((t) => t.nodes).sort((a, b) => a - b);
  console.log(`${label} (${cases.length} cases)`);
  console.log(`  selectTopups latency: median ${fmt(quantile(lat, 0.5))}, p99 ${fmt(quantile(lat, 0.99))}, max ${fmt(lat.at(-1)!)}`);
  console.log(
    `  search nodes: median ${quantile(nodes, 0.5)}, p99 ${quantile(nodes, 0.99)}, max ${nodes.at(-1)}; ` +
      `exact fallback used in ${traces.filter((t) => t.fallback).length} cases`,
  );

  const overpays = cases.map((c, i) => {
    const best = traces[i]!.selection.totalPriceMinor;
    const greedy = greedySelectTopups(c.deficit, c.packages).totalPriceMinor;
    return { minor: greedy - best, percent: ((greedy - best) / best) * 100 };
  });
  const paying = overpays.filter((o) => o.minor > 0);
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const minor = overpays.map((o) => o.minor);
  const percent = overpays.map((o) => o.percent).sort((a, b) => a - b);
  console.log('  greedy (buy the best price-per-credit package until covered) vs selectTopups:');
  console.log(`    cases where greedy overpays: ${paying.length} / ${cases.length} (${((paying.length / cases.length) * 100).toFixed(1)}%)`);
  console.log(
    `    overpay per case: mean ${mean(minor).toFixed(0)} minor units (${mean(percent).toFixed(2)}%), ` +
      `median ${quantile(percent, 0.5).toFixed(2)}%, max ${Math.max(...minor)} minor units (${percent.at(-1)!.toFixed(2)}%)`,
  );
  console.log(`    mean overpay where greedy overpays: ${mean(paying.map((o) => o.minor)).toFixed(0)} minor units`);
}

report('Volume-discount price lists, deficit 1..10,000,000, 20 packages', volumeDiscountCases(20_240_601, CASES));
console.log('');
report('Informational: flat-rate tiers, random sizes (subset-sum-like)', flatTierCases(7, 200));
