// The usage path's refusal text (issue #17): the per-request cost of a refusal's message read
// through i18next (`localize`, what other API answers do) beside the start-up table the usage
// routes use (src/web/api/text.ts fixedTexts), and of picking the language from Accept-Language
// (parsed per request beside remembered per header value). Interleaved rounds in one process.
//
//   npx tsx bench/usage-messages.ts        BENCH_CALLS (per round, default 200,000), BENCH_ROUNDS (5)
import { localize, pickLanguage, tFor } from '../src/i18n/i18n';
import { usageErrors } from '../src/usage/usage-recorder';
import { fixedTexts } from '../src/web/api/text';

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const log = (s = '') => process.stdout.write(`${s}\n`);

const messages = Object.values(usageErrors).map((r) => (r() as { message: string }).message);
const table = fixedTexts(messages);
const header = 'tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7';
const remembered = new Map<string, 'en' | 'tr'>();

let sink = 0;
const cases: Record<string, (i: number) => void> = {
  'i18next (localize)': (i) => void (sink += localize(tFor('tr'), messages[i % messages.length]!).length),
  'start-up table': (i) => void (sink += table('tr', messages[i % messages.length]!).length),
  'Accept-Language parsed': () => void (sink += pickLanguage({ acceptLanguage: header }).length),
  'Accept-Language remembered': () => {
    let l = remembered.get(header);
    if (!l) remembered.set(header, (l = pickLanguage({ acceptLanguage: header })));
    sink += l.length;
  },
};

const totals: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) fn(i);
    totals[name]!.push(Number(process.hrtime.bigint() - t0) / CALLS);
  }
}
log(`ns per call, median of ${ROUNDS} interleaved rounds of ${CALLS.toLocaleString('en-US')} calls`);
for (const [name, ns] of Object.entries(totals)) log(`${name.padEnd(28)} ${ns.sort((a, b) => a - b)[Math.floor(ns.length / 2)]!.toFixed(0).padStart(8)} ns`);
log(`(checksum ${sink})`);
