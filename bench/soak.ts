// Soak test (issue #20, "Many processes at once"): three web processes and two workers on one
// Postgres and one Redis, behind a round-robin proxy, under mixed traffic (usage, purchases,
// agency top-ups and invoices paid through the Stripe sandbox, webhook replays, test-clock month
// ends) while a web process and a worker are killed with SIGKILL now and then (and restarted, as
// a supervisor would) and the app's database connections are terminated at random. Then the
// workers drain and the database is checked against itself and against every answer given.
// Prints the figures; exits 1 if a check fails, 2 if Postgres or Redis is not configured.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/soak.ts
//   SOAK_SECONDS        traffic time (default 60; a long run: 600 or more)
//   SOAK_DRAIN_SECONDS  longest wait for the workers to finish afterwards (default 150)
//   SOAK_USAGE_CLIENTS  concurrent usage clients (default 6)
//   SOAK_KEEP=true      keep the database, the queue and the mail folders for a look afterwards
//
// A database `kontor_soak_<pid>` is created next to DATABASE_URL's and dropped at the end, and
// the queue uses its own Redis prefix. The sandboxes keep their state in memory, so they run in a
// fourth web process of their own (the "bank"), which is never killed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue, createNodeRedisClient } from 'bullmq';
import postgres from 'postgres';
import { createClient } from 'redis';
import { DEMO_KEYS } from '../src/demo/seed';
import { freePort } from './lib/child-server';
import { startProxy, Supervisor, type Proc } from './lib/soak-cluster';
import { runChecks, type UsageOk } from './lib/soak-checks';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const DRAIN_SECONDS = Number(process.env.SOAK_DRAIN_SECONDS ?? 150);
const USAGE_CLIENTS = Number(process.env.SOAK_USAGE_CLIENTS ?? 6);
const KEEP = process.env.SOAK_KEEP === 'true';
const BASE_DB = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (a: number, b: number) => a + Math.random() * (b - a);
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

if (!BASE_DB || !REDIS_URL) {
  process.stderr.write('bench/soak.ts needs a real Postgres and Redis: set DATABASE_URL (a database on the server to use; the soak creates and drops its own beside it) and REDIS_URL.\n');
  process.exit(2);
}

const tag = `soak_${process.pid}`;
const dbName = `kontor_${tag}`;
const dbUrl = (() => { const u = new URL(BASE_DB); u.pathname = `/${dbName}`; return u; })();
const adminUrl = (() => { const u = new URL(BASE_DB); u.pathname = '/postgres'; return u.toString(); })();
const appUrl = (name: string) => { const u = new URL(dbUrl); u.searchParams.set('application_name', `${tag}_${name}`); return u.toString(); };
const queuePrefix = `kontor-${tag}`;
const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-soak-'));

// --- figures -------------------------------------------------------------------------------------
const requests = new Map<string, number>();
const count = (kind: string, status: number | string, body?: Record<string, unknown>) => {
  const k = `${kind} ${status}${body && typeof body.error === 'string' && Number(status) >= 400 && Number(status) < 500 ? ` ${body.error}` : ''}`;
  requests.set(k, (requests.get(k) ?? 0) + 1);
};
const chaos = { webKills: 0, workerKills: 0, terminations: 0, terminatedBackends: 0 };
const usageOk: UsageOk[] = [];
const createdPurchaseIds: string[] = [];
const chargedOrderIds: string[] = [];
const chargedInvoicePaymentIds: string[] = [];
const immediateFailures: string[] = [];
let monthEnds = 0;
const timings: Record<string, number> = {};

