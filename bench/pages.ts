// Console pages benchmark (issue 16): an agency with 10,000 clients and a year of history; its
// dashboard and billing pages under a fixed 200 requests per second, each page's p50/p99 printed
// beside a static file served by the same app in the same run. Speed is measured, not asserted:
// it prints PASS/MISS per page (target: p99 under 50 ms) and always exits 0.
//
// The contenders take turns (static, then each page, per round), so a machine whose speed drifts
// slows them alike. The server is the real one (child process, production mode, real Postgres).
//
//   npx tsx bench/pages.ts
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench_pages (dropped and rebuilt)
//   BENCH_SECONDS       seconds per page per round at the fixed rate (default 5)
//   BENCH_ROUNDS        rounds (default 3)
//   BENCH_RATE          requests per second (default 200); 0: as fast as the server answers (see BENCH_CONNECTIONS)
//   BENCH_CONNECTIONS   with BENCH_RATE=0, requests in flight at once (default 4): the rate sustained
//                       then is what a page costs the machine (Node and Postgres), beyond queueing
//   BENCH_CLIENTS       sub-accounts (default 10000)
//   BENCH_REUSE         1: keep the data of the last run (no drop, no seeding)
//   BENCH_BASE_DIR      other checkouts, comma-separated (each (say `git archive <ref> | tar -x -C dir`, node_modules
//                       with node_modules linked): their servers run beside this one on the same
//                       data, every page measured on each, alternately within each round (before and
//                       after in one run; a server is named by its directory's name)
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import { openDatabase, type Db } from '../db/client';
import { hashPassword } from '../src/lib/password';
import { rowsOf } from '../src/lib/rows';
import { startServer } from './lib/child-server';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kontor_bench_pages';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10_000);
const REUSE = process.env.BENCH_REUSE === '1';
const BASE_DIR = process.env.BENCH_BASE_DIR;
const TARGET_P99_MS = 50;
const EMAIL = 'owner@bench.test';
const PASSWORD = 'bench-password-1';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const log = (s = '') => process.stdout.write(`${s}\n`);

/**
 * One agency (owner with the billing permission), CLIENTS clients, and a year to "today" of what a
 * running agency accumulates: each client on a monthly package with 12 monthly invoices (two lines
 * each; the last one open, 5% of clients with two overdue ones), their payments, a purchase, 12
 * monthly grants and 52 weekly usage debits in the ledger, and the pool's daily movements.
 */
