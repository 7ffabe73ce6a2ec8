// Benchmark of webhook delivery (`npx tsx bench/webhooks.ts`, issue #19).
//
// On real Postgres: BENCH_ENDPOINTS endpoints (two per seller) on one local receiver (a child
// process answering 200 on /e/<n>), BENCH_EVENTS events each fanned out to both endpoints of its
// seller, seeded set-based (the emit path is not what is measured). Then, in the same run:
//   1. a bare HTTP client (keep-alive, the same concurrency) POSTs the same payloads to the same
//      URLs, no database, no signing;
//   2. Kontor's worker loop (deliverDueWebhooks: claim with a lease, sign, send, log each attempt,
//      record the outcome) delivers every delivery.
// Prints both rates, the ratio and PASS/MISS for "at least half the bare rate"; checks the
// receiver counted every delivery and the database has every delivery succeeded. Figures only.
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench_webhooks (dropped and rebuilt)
//   BENCH_EVENTS        default 100000
//   BENCH_ENDPOINTS     default 1000
//   BENCH_CONCURRENCY   default 64 (requests in flight, both clients)
//   BENCH_BATCH         default 1000 (deliveries claimed at once)
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { systemClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { rowsOf } from '../src/lib/rows';
import { SecretBox } from '../src/payments/secret-box';
import { InlineQueue } from '../src/queue';
import { deliverDueWebhooks, eventBody } from '../src/webhooks/deliver';
import { createAgents, signatureHeader } from '../src/webhooks/sender';
import { systemResolver } from '../src/webhooks/url-safety';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kontor_bench_webhooks';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const SELLERS = Math.max(1, Math.floor(ENDPOINTS / 2));
const log = (s = '') => process.stdout.write(`${s}\n`);

// The receiver: its own process, so it does not share the senders' event loop.
const RECEIVER = `
const http = require('http'); let n = 0;
const s = http.createServer((q, r) => {
  if (q.method === 'GET') { r.end(String(n)); return; }
  q.on('data', () => {}); q.on('end', () => { n++; r.writeHead(200, { 'content-type': 'application/json' }); r.end('{"received":true}'); });
});
s.keepAliveTimeout = 120000;
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));`;

async function startReceiver(): Promise<{ base: string; count(): Promise<number>; stop(): void }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const base = `http://127.0.0.1:${port}`;
  const count = () => new Promise<number>((resolve, reject) => http.get(`${base}/count`, (res) => {
    let t = '';
    res.on('data', (c: Buffer) => (t += c.toString()));
    res.on('end', () => resolve(Number(t)));
  }).on('error', reject));
  return { base, count, stop: () => child.kill() };
}