async function run(cmd: string[], env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...cmd], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited with ${code}:\n${out}`);
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let checker: postgres.Sql | undefined;
let queue: BullQueue | undefined;
let supervisor: Supervisor | undefined;
let proxyClose: (() => Promise<void>) | undefined;

async function cleanUp(): Promise<void> {
  await supervisor?.stopAll().catch(() => {});
  await proxyClose?.().catch(() => {});
  if (!KEEP) await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close().catch(() => {});
  await checker?.end().catch(() => {});
  if (!KEEP) {
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch((e) => log(`could not drop ${dbName}: ${e}`));
    fs.rmSync(dataRoot, { recursive: true, force: true });
  } else log(`kept: database ${dbName}, queue prefix ${queuePrefix}, files in ${dataRoot}`);
  await admin.end().catch(() => {});
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

async function main(): Promise<boolean> {
  const t0 = Date.now();
  await admin.unsafe(`create database "${dbName}"`);
  // JOB_TIMEOUT_MS: a job attempt whose query postgres.js never settles (a connection terminated at
  // a particular moment: docs/operations.md) fails at its deadline and is retried. The default (10
  // min) is longer than the drain; the soak's jobs are small, so 30 s keeps that recovery inside it
  // (a CI run once ended with one mail job still active after the 120 s drain).
  const baseEnv = { PATH: process.env.PATH ?? '', NODE_ENV: 'development', LOG_LEVEL: 'warn', REDIS_URL: REDIS_URL!, QUEUE_PREFIX: queuePrefix, DEMO: 'false', TEST_CLOCK: 'true', PASSWORD_HASH_COST: '10', DATABASE_POOL_SIZE: '4', GATEWAY_TIMEOUT_MS: '5000', USAGE_TOPUP_WAIT_MS: '500', JOB_TIMEOUT_MS: '30000' };
  await run(['src/cli.ts', 'migrate'], { ...baseEnv, DATABASE_URL: appUrl('cli'), DATA_DIR: path.join(dataRoot, 'cli') });

  // --- the cluster ------------------------------------------------------------------------------
  const webs: Proc[] = [];
  const workers: Proc[] = [];
  let publicUrl = '';
  supervisor = new Supervisor(root, (p) => ({
    ...baseEnv, DATABASE_URL: appUrl(p.name), DATA_DIR: path.join(dataRoot, p.name), PUBLIC_URL: publicUrl, SANDBOX_URL: publicUrl,
    ...(p.port !== null ? { PORT: String(p.port), HOST: '127.0.0.1' } : {}),
  }));
  for (const i of [1, 2, 3]) webs.push(supervisor.add(`web${i}`, 'web', await freePort()));
  for (const i of [1, 2]) workers.push(supervisor.add(`worker${i}`, 'worker', null));
  const gateway = supervisor.add('gateway', 'gateway', await freePort());
  const proxy = await startProxy(webs, gateway);
  proxyClose = proxy.close;
  publicUrl = proxy.url;
  const base = proxy.url;
  // The demo world (platform, Atlas Digital, departments, the sellers' sandbox gateways), seeded with the soak's URLs.
  await run(['src/cli.ts', 'demo', 'seed'], { ...baseEnv, DATABASE_URL: appUrl('cli'), DATA_DIR: path.join(dataRoot, 'cli'), PUBLIC_URL: publicUrl, SANDBOX_URL: publicUrl });
  for (const p of supervisor.procs) supervisor.start(p);
  await supervisor.ready(90_000);
  checker = postgres(appUrl('checker'), { max: 4, onnotice: () => {} });
  const sql = checker;
  queue = new BullQueue('kontor', { connection: createNodeRedisClient(createClient({ url: REDIS_URL })), prefix: queuePrefix });
  timings.startSeconds = (Date.now() - t0) / 1000;

  // --- HTTP through the proxy ----------------------------------------------------------------------
  async function api(key: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      const res = await fetch(`${base}${p}`, { method, headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(20_000) });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = { text }; }
      return { status: res.status, body: json };
    } catch (err) {
      return { status: 0, body: { error: String(err) } };
    }
  }
  async function must(key: string, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      const r = await api(key, method, p, body);
      if (r.status >= 200 && r.status < 300) return r.body;
      if (attempt > 5 || (r.status >= 400 && r.status < 500)) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
      await sleep(300);
    }
  }

  // --- the world: Atlas's clients with keys, departments and credits; monthly plans to invoice ---
  const [atlas] = await sql`select id from agencies where name = 'Atlas Digital'`;
  const atlasId = String(atlas!.id);
  const deps = await sql`select id, credits_per_request from departments where agency_id = ${atlasId}`;
  const departmentIds = deps.map((d) => String(d.id));
  const bpk = Object.fromEntries((await sql`select o.id, v.name from offers o join offer_versions v on v.id = o.current_version_id where o.kind = 'package'`).map((r) => [String(r.name), String(r.id)]));
  await must(DEMO_KEYS.platform, 'POST', `/api/v1/agencies/${atlasId}/adjustments`, { credits: 1_000_000, reason: 'soak' });
  const topup = await must(DEMO_KEYS.platform, 'POST', '/api/v1/topup-packages', { credits: 2000, priceMinor: 1000, currency: 'USD' });
  const creditPack = await must(DEMO_KEYS.atlas, 'POST', '/api/v1/packages', { name: 'Soak pack', type: 'credit', priceMinor: 9990, currency: 'TRY', credits: 500, departmentIds, published: true });
  const subs: { id: string; key: string }[] = [];
  for (let i = 1; i <= 6; i++) {
    const sub = await must(DEMO_KEYS.atlas, 'POST', '/api/v1/sub-accounts', { name: `Soak client ${i}`, billingEmail: `client${i}@soak.test` });
    const id = String(sub.id);
    const key = String((await must(DEMO_KEYS.atlas, 'POST', `/api/v1/sub-accounts/${id}/api-keys`, { name: 'soak' })).key);
    await must(DEMO_KEYS.atlas, 'PUT', `/api/v1/sub-accounts/${id}/departments`, { departmentIds });
    await must(DEMO_KEYS.atlas, 'POST', `/api/v1/sub-accounts/${id}/adjustments`, { credits: 20_000, reason: 'soak' });
    if (i <= 3) await must(key, 'POST', '/api/v1/subscriptions', { packageId: bpk[i === 1 ? 'Live support 5' : 'Chatbot 20k'] });
    subs.push({ id, key });
  }
  await must(DEMO_KEYS.atlas, 'POST', '/api/v1/subscriptions', { packageId: bpk['Support desk 3'] });
  timings.setupSeconds = (Date.now() - t0) / 1000 - timings.startSeconds;

  // --- traffic -------------------------------------------------------------------------------------
  const end = Date.now() + SECONDS * 1000;
  const running = () => Date.now() < end;
  const loops: Promise<void>[] = [];

  // Usage: new conversations, and repeats of answered ones (charged nothing the second time).
  for (let c = 0; c < USAGE_CLIENTS; c++) {
    loops.push((async () => {
      const seen: { sub: number; conv: string; dept: string }[] = [];
      for (let i = 0; running(); i++) {
        const again = seen.length > 0 && Math.random() < 0.25 ? pick(seen) : null;
        const s = again?.sub ?? Math.floor(Math.random() * subs.length);
        const conv = again?.conv ?? `c${c}-${i}`;
        const dept = again?.dept ?? pick(departmentIds);
        const r = await api(subs[s]!.key, 'POST', '/api/v1/usage', { conversationId: conv, departmentId: dept });
        count('usage', r.status, r.body);
        if (r.status === 200) {
          usageOk.push({ subAccountId: subs[s]!.id, conversationId: conv, departmentId: dept, charged: Number(r.body.charged) });
          if (!again) seen.push({ sub: s, conv, dept });
        }
      }
    })());
  }

  // Purchases recorded by the agency (paid offline): the grant runs in a worker. A retry after
  // no answer keeps its Idempotency-Key, as a careful client would.
  loops.push((async () => {
    for (let i = 0; running(); i++) {
      const sub = pick(subs);
      const idem = `soak-${i}`;
      for (let attempt = 0; attempt < 5 && running(); attempt++) {
        const r = await api(DEMO_KEYS.atlas, 'POST', `/api/v1/sub-accounts/${sub.id}/purchases`, { packageId: creditPack.id, payment: 'offline' }, { 'Idempotency-Key': idem });
        count('purchase (offline)', r.status, r.body);
        if (r.status === 201) { createdPurchaseIds.push(String(r.body.id)); break; }
        if (r.status >= 400 && r.status < 500) break;
        await sleep(200);
      }
      await sleep(rand(200, 600));
    }
  })());

  /** The buyer's browser at the Stripe sandbox: pay link -> card page -> paid -> back to the callback. */
  async function payAtStripe(kind: string, goUrl: string, onCharged: () => void, confirmed: () => Promise<string | null>): Promise<void> {
    const go = await fetch(goUrl, { redirect: 'manual' }).catch(() => null);
    count(`${kind}: pay link`, go?.status ?? 0);
    const pageUrl = go?.headers.get('location');
    if (!pageUrl) return;
    const page = await fetch(pageUrl).then(async (r) => ({ status: r.status, html: await r.text() }), () => ({ status: 0, html: '' }));
    const form = /<form method="post" action="([^"]+)" data-sandbox-form>([\s\S]*?)<\/form>/.exec(page.html);
    if (!form) return void count(`${kind}: card page`, page.status);
    const fields = Object.fromEntries([...form[2]!.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    const paid = await fetch(new URL(form[1]!, base), { method: 'POST', body: new URLSearchParams({ ...fields, payment_method: 'pm_card_visa' }), redirect: 'manual' }).catch(() => null);
    count(`${kind}: card paid`, paid?.status ?? 0);
    const back = paid?.status === 303 ? paid.headers.get('location') : null;
    if (!back) return;
    onCharged();
    const cb = await fetch(back).then(async (r) => ({ status: r.status, html: await r.text() }), () => ({ status: 0, html: '' }));
    const ok = cb.status === 200 && cb.html.includes('Payment confirmed');
    count(`${kind}: callback`, ok ? '200 confirmed' : cb.status);
    if (ok) {
      // Answered "confirmed": the effect must be committed by now.
      const missing = await confirmed();
      if (missing) immediateFailures.push(`${kind}: callback said confirmed but ${missing}`);
    }
  }

  // Agency top-ups bought from the platform through the Stripe sandbox (callbacks and webhooks).
  loops.push((async () => {
    while (running()) {
      const r = await api(DEMO_KEYS.atlas, 'POST', '/api/v1/orders', { kind: 'topup', topupPackageId: topup.id });
      count('top-up order', r.status, r.body);
      if (r.status === 201 && typeof r.body.checkoutUrl === 'string') {
        const orderId = String(r.body.id);
        await payAtStripe('top-up', r.body.checkoutUrl, () => chargedOrderIds.push(orderId), async () => {
          const [o] = await sql`select status from agency_orders where id = ${orderId}`;
          return o?.status === 'applied' ? null : `order ${orderId} is ${o?.status}`;
        });
      }
      await sleep(rand(300, 900));
    }
  })());

  // Invoices: the agency pays the platform's through Stripe, and marks its clients' paid (bank transfer).
  loops.push((async () => {
    while (running()) {
      await sleep(rand(500, 1500));
      const own = await api(DEMO_KEYS.atlas, 'GET', '/api/v1/invoices');
      const open = ((own.body.data ?? []) as { id: string; status: string }[]).filter((i) => i.status === 'open');
      if (open.length) {
        const inv = pick(open);
        const r = await api(DEMO_KEYS.atlas, 'POST', `/api/v1/invoices/${inv.id}/pay`, {});
        count('invoice pay (Stripe)', r.status, r.body);
        if (r.status === 201 && typeof r.body.checkoutUrl === 'string') {
          const paymentId = String(r.body.paymentId);
          await payAtStripe('invoice', r.body.checkoutUrl, () => chargedInvoicePaymentIds.push(paymentId), async () => {
            const [i] = await sql`select status from invoices where id = ${inv.id}`;
            return i?.status === 'paid' ? null : `invoice ${inv.id} is ${i?.status}`;
          });
        }
      }
      const issued = await api(DEMO_KEYS.atlas, 'GET', '/api/v1/issued-invoices');
      for (const inv of ((issued.body.data ?? []) as { id: string; status: string }[]).filter((i) => i.status === 'open').slice(0, 2)) {
        const r = await api(DEMO_KEYS.atlas, 'POST', `/api/v1/invoices/${inv.id}/mark-paid`, {});
        count('invoice mark-paid', r.status, r.body);
        if (r.status === 200) {
          const [i] = await sql`select status from invoices where id = ${inv.id}`;
          if (i?.status !== 'paid') immediateFailures.push(`mark-paid answered 200 but invoice ${inv.id} is ${i?.status}`);
        }
      }
    }
  })());

  // Webhooks: replays of events already received (a gateway retrying) must change nothing.
  loops.push((async () => {
    while (running()) {
      await sleep(rand(300, 1000));
      const [h] = await sql`select gateway_account_id, payload, headers from gateway_webhooks where processed_at is not null order by random() limit 1`;
      if (!h) continue;
      const headers = h.headers as Record<string, string>;
      const res = await fetch(`${base}/webhooks/${h.gateway_account_id}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': headers['stripe-signature'] ?? '' }, body: String(h.payload) }).catch(() => null);
      count('webhook replay', res?.status ?? 0);
    }
  })());

  // Month ends: the test clock jumps to just after midnight on the 1st (Istanbul), so the workers
  // cut, deliver and collect invoices; a minute later in clock time, another tick.
  loops.push((async () => {
    const every = Math.max(8, Math.min(30, SECONDS / 5)) * 1000;
    while (Date.now() + every / 2 < end) {
      await sleep(every * rand(0.7, 1.1));
      const now = new Date(String((await must(DEMO_KEYS.platform, 'GET', '/api/v1/test-clock')).now));
      const local = new Date(now.getTime() + 3 * 3_600_000);
      const target = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1, 0, 5) - 3 * 3_600_000;
      const r = await api(DEMO_KEYS.platform, 'POST', '/api/v1/test-clock', { advanceSeconds: Math.ceil((target - now.getTime()) / 1000) });
      count('test clock: month end', r.status);
      if (r.status === 200) monthEnds++;
      await sleep(2000);
      count('test clock: +1 minute', (await api(DEMO_KEYS.platform, 'POST', '/api/v1/test-clock', { advanceSeconds: 60 })).status);
    }
  })());

  // --- chaos -------------------------------------------------------------------------------------
  const chaosLoops: Promise<void>[] = [];
  const killer = (procs: Proc[], firstAt: number, counter: 'webKills' | 'workerKills') => (async () => {
    let at = Date.now() + firstAt * SECONDS * 1000;
    while (running()) {
      await sleep(Math.max(0, Math.min(at, end) - Date.now()));
      if (!running()) break;
      // One at a time: a process still restarting is not killed again.
      await supervisor!.ready(60_000, procs);
      if (supervisor!.kill(pick(procs.filter((p) => p.child)))) chaos[counter]++;
      at = Date.now() + rand(0.25, 0.45) * Math.min(SECONDS, 120) * 1000;
    }
  })();
  chaosLoops.push(killer(webs, 0.3, 'webKills'), killer(workers, 0.45, 'workerKills'));
  chaosLoops.push((async () => {
    while (running()) {
      await sleep(rand(1500, 4500));
      if (!running()) break;
      const target = Math.random() < 0.5 ? `${tag}_%` : `${tag}_${pick([...webs, ...workers]).name}`;
      const [r] = await sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where application_name like ${target} and application_name not in (${`${tag}_checker`}, ${`${tag}_gateway`}, ${`${tag}_cli`})`;
      chaos.terminations++;
      chaos.terminatedBackends += Number(r!.n);
    }
  })());

  await Promise.all([...loops, ...chaosLoops]);
  timings.trafficSeconds = (Date.now() - end) / 1000 + SECONDS;

  // --- drain ---------------------------------------------------------------------------------------
  const drainStart = Date.now();
  await supervisor.ready(60_000);
  let drained = false;
  let lastState = '';
  while (Date.now() - drainStart < DRAIN_SECONDS * 1000) {
    const [s] = await sql`select
      (select count(*) from outbox_emails where status <> 'sent')::int as emails,
      (select count(*) from purchases where status = 'paid')::int as purchases,
      (select count(*) from agency_orders o join payments p on p.reference_id = o.id and p.purpose = 'topup' where o.status = 'paid' or (o.id in ${sql(chargedOrderIds.length ? chargedOrderIds : [''])} and o.status <> 'applied'))::int as orders,
      (select count(*) from payments where id in ${sql(chargedInvoicePaymentIds.length ? chargedInvoicePaymentIds : [''])} and status <> 'confirmed')::int as invoice_payments,
      (select count(*) from invoices where status = 'draft')::int as drafts,
      (select count(*) from gateway_webhooks where processed_at is null)::int as webhooks`;
    const jobs = await queue.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children');
    // The tick's scheduler always holds its next run as a delayed job: count only the others (retries).
    jobs.delayed = (await queue.getJobs(['delayed'])).filter((j) => !j.repeatJobKey).length;
    lastState = `${JSON.stringify(s)} jobs ${JSON.stringify(jobs)}`;
    const busy = Object.values(s!).some((v) => Number(v) > 0) || Object.values(jobs).some((v) => v > 0);
    if (!busy) { drained = true; break; }
    await sleep(1000);
  }
  timings.drainSeconds = (Date.now() - drainStart) / 1000;

  // --- checks --------------------------------------------------------------------------------------
  const mailDirs = supervisor.procs.map((p) => path.join(dataRoot, p.name, 'mail'));
  const { checks, figures } = await runChecks(sql, { usageOk, createdPurchaseIds, chargedOrderIds, chargedInvoicePaymentIds, mailDirs });
  checks.unshift({ name: 'the workers drained (emails sent, purchases granted, payments settled, invoices delivered, queue empty)', ok: drained, detail: drained ? `in ${timings.drainSeconds.toFixed(1)} s` : `still busy after ${DRAIN_SECONDS} s: ${lastState}` });
  checks.push({ name: 'every answer "confirmed" / "paid" was already committed when given', ok: immediateFailures.length === 0, detail: immediateFailures.length ? immediateFailures.slice(0, 5).join('; ') : 'checked right after each answer' });
  const crashes = supervisor.procs.flatMap((p) => p.unexpectedExits.map((e) => `${p.name} exited by itself (code ${e.code}, signal ${e.signal})\n${e.log}`));
  checks.push({ name: 'no process exited by itself (only the SIGKILLs)', ok: crashes.length === 0, detail: crashes.length ? crashes.join('\n---\n') : `${supervisor.procs.reduce((t, p) => t + p.starts, 0)} starts of ${supervisor.procs.length} processes` });

  // --- figures -------------------------------------------------------------------------------------
  timings.totalSeconds = (Date.now() - t0) / 1000;
  log();
  log(`Soak: ${webs.length} web processes, ${workers.length} workers, 1 gateway sandbox process, ${SECONDS} s of traffic`);
  log();
  log('requests (kind, status: count)');
  for (const [k, v] of [...requests.entries()].sort()) log(`  ${k.padEnd(44)} ${String(v).padStart(7)}`);
  log(`  ${'proxy: forwarded / retried on refused / 502'.padEnd(44)} ${proxy.counts.forwarded} / ${proxy.counts.retriedRefused} / ${proxy.counts.badGateway}`);
  log('chaos');
  log(`  web processes SIGKILLed        ${chaos.webKills}`);
  log(`  workers SIGKILLed              ${chaos.workerKills}`);
  log(`  pg_terminate_backend rounds    ${chaos.terminations} (${chaos.terminatedBackends} connections)`);
  log(`  month ends (test clock)        ${monthEnds}`);
  log('database');
  for (const [k, v] of Object.entries(figures).sort()) log(`  ${k.padEnd(31)}${v}`);
  log('time (s)');
  for (const [k, v] of Object.entries(timings)) log(`  ${k.padEnd(31)}${v.toFixed(1)}`);
  log('checks');
  for (const c of checks) log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  const ok = checks.every((c) => c.ok);
  if (!ok) {
    log('\nlast log lines of each process:');
    for (const p of supervisor.procs) log(p.log.slice(-15).map((l) => l.slice(0, 400)).join('\n'));
  }
  const summary = {
    ok, usageOk: usageOk.length, purchases: createdPurchaseIds.length, topupsCharged: chargedOrderIds.length, invoicePaymentsCharged: chargedInvoicePaymentIds.length,
    webKills: chaos.webKills, workerKills: chaos.workerKills, terminatedBackends: chaos.terminatedBackends, monthEnds, invoices: figures.invoices ?? 0, emails: figures.emails ?? 0,
    webhooks: figures.webhooksStored ?? 0, failed: checks.filter((c) => !c.ok).map((c) => c.name),
  };
  log(`\nSOAK_RESULT ${JSON.stringify(summary)}`);
  return ok;
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  log(`soak failed to run: ${err instanceof Error ? err.stack : String(err)}`);
  for (const p of supervisor?.procs ?? []) log(p.log.slice(-15).map((l) => l.slice(0, 400)).join('\n'));
} finally {
  await cleanUp();
}
process.exit(ok ? 0 : 1);