async function seed(db: Db, today: string) {
  await rebuildSchema(db);
  const agencyId = 'agy_bench';
  const n = sql`generate_series(1, ${CLIENTS}::int) as n`;
  const hash = await hashPassword(PASSWORD, 10);
  const months = sql`generate_series(0, 11) as m`;
  // The month m months before this one (m = 0: the current month, whose invoice is still open).
  const monthStart = sql`(date_trunc('month', ${today}::date) - make_interval(months => m))::date`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into platform (id, name) values ('plt_default', 'Kontor') on conflict do nothing`);
    await tx.execute(sql`insert into agencies (id, platform_id, name, reselling_module) values (${agencyId}, 'plt_default', 'Bench agency', true)`);
    await tx.execute(sql`insert into users (id, email, name, password_hash) values ('usr_bench', ${EMAIL}, 'Bench owner', ${hash})`);
    await tx.execute(sql`insert into memberships (id, user_id, scope, agency_id, role, billing) values ('mbr_bench', 'usr_bench', 'agency', ${agencyId}, 'owner', true)`);
    await tx.execute(sql`insert into sub_accounts (id, agency_id, name, billing_email) select 'sub_b_' || n, ${agencyId}, 'Client ' || n, 'client' || n || '@bench.test' from ${n}`);
    await tx.execute(sql`
      insert into billing_subscriptions (id, agency_id, sub_account_id, buyer_id, seller_agency_id, package_id, name, kind, billing, monthly_price_minor, currency, start_day)
      select 'bsb_b_' || n, ${agencyId}, 'sub_b_' || n, 'sub_b_' || n, ${agencyId}, 'off_bench', 'Support desk ' || (1 + n % 3), 'package', 'monthly', 49900 + (n % 3) * 25000, 'TRY', (date_trunc('month', ${today}::date) - interval '12 months')::date
      from ${n}`);
    // Invoices: number per seller is gapless; the current month's is open, two older ones of every 20th client are overdue.
    await tx.execute(sql`
      insert into invoices (id, agency_id, sub_account_id, buyer_id, seller_agency_id, seller_key, number, kind, period, period_start, period_end, issue_day, due_day, currency, total_minor, status, subscription_id, paid_at)
      select 'inv_b_' || n || '_' || m, ${agencyId}, 'sub_b_' || n, 'sub_b_' || n, ${agencyId}, ${agencyId}, row_number() over (order by m desc, n), 'monthly',
             to_char(${monthStart}, 'YYYY-MM'), ${monthStart}, (${monthStart} + interval '1 month' - interval '1 day')::date,
             (${monthStart} + interval '1 month')::date - (case when m = 0 then 0 else 0 end), (${monthStart} + interval '1 month' + interval '10 days')::date,
             'TRY', 59900 + (n % 3) * 25000,
             'draft',
             'bsb_b_' || n,
             case when m = 0 or (n % 20 = 0 and m in (1, 2)) then null else (${monthStart} + interval '1 month' + interval '2 days')::timestamptz end
      from ${n}, ${months}`);
    await tx.execute(sql`
      insert into invoice_lines (id, invoice_id, agency_id, position, kind, description, unit_price_minor, amount_minor)
      select i.id || '_' || p, i.id, ${agencyId}, p, case when p = 1 then 'package' else 'extra' end, case when p = 1 then 'Support desk' else 'Extra sessions' end,
             case when p = 1 then i.total_minor - 10000 else 10000 end, case when p = 1 then i.total_minor - 10000 else 10000 end
      from invoices i, generate_series(1, 2) as p where i.agency_id = ${agencyId}`);
    // Issued once their lines are written (an issued invoice's lines never change: docs/credit-notes.md).
    await tx.execute(sql`update invoices set status = case when paid_at is null then 'open' else 'paid' end where agency_id = ${agencyId} and status = 'draft'`);
    await tx.execute(sql`
      insert into payments (id, seller_agency_id, buyer_agency_id, buyer_sub_account_id, purpose, reference_id, amount_minor, currency, gateway, status, confirmed_at, created_at)
      select 'pay_' || i.id, ${agencyId}, ${agencyId}, i.sub_account_id, 'invoice', i.id, i.total_minor, 'TRY', 'nestpay', 'confirmed', i.paid_at, i.paid_at
      from invoices i where i.status = 'paid'`);
    await tx.execute(sql`update invoices set payment_id = 'pay_' || id where status = 'paid'`);
    await tx.execute(sql`insert into offers (id, kind, current_version_id, seller_agency_id) values ('off_bench_pack', 'credit_pack', 'ofv_bench_pack', ${agencyId})`);
    await tx.execute(sql`insert into offer_versions (id, offer_id, version, name, billing, price_minor, currency, credits) values ('ofv_bench_pack', 'off_bench_pack', 1, 'Starter credits', 'one_off', 14950, 'TRY', 1000)`);
    await tx.execute(sql`
      insert into purchases (id, agency_id, sub_account_id, package_id, package_version_id, type, price_minor, currency, payment_method, status, paid_at, granted_at, created_at)
      select 'pur_b_' || n, ${agencyId}, 'sub_b_' || n, 'off_bench_pack', 'ofv_bench_pack', 'credit', 14950, 'TRY', 'gateway', 'granted',
             ${today}::date - (n % 365) * interval '1 day', ${today}::date - (n % 365) * interval '1 day', ${today}::date - (n % 365) * interval '1 day'
      from ${n}`);
    // The ledger: the pool, then each client's monthly grants and weekly usage.
    await tx.execute(sql`insert into credit_accounts (id, agency_id, balance) values ('cra_pool', ${agencyId}, 5000000)`);
    await tx.execute(sql`insert into credit_accounts (id, agency_id, sub_account_id, balance) select 'cra_b_' || n, ${agencyId}, 'sub_b_' || n, 800 from ${n}`);
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, delta, balance_after, reason, reference, created_at)
      select 'cra_pool', ${agencyId}, case when d % 30 = 0 then 1000000 else -20000 end, 5000000, case when d % 30 = 0 then 'transfer_in' else 'transfer_out' end, 'bench', ${today}::date - d * interval '1 day' + interval '12 hours'
      from generate_series(0, 364) as d`);
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at)
      select 'cra_b_' || n, ${agencyId}, 'sub_b_' || n, 1000, 1000, 'grant', 'bench', ${monthStart} + interval '9 hours'
      from ${n}, ${months}`);
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at)
      select 'cra_b_' || n, ${agencyId}, 'sub_b_' || n, -50, 800, 'consume', null, ${today}::date - w * interval '7 days' + (n % 600) * interval '1 minute'
      from ${n}, generate_series(0, 51) as w`);
  });
  await db.execute(sql`analyze`);
}