async function main() {
  await ensureBenchDatabase(DB_URL);
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 10 });
  const db = database.db;
  await rebuildSchema(db);
  const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: DB_URL });
  const receiver = await startReceiver();
  log(`webhooks bench: ${EVENTS.toLocaleString('en-US')} events, ${ENDPOINTS.toLocaleString('en-US')} endpoints (${SELLERS} sellers x 2), ${(EVENTS * 2).toLocaleString('en-US')} deliveries, concurrency ${CONCURRENCY}, batch ${BATCH}; ${os.cpus().length} CPUs, Node ${process.version}`);

  // Seed: endpoints with sealed secrets, events and their deliveries (two per event), all due now.
  const t0 = performance.now();
  const box = new SecretBox(config.secretKeys);
  const ids = Array.from({ length: ENDPOINTS }, (_, i) => `whe_b${String(i).padStart(5, '0')}`);
  const sealed = ids.map((id) => box.seal(`whsec_bench_${id}`, id));
  await db.execute(sql`
    insert into webhook_endpoints (id, seller_key, seller_agency_id, url, events, secret, secret_hint)
    select e.id, 'agy_b' || ((e.n - 1) / 2), 'agy_b' || ((e.n - 1) / 2), ${receiver.base} || '/e/' || (e.n - 1), '{invoice.paid}', e.secret, '••••bench'
    from unnest(${`{${ids.join(',')}}`}::text[], ${`{${sealed.map((s) => `"${s}"`).join(',')}}`}::text[]) with ordinality as e(id, secret, n)`);
  await db.execute(sql`
    insert into webhook_events (id, type, agency_id, sub_account_id, data, created_at)
    select 'evt_b' || g, 'invoice.paid', 'agy_b' || (g % ${SELLERS}), 'sub_b' || g,
      jsonb_build_object('account', jsonb_build_object('agencyId', 'agy_b' || (g % ${SELLERS}), 'subAccountId', 'sub_b' || g),
        'invoiceId', 'inv_b' || g, 'number', 'INV-' || lpad(g::text, 6, '0'), 'totalMinor', 10000 + g, 'currency', 'TRY', 'paidAt', now(), 'paymentId', 'pay_b' || g),
      now() - interval '1 minute'
    from generate_series(1, ${EVENTS}) g`);
  await db.execute(sql`
    insert into webhook_deliveries (id, event_id, endpoint_id, seller_key, status, attempts, next_attempt_at, window_start)
    select 'whd_b' || ev.id || '_' || e.id, ev.id, e.id, e.seller_key, 'pending', 0, ev.created_at, ev.created_at
    from webhook_events ev join webhook_endpoints e on e.seller_key = ev.agency_id`);
  await db.execute(sql`vacuum analyze webhook_deliveries`).catch(() => undefined);
  const total = Number(rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from webhook_deliveries`))[0]!.n);
  log(`seeded ${total.toLocaleString('en-US')} deliveries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 1. The bare client: the same bodies to the same URLs.
  const events = rowsOf<{ id: string; type: string; data: unknown; created_at: Date; agency_id: string }>(await db.execute(sql`select id, type, data, created_at, agency_id from webhook_events`));
  const jobs: { url: string; body: string }[] = [];
  for (const e of events) {
    const seller = Number(e.agency_id.slice(5));
    const body = eventBody(e);
    jobs.push({ url: `${receiver.base}/e/${seller * 2}`, body }, { url: `${receiver.base}/e/${seller * 2 + 1}`, body });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (j: { url: string; body: string }) => new Promise<void>((resolve, reject) => {
    const req = http.request(j.url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(j.body) } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(j.body);
  });
  const before = await receiver.count();
  const tb = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < jobs.length) await post(jobs[next++]!);
  }));
  const bareS = (performance.now() - tb) / 1000;
  agent.destroy();
  const bareCount = (await receiver.count()) - before;
  const bareRate = jobs.length / bareS;
  log(`bare HTTP client: ${jobs.length.toLocaleString('en-US')} posts in ${bareS.toFixed(1)} s = ${Math.round(bareRate).toLocaleString('en-US')}/s (receiver counted ${bareCount.toLocaleString('en-US')})`);
  // The signing alone, for the record (Kontor signs every attempt).
  const ts = performance.now();
  for (let i = 0; i < 20_000; i++) signatureHeader('whsec_bench', jobs[i % jobs.length]!.body, new Date());
  log(`signing: ${Math.round(20_000 / ((performance.now() - ts) / 1000)).toLocaleString('en-US')} signatures/s`);

  // 2. Kontor's delivery loop.
  const deps = { db, clock: systemClock, config, queue: new InlineQueue(createLogger('silent')), logger: createLogger('silent') };
  const agents = createAgents(CONCURRENCY);
  const before2 = await receiver.count();
  const tk = performance.now();
  const run = await deliverDueWebhooks(deps, { resolve: systemResolver, batchSize: BATCH, concurrency: CONCURRENCY, budgetMs: Number.POSITIVE_INFINITY, agents });
  const kontorS = (performance.now() - tk) / 1000;
  agents.destroy();
  const kontorCount = (await receiver.count()) - before2;
  const kontorRate = run.attempted / kontorS;
  const state = rowsOf<{ status: string; n: string }>(await db.execute(sql`select status, count(*) as n from webhook_deliveries group by status`));
  const logged = rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from webhook_attempts`))[0]!.n;
  log(`Kontor worker:    ${run.attempted.toLocaleString('en-US')} deliveries in ${kontorS.toFixed(1)} s = ${Math.round(kontorRate).toLocaleString('en-US')}/s (receiver counted ${kontorCount.toLocaleString('en-US')}; ${state.map((s) => `${s.status} ${Number(s.n).toLocaleString('en-US')}`).join(', ')}; ${Number(logged).toLocaleString('en-US')} attempts logged)`);
  const ratio = kontorRate / bareRate;
  log(`ratio Kontor/bare: ${ratio.toFixed(2)} -> ${ratio >= 0.5 ? 'PASS' : 'MISS'} (target: at least 0.50)`);
  if (kontorCount !== total || run.succeeded !== total) log(`CHECK FAILED: expected ${total} deliveries, receiver counted ${kontorCount}, succeeded ${run.succeeded}`);
  receiver.stop();
  await database.close();
}

await main();
