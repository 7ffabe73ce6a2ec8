// Benchmark of the reports (`npx tsx bench/reports.ts`; issue #17, DESIGN section 11).
//
// On real Postgres: BENCH_EVENTS usage events (remembered conversations, and a "consume" ledger
// entry for each one that cost credits) over BENCH_SUBS sub-accounts of BENCH_AGENCIES agencies
// (sub-account n belongs to agency n % agencies; agency 1 is measured) and BENCH_DAYS days,
// generated with generate_series in time order, five departments per agency (one free), two
// representatives per sub-account (three events in ten name none); per sub-account and month a
// monthly grant and a purchase (paid, or open for one in five); a platform order per agency and
// month. The credit-flow rollup is written by the ledger's trigger as the entries go in; the
// usage rollup is built from the raw rows by the statement of src/reports/rollups.ts (what
// usage_apply writes event by event). Then the sealing job (src/reports/rollup-levels.ts) builds
// the second level for the closed days (every day but the last: the clock is on the last day), as
// the hourly tick would, and is timed (on a reused data set it seals only what is not sealed yet;
// BENCH_RESEAL=1 drops the second level first to time a full sealing again). Then every report
// for agency 1 and the last 90 days, through the use cases the pages and the API call, is timed
// beside the same figures computed by a plain scan of the raw tables (usage_conversations,
// credit_ledger), interleaved round by round. Usage by sub-account and by representative and
// credit flow by account answer their first page (100 groups, with the range's totals and "all
// others"), as the pages and the API do; their CSV exports (every group, written to a sink in
// chunks as to a response) are timed on their own lines. Prints p50/p95 of both, and PASS/MISS for
// the target of 300 ms p95; checks that both give the same totals. Figures only: nothing is
// asserted in tests.
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/bench_h5 (rebuilt unless BENCH_REUSE=1)
//   BENCH_EVENTS        default 10000000
//   BENCH_SUBS          default 10000
//   BENCH_AGENCIES      default 1 (all sub-accounts in the measured agency: its reports read the most)
//   BENCH_DAYS          default 365
//   BENCH_ROUNDS        default 20 (timed runs of each report; the raw scans run in BENCH_RAW_ROUNDS of them)
//   BENCH_RAW_ROUNDS    default 5
//   BENCH_REUSE=1       keep the data of the previous run (same sizes)
//   BENCH_RESEAL=1      with BENCH_REUSE: drop the second level and seal everything again
import { performance } from 'node:perf_hooks';
import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { openDatabase, type Db } from '../db/client';
import type { Actor } from '../src/auth/actor';
import { TestClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { runReportSealing, unsealLocked } from '../src/reports/rollup-levels';
import { rowsOf } from '../src/lib/rows';
import { creditFlowReport } from '../src/reports/credit-flow-report';
import { salesReport } from '../src/reports/sales-report';
import { usageReport } from '../src/reports/usage-report';
import { flowCsv, usageCsv, writeCsv } from '../src/reports/report-csv';
import { Writable } from 'node:stream';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';

const env = (name: string, fallback: number) => Math.max(1, Number(process.env[name] ?? fallback));
const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/bench_h5';
const EVENTS = env('BENCH_EVENTS', 10_000_000);
const SUBS = env('BENCH_SUBS', 10_000);
const AGENCIES = env('BENCH_AGENCIES', 1);
const DAYS = env('BENCH_DAYS', 365);
const ROUNDS = env('BENCH_ROUNDS', 20);
const RAW_ROUNDS = Math.min(ROUNDS, env('BENCH_RAW_ROUNDS', 5));
const REUSE = process.env.BENCH_REUSE === '1';
const RESEAL = process.env.BENCH_RESEAL === '1';
const ZONE = 'Europe/Istanbul';
const RANGE_DAYS = 90;
const TARGET_MS = 300;
/** The day after the last generated day (the clock of the reports): all days are in the past. */
const FIRST_DAY = '2025-06-01';
const log = (s = '') => process.stdout.write(`${s}\n`);

const agencyId = (expr: string) => `'agy_r' || lpad((((${expr}) % ${AGENCIES}) + 1)::text, 4, '0')`;
const subId = (expr: string) => `'sub_r' || lpad((${expr})::text, 6, '0')`;

async function step(name: string, db: Db, statement: SQL | string) {
  const t0 = performance.now();
  await db.execute(typeof statement === 'string' ? sql.raw(statement) : statement);
  log(`  ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Set-based generation of the raw tables, then the rollups built from them. */
async function seed(db: Db) {
  await rebuildSchema(db);
  log(`seeding ${EVENTS.toLocaleString('en-US')} events, ${SUBS.toLocaleString('en-US')} sub-accounts, ${AGENCIES} agencies, ${DAYS} days`);
  const day0 = `'${FIRST_DAY}'::date`;
  await step('tenants, departments, representatives, accounts', db, `
    insert into platform (id, name, time_zone) values ('plt_default', 'Kontor', '${ZONE}');
    insert into agencies (id, platform_id, name, time_zone) select 'agy_r' || lpad(a::text, 4, '0'), 'plt_default', 'Agency ' || a, '${ZONE}' from generate_series(1, ${AGENCIES}) a;
    insert into sub_accounts (id, agency_id, name) select ${subId('n')}, ${agencyId('n')}, 'Client ' || n from generate_series(1, ${SUBS}) n;
    insert into departments (id, agency_id, name, credits_per_request)
      select 'dep_r' || a || '_' || d, 'agy_r' || lpad(a::text, 4, '0'), 'Department ' || d, (d - 1) * 2 from generate_series(1, ${AGENCIES}) a, generate_series(1, 5) d;
    insert into representatives (id, agency_id, sub_account_id, account_id, name, email)
      select 'rep_r' || n || '_' || r, ${agencyId('n')}, ${subId('n')}, ${subId('n')}, 'Rep ' || n || '/' || r, 'rep' || r || '@c' || n || '.example' from generate_series(1, ${SUBS}) n, generate_series(1, 2) r;
    insert into credit_accounts (id, agency_id, sub_account_id, balance) select 'cra_r' || n, ${agencyId('n')}, ${subId('n')}, 0 from generate_series(1, ${SUBS}) n;
    insert into credit_accounts (id, agency_id, sub_account_id, balance) select 'cra_p' || a, 'agy_r' || lpad(a::text, 4, '0'), null, 0 from generate_series(1, ${AGENCIES}) a;`);
  // Events in time order (as they are recorded): event i on day floor(i * DAYS / EVENTS).
  const events = `
    select i, 1 + (hashint4(i) & 2147483647) % ${SUBS} as n, ((hashint4(i + 7) & 2147483647) % 5) + 1 as d, (hashint4(i + 13) & 2147483647) % 10 as r,
      ${day0}::timestamp + ((i::float8 * ${DAYS} / ${EVENTS}) * interval '1 day') as at
    from generate_series(1, ${EVENTS}) i`;
  await step('usage_conversations', db, `
    insert into usage_conversations (account_id, conversation_id, department_id, agency_id, charged, representative_id, created_at)
    select 'cra_r' || e.n, 'conv' || e.i, 'dep_r' || ((e.n % ${AGENCIES}) + 1) || '_' || e.d, ${agencyId('e.n')}, (e.d - 1) * 2,
      case when e.r < 3 then null else 'rep_r' || e.n || '_' || (1 + e.r % 2) end, (e.at at time zone '${ZONE}')
    from (${events}) e`);
  await step('credit_ledger: usage debits', db, `
    insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at)
    select 'cra_r' || e.n, ${agencyId('e.n')}, ${subId('e.n')}, -((e.d - 1) * 2), 0, 'consume', 'conv' || e.i, (e.at at time zone '${ZONE}')
    from (${events}) e where e.d > 1`);
  const months = Math.ceil(DAYS / 30);
  await step('credit_ledger: monthly grants and purchases; purchases; platform orders', db, `
    insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, source, reference, created_at)
    select 'cra_r' || n, ${agencyId('n')}, ${subId('n')}, 500, 0, 'grant', s.source, s.source || ':' || n || ':' || m, (${day0}::timestamp + m * interval '30 days' + n * interval '1 second') at time zone '${ZONE}'
    from generate_series(1, ${SUBS}) n, generate_series(0, ${months - 1}) m, (values ('monthly_grant'), ('purchase')) s(source);
    insert into purchases (id, agency_id, sub_account_id, package_id, package_version_id, type, price_minor, currency, status, payment_method, created_at, updated_at)
    select 'pur_r' || n || '_' || m, ${agencyId('n')}, ${subId('n')}, 'pkg_r' || (n % 4), 'ofv_r' || (n % 4), 'credit', 10000 + (n % 4) * 5000, 'TRY',
      case when (n + m) % 5 = 0 then 'pending_payment' else 'granted' end, 'card',
      (${day0}::timestamp + m * interval '30 days' + n * interval '1 second') at time zone '${ZONE}', now()
    from generate_series(1, ${SUBS}) n, generate_series(0, ${months - 1}) m;
    insert into agency_orders (id, agency_id, kind, quantity, credits, amount_minor, currency, status, created_at)
    select 'ord_r' || a || '_' || m, 'agy_r' || lpad(a::text, 4, '0'), 'topup', 1, 100000, 250000, 'TRY', case when m % 6 = 0 then 'pending_payment' else 'applied' end,
      (${day0}::timestamp + m * interval '30 days') at time zone '${ZONE}'
    from generate_series(1, ${AGENCIES}) a, generate_series(0, ${months - 1}) m;`);
  // credit_flow_daily was kept by the ledger's statement trigger as the entries went in. The usage
  // rollup from the raw rows (src/reports/rollups.ts's statement, for every agency at once):
  // usage_apply writes the same rows event by event, so they lie on disk in the order of their days
  // (hence the order by: a day's rows are together, as they are in production).
  await step('usage_daily from usage_conversations', db, `
    insert into usage_daily (agency_id, day, account_id, sub_account_id, department_id, representative_id, conversations, credits)
    select u.agency_id, (u.created_at at time zone '${ZONE}')::date, u.account_id, min(a.sub_account_id), u.department_id, coalesce(u.representative_id, ''), count(*), sum(u.charged)
    from usage_conversations u join credit_accounts a on a.id = u.account_id group by 1, 2, 3, 5, 6
    order by 2, 1, 3`);
  await step('vacuum analyze', db, 'vacuum analyze');
  await step('checkpoint', db, 'checkpoint');
}

interface Contender {
  name: string;
  /** Runs the report; answers the rows returned, and the groups when a page of them is returned. */
  rollup: () => Promise<number | { rows: number; groups: number }>;
  raw?: () => Promise<number>;
  /** The CSV exports are downloads, not pages: the 300 ms target is not theirs. */
  noTarget?: boolean;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

async function main() {
  await ensureBenchDatabase(DB_URL, ['kontor', 'kontor_test']);
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 4 });
  const { db } = database;
  try {
    const have = REUSE ? rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from usage_conversations`).catch(() => [{ n: '0' }]))[0] : undefined;
    if (!REUSE || Number(have?.n ?? 0) === 0) await seed(db);
    else log(`reusing ${Number(have!.n).toLocaleString('en-US')} events in ${DB_URL}`);

    const last = DateTime.fromISO(FIRST_DAY, { zone: ZONE }).plus({ days: DAYS - 1 });
    const clock = new TestClock(last.set({ hour: 12 }).toJSDate());
    const to = last.toISODate()!;
    if (RESEAL) for (let a = 1; a <= AGENCIES; a++) await unsealLocked(db, `agy_r${String(a).padStart(4, '0')}`);
    const t0 = performance.now();
    const sealing = await runReportSealing({ db, clock, logger: createLogger('silent') });
    log(`sealing job: ${sealing.sealed} agencies sealed, ${sealing.skipped} left, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // As autovacuum would after the first sealing (statistics, and the visibility map).
    for (const t of ['usage_agency_daily', 'usage_monthly', 'usage_account_monthly', 'usage_representative_monthly', 'credit_flow_agency_daily', 'credit_flow_monthly', 'report_rollup_marks']) {
      await db.execute(sql.raw(`vacuum analyze ${t}`));
    }
    const from = last.minus({ days: RANGE_DAYS - 1 }).toISODate()!;
    const agency = 'agy_r0001';
    const actor: Actor = { kind: 'user', id: 'bench', scope: 'agency', agencyId: agency, subAccountId: null, role: 'owner', billing: true };
    const platform: Actor = { kind: 'user', id: 'bench', scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true };
    const deps = { db, clock };
    const fromAt = DateTime.fromISO(from, { zone: ZONE }).toUTC().toISO()!;
    const toAt = DateTime.fromISO(to, { zone: ZONE }).plus({ days: 1 }).toUTC().toISO()!;
    const [size] = rowsOf<{ subs: string; events: string; daily: string }>(await db.execute(sql`
      select (select count(*) from sub_accounts where agency_id = ${agency}) as subs,
        (select count(*) from usage_conversations where agency_id = ${agency} and created_at >= ${fromAt}::timestamptz and created_at < ${toAt}::timestamptz) as events,
        (select count(*) from usage_daily where agency_id = ${agency} and day between ${from}::date and ${to}::date) as daily`));
    log(`agency ${agency}: ${Number(size!.subs).toLocaleString('en-US')} sub-accounts; ${from}..${to}: ${Number(size!.events).toLocaleString('en-US')} events, ${Number(size!.daily).toLocaleString('en-US')} usage_daily rows`);

    const count = async (q: SQL) => rowsOf(await db.execute(q)).length;
    const rawUsage = (key: string) => sql`
      select ${sql.raw(key)} as key, count(*), sum(u.charged) from usage_conversations u join credit_accounts a on a.id = u.account_id
      where u.agency_id = ${agency} and u.created_at >= ${fromAt}::timestamptz and u.created_at < ${toAt}::timestamptz group by 1`;
    const rawFlow = (key: string) => sql`
      select ${sql.raw(key)} as key, l.reason, coalesce(l.source, ''), sum(l.delta) from credit_ledger l
      where l.agency_id = ${agency} and l.created_at >= ${fromAt}::timestamptz and l.created_at < ${toAt}::timestamptz group by 1, 2, 3`;
    const paged = (r: { rows: unknown[]; paging?: { groups: number } }) => (r.paging ? { rows: r.rows.length, groups: r.paging.groups } : r.rows.length);
    const usage = (by: string) => async () => paged(await usageReport(deps, { actor, query: { from, to, by } }));
    // The CSV export: every group, read once and written in chunks (to a sink here, to the response there).
    let csvBytes = 0;
    const sink = () => new Writable({ write(chunk: Buffer, _enc, done) { csvBytes += chunk.length; done(); } });
    const csvRows = async (chunks: Iterable<string>, rows: number) => { await writeCsv(sink(), chunks); return rows; };
    const contenders: Contender[] = [
      { name: 'usage by day', rollup: usage('day'), raw: () => count(rawUsage(`(u.created_at at time zone '${ZONE}')::date`)) },
      { name: 'usage by department', rollup: usage('department'), raw: () => count(rawUsage('u.department_id')) },
      { name: 'usage by sub-account', rollup: usage('subAccount'), raw: () => count(rawUsage('a.sub_account_id')) },
      { name: 'usage by representative', rollup: usage('representative'), raw: () => count(rawUsage('u.representative_id')) },
      { name: 'credit flow by day', rollup: async () => (await creditFlowReport(deps, { actor, query: { from, to } })).rows.length, raw: () => count(rawFlow(`(l.created_at at time zone '${ZONE}')::date`)) },
      { name: 'credit flow by account', rollup: async () => paged(await creditFlowReport(deps, { actor, query: { from, to, by: 'account' } })), raw: () => count(rawFlow('l.account_id')) },
      { name: 'usage by sub-account, CSV (every group)', noTarget: true, rollup: async () => { const r = await usageReport(deps, { actor, query: { from, to, by: 'subAccount' }, all: true }); return csvRows(usageCsv(r), r.rows.length); } },
      { name: 'usage by representative, CSV (every group)', noTarget: true, rollup: async () => { const r = await usageReport(deps, { actor, query: { from, to, by: 'representative' }, all: true }); return csvRows(usageCsv(r), r.rows.length); } },
      { name: 'credit flow by account, CSV (every group)', noTarget: true, rollup: async () => { const r = await creditFlowReport(deps, { actor, query: { from, to, by: 'account' }, all: true }); return csvRows(flowCsv(r), r.rows.length); } },
      { name: 'sales by package and month (agency)', rollup: async () => (await salesReport(deps, { actor, query: { from, to } })).rows.length },
      { name: 'sales by agency and month (platform)', rollup: async () => (await salesReport(deps, { actor: platform, query: { from, to } })).rows.length },
    ];

    // The same totals both ways (usage; the flow's net), once before timing.
    const report = await usageReport(deps, { actor, query: { from, to, by: 'day' } });
    const [raw] = rowsOf<{ n: string; c: string }>(await db.execute(sql`select count(*) as n, coalesce(sum(charged), 0) as c from usage_conversations where agency_id = ${agency} and created_at >= ${fromAt}::timestamptz and created_at < ${toAt}::timestamptz`));
    const flow = await creditFlowReport(deps, { actor, query: { from, to } });
    const [ledger] = rowsOf<{ net: string }>(await db.execute(sql`select coalesce(sum(delta), 0) as net from credit_ledger where agency_id = ${agency} and created_at >= ${fromAt}::timestamptz and created_at < ${toAt}::timestamptz`));
    const same = report.totals.conversations === Number(raw!.n) && report.totals.credits === Number(raw!.c) && flow.totals.net === Number(ledger!.net);
    log(`totals: usage ${report.totals.conversations} conversations / ${report.totals.credits} credits (raw ${raw!.n} / ${raw!.c}); flow net ${flow.totals.net} (ledger ${ledger!.net}): ${same ? 'same' : 'DIFFERENT'}`);

    const times = new Map(contenders.map((c) => [c.name, { rollup: [] as number[], raw: [] as number[] }]));
    for (const c of contenders) await c.rollup(); // warm the caches and the prepared plans
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) {
        let t0 = performance.now();
        await c.rollup();
        times.get(c.name)!.rollup.push(performance.now() - t0);
        if (c.raw && round < RAW_ROUNDS) {
          t0 = performance.now();
          await c.raw();
          times.get(c.name)!.raw.push(performance.now() - t0);
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}\r`);
    }
    log();
    log(`| report (agency 1, ${RANGE_DAYS} days) | rows (of groups) | p50 ms | p95 ms | raw scan p50 ms | raw scan p95 ms | target p95 < ${TARGET_MS} ms |`);
    log('|---|---|---|---|---|---|---|');
    for (const c of contenders) {
      const t = times.get(c.name)!;
      const got = await c.rollup();
      const rows = typeof got === 'number' ? got.toLocaleString('en-US') : `${got.rows.toLocaleString('en-US')} (of ${got.groups.toLocaleString('en-US')})`;
      const p95 = pct(t.rollup, 95);
      log(`| ${c.name} | ${rows} | ${pct(t.rollup, 50).toFixed(1)} | ${p95.toFixed(1)} | ${t.raw.length ? pct(t.raw, 50).toFixed(0) : '-'} | ${t.raw.length ? pct(t.raw, 95).toFixed(0) : '-'} | ${c.noTarget ? '-' : p95 < TARGET_MS ? 'PASS' : 'MISS'} |`);
    }
    log();
    log(`CSV bytes written over all runs: ${csvBytes.toLocaleString('en-US')}`);
  } finally {
    await database.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