interface Figures { p50: number; p99: number; rps: number; non2xx: number; errors: number; n: number }

/** GETs `pagePath` at a fixed overall rate for SECONDS (RATE 0: as fast as it answers); latencies in ms. */
async function measure(url: string, pagePath: string, cookie: string): Promise<Figures> {
  const r = await autocannon({
    url: `${url}${pagePath}`,
    ...(RATE > 0 ? { connections: 20, overallRate: RATE } : { connections: CONNECTIONS }),
    duration: SECONDS,
    headers: { cookie, 'x-forwarded-proto': 'https' },
  });
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, non2xx: r.non2xx, errors: r.errors + r.timeouts, n: r.requests.total };
}

/** Signs the owner in like a browser (CSRF token from the form) and returns the session cookie. */
async function signIn(url: string): Promise<string> {
  const headers = { 'x-forwarded-proto': 'https' };
  const form = await fetch(`${url}/login`, { headers });
  const cookie0 = (form.headers.getSetCookie()[0] ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, cookie: cookie0, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email: EMAIL, password: PASSWORD }).toString(),
  });
  const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0];
  if (res.status !== 302 || !cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie;
}

async function main() {
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  log(`load average at the start: ${load()}`);
  if (!REUSE) {
    await ensureBenchDatabase(DB_URL);
    const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 2 });
    const db = database.db;
    const today = new Date().toISOString().slice(0, 10);
    const t0 = Date.now();
    await seed(db, today);
    const [rows] = rowsOf<{ invoices: number; ledger: number }>(await db.execute(sql`select (select count(*) from invoices)::int as invoices, (select count(*) from credit_ledger)::int as ledger`));
    log(`seeded ${CLIENTS.toLocaleString('en-US')} clients, ${Number(rows?.invoices).toLocaleString('en-US')} invoices, ${Number(rows?.ledger).toLocaleString('en-US')} ledger entries in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await database.close();
  }

  const env = {
    DATABASE_URL: DB_URL, NODE_ENV: 'production', TRUST_PROXY: 'true', SESSION_SECRET: randomBytes(24).toString('hex'), SECRET_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    DEMO: 'false', LOG_LEVEL: 'warn', REDIS_URL: '', DATA_DIR: path.join(os.tmpdir(), 'kontor-bench-pages'), API_RATE_LIMITS: 'usage=100000000,read=100000000,write=100000000',
  };
  const servers: { name: string; url: string; stop: () => Promise<void>; cookie: string }[] = [];
  try {
    for (const dir of (BASE_DIR ?? '').split(',').filter(Boolean)) {
      const base = await startServer(path.join(path.resolve(dir), 'src/server.ts'), env);
      servers.push({ name: path.basename(dir), url: base.url, stop: () => base.stop(), cookie: '' });
    }
    const app = await startServer(path.join(root, 'src/server.ts'), env);
    servers.push({ name: BASE_DIR ? 'this' : '', url: app.url, stop: () => app.stop(), cookie: '' });
    for (const s of servers) s.cookie = await signIn(s.url);
    const pages = [
      { name: 'static file (baseline)', path: '/assets/css/app.css' },
      { name: 'agency dashboard', path: '/agency' },
      { name: 'clients list', path: '/agency/sub-accounts' },
      { name: 'issued invoices', path: '/agency/invoices' },
      { name: 'purchases', path: '/agency/purchases' },
      { name: 'one client', path: `/agency/sub-accounts/sub_b_${Math.ceil(CLIENTS / 2)}` },
    ];
    const label = (p: { name: string }, s: { name: string }) => (s.name ? `${p.name} [${s.name}]` : p.name);
    for (const p of pages) {
      for (const s of servers) {
        const res = await fetch(`${s.url}${p.path}`, { headers: { cookie: s.cookie, 'x-forwarded-proto': 'https' }, redirect: 'manual' });
        if (res.status !== 200) throw new Error(`${p.path} answered ${res.status}`);
        await res.arrayBuffer();
        await measure(s.url, p.path, s.cookie); // warm-up round (plans, caches, JIT)
      }
    }
    const all = new Map<string, Figures[]>(pages.flatMap((p) => servers.map((s) => [label(p, s), []] as [string, Figures[]])));
    for (let round = 1; round <= ROUNDS; round++) {
      // Each page on each server, alternately (the servers' order swaps every round).
      for (const p of pages) for (const s of round % 2 ? servers : [...servers].reverse()) all.get(label(p, s))!.push(await measure(s.url, p.path, s.cookie));
      log(`round ${round}/${ROUNDS} done, load average ${load()}`);
    }
    log('');
    const rateOf = RATE > 0 ? `${RATE} requests/s` : `as fast as answered with ${CONNECTIONS} connections`;
    log(`${rateOf} for ${SECONDS} s per page per round, ${ROUNDS} rounds (interleaved); latency in ms; load average at the end ${load()}`);
    log(`${'page'.padEnd(42)}p50 (per round)        p99 (per round)        worst p99  non-2xx  errors  target p99<50ms`);
    for (const p of pages) {
      for (const s of servers) {
        const f = all.get(label(p, s))!;
        if (RATE === 0) {
          log(`${label(p, s).padEnd(42)}requests/s per round: ${f.map((x) => Math.round(x.rps)).join(' / ')}; p50 ${f.map((x) => x.p50).join(' / ')} ms; non-2xx ${f.reduce((n, x) => n + x.non2xx, 0)}`);
          continue;
        }
        const worst = Math.max(...f.map((x) => x.p99));
        const bad = f.reduce((n, x) => n + x.non2xx, 0), errs = f.reduce((n, x) => n + x.errors, 0);
        const verdict = p === pages[0] ? '(baseline)' : worst < TARGET_P99_MS && bad === 0 && errs === 0 ? 'PASS' : 'MISS';
        log(`${label(p, s).padEnd(42)}${f.map((x) => x.p50).join(' / ').padEnd(23)}${f.map((x) => x.p99).join(' / ').padEnd(23)}${String(worst).padEnd(11)}${String(bad).padEnd(9)}${String(errs).padEnd(8)}${verdict}`);
      }
    }
    for (const s of servers) log(`baseline p99 per round${s.name ? ` [${s.name}]` : ''}: ${all.get(label(pages[0]!, s))!.map((x) => x.p99).join(' / ')} ms (the machine's own noise at this rate)`);
  } finally {
    await new Promise((r) => setTimeout(r, 1000)); // the last requests of the load answer before the server stops
    for (const s of servers) await s.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
