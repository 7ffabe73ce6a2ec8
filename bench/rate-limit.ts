// The usage routes' rate limit on the hot path (issue #19): the CPU time one request spends in the
// limiter's middleware, beside the same request through a middleware that only sets the same five
// headers and calls next (the baseline), measured in one process, interleaved in rounds, on real
// http.ServerResponse objects. bench/usage.ts measures whole requests; on a loaded machine its
// noise hides a cost this small, so this isolates it. The figure to compare it with is the app
// server's CPU per usage request in bench/usage.ts (about 200 us on the 2-core machine).
//
//   npx tsx bench/rate-limit.ts        BENCH_CALLS (per round, default 1,000,000), BENCH_ROUNDS (5), BENCH_KEYS (1 = one hot key; 10000)
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { RateLimiter } from '../src/web/rate-limit';

const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const KEYS = Number(process.env.BENCH_KEYS ?? 1);
const log = (s = '') => process.stdout.write(`${s}\n`);

const limiter = new RateLimiter({ usage: 600_000_000, read: 6_000, write: 1_200 }, () => Date.now());
const limited = limiter.middleware('usage');
const baseline: RequestHandler = (_req, res, next) => {
  res.setHeader('RateLimit-Limit', '600000');
  res.setHeader('RateLimit-Remaining', '599999');
  res.setHeader('RateLimit-Reset', '60');
  res.setHeader('RateLimit-Policy', '"usage";q=600000;w=60');
  res.setHeader('RateLimit', '"usage";r=599999;t=60');
  next();
};

const socket = new Socket();
const requests = Array.from({ length: Math.min(KEYS, 10_000) }, (_, i) => {
  const req = new IncomingMessage(socket) as unknown as Request;
  Object.assign(req, { method: 'POST', actor: { kind: 'api_key', id: `key_${i}` }, id: `r${i}` });
  return req;
});

function run(mw: RequestHandler): number {
  let nexts = 0;
  const next = () => void nexts++;
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) {
    const req = requests[i % requests.length]!;
    const res = new ServerResponse(req as unknown as IncomingMessage) as unknown as Response;
    mw(req, res, next);
  }
  const d = process.cpuUsage(t0);
  if (nexts !== CALLS) throw new Error(`only ${nexts} of ${CALLS} requests were admitted`);
  return ((d.user + d.system) * 1000) / CALLS; // ns per request
}

log(`${CALLS.toLocaleString('en')} requests per round, ${ROUNDS} rounds, ${requests.length.toLocaleString('en')} key(s); CPU ns per request (ServerResponse creation included in both)`);
log('round  baseline  limiter  difference');
const diffs: number[] = [];
run(baseline);
run(limited); // warm-up
for (let r = 1; r <= ROUNDS; r++) {
  const b = run(baseline);
  const l = run(limited);
  diffs.push(l - b);
  log(`${String(r).padStart(5)}  ${b.toFixed(0).padStart(8)}  ${l.toFixed(0).padStart(7)}  ${(l - b).toFixed(0).padStart(10)}`);
}
diffs.sort((a, b) => a - b);
const median = diffs[Math.floor(diffs.length / 2)]!;
log(`median cost of the limiter over the baseline: ${median.toFixed(0)} ns per request (${((median / 200_000) * 100).toFixed(2)}% of ~200 us of server CPU per usage request)`);
