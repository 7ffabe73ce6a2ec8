// Benchmark of the monthly grant job (`npx tsx bench/grants.ts`).
//
// On real Postgres: N active subscriptions over 100 agencies (half in Istanbul, half in New
// York), each agency with a funded pool (one account, one lot, one ledger entry), every
// subscription's month 1 due now and no balance account yet. Times runSubscriptionGrants (the
// job, as the worker runs it) and, on the same seeded state, ONE hand-written set-based SQL
// statement (data-modifying CTEs) doing the same inserts and updates, assuming every pool
// covers its grants. Prints both times, the ratio and PASS/MISS for "within 2x", checks the
// ledger invariant after each (one query) and that both produced the same rows. Figures only.
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench_grants (dropped and rebuilt)
//   BENCH_SIZES         default 10000,50000,100000
//   BENCH_REPEAT        default 3 (runs per size; medians are printed)
import { settlementHandlers } from '../src/composition';
import { performance } from 'node:perf_hooks';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config';
import { openDatabase, type Db } from '../db/client';
import type { Deps } from '../src/deps';
import { TestClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { rowsOf } from '../src/lib/rows';
import { createMailer } from '../src/mail/mailer';
import { InlineQueue } from '../src/queue';
import { runSubscriptionGrants } from '../src/monthly-grants/grants';

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kontor_bench_grants';
const SIZES = (process.env.BENCH_SIZES ?? '10000,50000,100000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const AGENCIES = 100;
const POOL = 10_000_000_000; // per agency: every pool covers its grants
const NOW = new Date('2026-03-29T12:00:00Z'); // month 1 (an anniversary in March) of every subscription is due
const log = (s = '') => process.stdout.write(`${s}\n`);



/** Empties every table, then seeds n due subscriptions with set-based SQL; vacuumed and checkpointed. */
export async function seed(db: Db, n: number) {
  const tables = rowsOf<{ tablename: string }>(await db.execute(sql`select tablename from pg_tables where schemaname = 'public'`));
  await db.execute(sql.raw(`truncate ${tables.map((t) => `"${t.tablename}"`).join(', ')} restart identity cascade`));
  const agency = (col: string) => sql.raw(`'agy_b' || lpad(((${col} % ${AGENCIES}) + 1)::text, 3, '0')`);
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into platform (id, name) values ('plt_default', 'Kontor')`);
    await tx.execute(sql`
      insert into agencies (id, platform_id, name, time_zone, reselling_module)
      select 'agy_b' || lpad(a::text, 3, '0'), 'plt_default', 'Bench agency ' || a, case when a % 2 = 0 then 'Europe/Istanbul' else 'America/New_York' end, true
      from generate_series(1, ${AGENCIES}::int) a`);
    await tx.execute(sql`
      insert into sub_accounts (id, agency_id, name)
      select 'sub_b' || lpad(n::text, 7, '0'), ${agency('n')}, 'Bench client ' || n from generate_series(1, ${n}::int) n`);
    // Started on a day of February (1..28) at 10:00 local, a 3-month term; month 0 was granted at purchase.
    await tx.execute(sql`
      insert into subscriptions (id, agency_id, sub_account_id, package_id, package_version_id, monthly_credits, start_day, starts_at, ends_at, next_grant_index, next_grant_at, status)
      select 'sbs_b' || lpad(v.n::text, 7, '0'), v.agency_id, 'sub_b' || lpad(v.n::text, 7, '0'), 'pkg_bench', 'pkv_bench', 100 + (v.n % 50) * 10, v.day::text,
             (v.day::timestamp + interval '10 hours') at time zone a.time_zone,
             (v.day + interval '3 months') at time zone a.time_zone, 1,
             (v.day + interval '1 month') at time zone a.time_zone, 'active'
      from (select n, ${agency('n')} as agency_id, date '2026-02-01' + (n % 28) as day from generate_series(1, ${n}::int) n) v
      join agencies a on a.id = v.agency_id`);
    // Pools funded as a platform adjustment would: balance = one lot = one ledger entry.
    await tx.execute(sql`
      insert into credit_accounts (id, agency_id, sub_account_id, balance) select 'cra_pool_' || id, id, null, ${POOL}::bigint from agencies`);
    await tx.execute(sql`
      insert into credit_lots (id, account_id, agency_id, source, amount, remaining, created_at)
      select 'lot_pool_' || id, 'cra_pool_' || id, id, 'adjustment', ${POOL}::bigint, ${POOL}::bigint, timestamptz '2025-12-01T00:00:00Z' from agencies`);
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at)
      select 'cra_pool_' || id, id, null, ${POOL}::bigint, ${POOL}::bigint, 'adjustment', 'bench', timestamptz '2025-12-01T00:00:00Z' from agencies`);
  });
  await db.execute(sql`vacuum analyze`);
  await db.execute(sql`checkpoint`);
}

/**
 * The baseline: one statement doing what the job does for every due subscription (claim the
 * month, create the balance account, the lot, a transfer_out entry on the pool with its running
 * balance and a grant entry on the balance, the pool's lots (FIFO) and balance, the subscription's
 * next grant), assuming every pool covers its grants.
 */
export const baselineStatement = (now: Date) => sql`
  with due as (
    select s.id, s.agency_id, s.sub_account_id, s.monthly_credits as credits, s.next_grant_index as idx, s.next_grant_at as at, s.ends_at,
           (s.start_day::date + make_interval(months => s.next_grant_index + 1)) at time zone a.time_zone as next_at,
           'subscription:' || s.id || ':' || s.next_grant_index as ref,
           'lot_g_' || s.id || '_' || s.next_grant_index as lot_id,
           'cra_g_' || s.sub_account_id as account_id,
           p.id as pool_id,
           p.balance - sum(s.monthly_credits) over (partition by s.agency_id order by s.next_grant_at, s.id) as pool_after
    from subscriptions s
    join agencies a on a.id = s.agency_id
    join credit_accounts p on p.agency_id = s.agency_id and p.sub_account_id is null
    where s.status = 'active' and s.next_grant_at <= ${now.toISOString()}::timestamptz and a.status = 'active'
  ),
  totals as (select pool_id, sum(credits) as total from due group by pool_id),
  grants as (
    insert into subscription_grants (subscription_id, period_index, agency_id, lot_id, credits, granted_at)
    select id, idx, agency_id, lot_id, credits, at from due
    on conflict do nothing returning 1
  ),
  accounts as (
    insert into credit_accounts (id, agency_id, sub_account_id, balance, created_at, updated_at)
    select account_id, agency_id, sub_account_id, credits, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz from due
    returning 1
  ),
  lots as (
    insert into credit_lots (id, account_id, agency_id, source, amount, remaining, expires_at, reference, created_at)
    select lot_id, account_id, agency_id, 'monthly_grant', credits, credits, least(next_at, ends_at), ref, at from due
    returning 1
  ),
  ledger as (
    insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, idempotency_key, created_at, data)
    select account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, idempotency_key, created_at, data from (
      select pool_id as account_id, agency_id, null::text as sub_account_id, -credits as delta, pool_after as balance_after, 'transfer_out' as reason,
             ref as reference, null::text as idempotency_key, at as created_at, jsonb_build_object('subAccountId', sub_account_id) as data, id, 0 as k
      from due
      union all
      select account_id, agency_id, sub_account_id, credits, credits, 'grant', ref, ref, at, null, id, 1 from due
    ) e
    order by agency_id, created_at, id, k
    returning 1
  ),
  pool_lots as (
    update credit_lots l set remaining = l.remaining - f.take
    from (
      select l.id, least(l.remaining, greatest(0, t.total - (sum(l.remaining) over w - l.remaining))) as take
      from credit_lots l join totals t on t.pool_id = l.account_id
      where l.remaining > 0 and (l.expires_at is null or l.expires_at > ${now.toISOString()}::timestamptz)
      window w as (partition by l.account_id order by l.expires_at nulls last, l.created_at, l.id)
    ) f
    where l.id = f.id and f.take > 0
    returning 1
  ),
  pools as (
    update credit_accounts c set balance = c.balance - t.total, updated_at = ${now.toISOString()}::timestamptz
    from totals t where c.id = t.pool_id
    returning 1
  ),
  subs as (
    update subscriptions s set next_grant_index = d.idx + 1, next_grant_at = case when d.next_at < d.ends_at then d.next_at end,
           updated_at = ${now.toISOString()}::timestamptz
    from due d where s.id = d.id
    returning 1
  )
  select (select count(*) from grants)::int as grants, (select count(*) from accounts)::int as accounts, (select count(*) from lots)::int as lots,
         (select count(*) from ledger)::int as ledger, (select count(*) from pool_lots)::int as pool_lots, (select count(*) from pools)::int as pools,
         (select count(*) from subs)::int as subs`;

/** Accounts breaking the ledger invariant (balance = sum of entries = sum of lots, last balance_after, nothing negative). */
async function invariantViolations(db: Db): Promise<number> {
  const [row] = rowsOf<{ n: number }>(await db.execute(sql`
    select count(*)::int as n from credit_accounts a
    left join (select account_id, sum(delta) as s from credit_ledger group by account_id) l on l.account_id = a.id
    left join (select account_id, sum(remaining) as s, min(remaining) as m from credit_lots group by account_id) t on t.account_id = a.id
    left join (select distinct on (account_id) account_id, balance_after from credit_ledger order by account_id, id desc) last on last.account_id = a.id
    where a.balance <> coalesce(l.s, 0) or a.balance <> coalesce(t.s, 0) or a.balance < 0 or coalesce(t.m, 0) < 0
       or (last.balance_after is not null and last.balance_after <> a.balance)`));
  return row!.n;
}

/** What both must have produced, independent of generated ids. */
async function fingerprint(db: Db): Promise<string> {
  const [row] = rowsOf<Record<string, string | number>>(await db.execute(sql`
    select
      (select count(*) from subscription_grants)::int as grants,
      (select md5(string_agg(subscription_id || ':' || period_index || ':' || credits || ':' || granted_at::text, ',' order by subscription_id, period_index)) from subscription_grants) as grant_rows,
      (select md5(string_agg(agency_id || ':' || coalesce(sub_account_id, '') || ':' || balance, ',' order by agency_id, sub_account_id nulls first)) from credit_accounts) as accounts,
      (select md5(string_agg(reference || ':' || amount || ':' || remaining || ':' || expires_at::text || ':' || created_at::text, ',' order by reference)) from credit_lots where source = 'monthly_grant') as lots,
      (select md5(string_agg(id || ':' || remaining, ',' order by id)) from credit_lots where source <> 'monthly_grant') as pool_lots,
      (select md5(string_agg(coalesce(sub_account_id, '-') || ':' || reason || ':' || coalesce(reference, '') || ':' || delta || ':' || balance_after || ':' || created_at::text || ':' || coalesce(data::text, ''), ',' order by reference, reason, id)) from credit_ledger) as ledger,
      (select md5(string_agg(id || ':' || next_grant_index || ':' || coalesce(next_grant_at::text, ''), ',' order by id)) from subscriptions) as subs`));
  return Object.values(row!).join('|');
}

function makeDeps(db: Db): Deps {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PUBLIC_URL: 'http://bench.test', DATABASE_URL: DB_URL });
  const logger = createLogger('silent');
  const clock = new TestClock(NOW);
  return {
    config, db, clock, testClock: clock, logger,
    queue: new InlineQueue(logger), // nothing is queued: no thresholds, no shortages
    mailer: createMailer({ from: config.mailFrom, mailDir: path.join(os.tmpdir(), 'kontor-bench-grants-mail') }),
    settlement: settlementHandlers,
  };
}

const ms = (t: number) => `${t.toFixed(0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const PARTS = ['grants', 'grant rows', 'accounts', 'lots', 'pool lots', 'ledger', 'subscriptions'];

interface Measured {
  ms: number;
  violations: number;
  print: string;
  note: string | null;
}

/** Fresh seed, then the job. */
async function timeJob(db: Db, deps: Deps, n: number): Promise<Measured> {
  await seed(db, n);
  const t0 = performance.now();
  const run = await runSubscriptionGrants(deps);
  const elapsed = performance.now() - t0;
  const note = run.granted !== n || run.failed !== 0 ? `the job granted ${run.granted} of ${n}, ${run.failed} failed` : null;
  return { ms: elapsed, violations: await invariantViolations(db), print: await fingerprint(db), note };
}

/** Fresh seed, then the one statement. */
async function timeBaseline(db: Db, n: number): Promise<Measured> {
  await seed(db, n);
  const t0 = performance.now();
  const [counts] = rowsOf<{ grants: number }>(await db.execute(baselineStatement(NOW)));
  const elapsed = performance.now() - t0;
  const note = counts!.grants !== n ? `the baseline granted ${counts!.grants} of ${n}` : null;
  return { ms: elapsed, violations: await invariantViolations(db), print: await fingerprint(db), note };
}

async function main() {
  await ensureBenchDatabase(DB_URL, ['kontor_bench']);
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 4 });
  const { db } = database;
  try {
    await rebuildSchema(db);
    const [v] = rowsOf<{ v: string }>(await db.execute(sql`select current_setting('server_version') as v`));
    log(`Monthly grant job vs one hand-written set-based statement (Postgres ${v!.v}, ${AGENCIES} agencies, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`);
    log(`Each figure is the median of ${REPEAT} runs, each on a fresh seed (job and baseline alternate which goes first).`);
    log('');
    log(`${'subscriptions'.padStart(13)}  ${'job'.padStart(9)}  ${'baseline'.padStart(9)}  ${'ratio'.padStart(6)}  within 2x  invariant  same rows  runs (job / baseline)`);
    const deps = makeDeps(db);
    for (const n of SIZES) {
      const jobs: Measured[] = [];
      const bases: Measured[] = [];
      for (let r = 0; r < REPEAT; r++) {
        if (r % 2 === 0) {
          jobs.push(await timeJob(db, deps, n));
          bases.push(await timeBaseline(db, n));
        } else {
          bases.push(await timeBaseline(db, n));
          jobs.push(await timeJob(db, deps, n));
        }
      }
      for (const m of [...jobs, ...bases]) if (m.note) log(`  note: ${m.note}`);
      const same = jobs.every((j, i) => j.print === bases[i]!.print);
      if (!same) {
        const [j, b] = [jobs[0]!.print.split('|'), bases[0]!.print.split('|')];
        log(`  differs: ${PARTS.filter((_, i) => j[i] !== b[i]).join(', ')}`);
      }
      const bad = jobs.reduce((k, m) => k + m.violations, 0) + bases.reduce((k, m) => k + m.violations, 0);
      const [job, baseline] = [median(jobs.map((m) => m.ms)), median(bases.map((m) => m.ms))];
      const ratio = job / baseline;
      log(
        `${n.toLocaleString('en-US').padStart(13)}  ${ms(job).padStart(9)}  ${ms(baseline).padStart(9)}  ${ratio.toFixed(2).padStart(6)}  ${(ratio <= 2 ? 'PASS' : 'MISS').padEnd(9)}  ` +
          `${(bad === 0 ? 'ok' : `${bad} bad`).padEnd(9)}  ${(same ? 'yes' : 'NO').padEnd(9)}  ${jobs.map((m) => m.ms.toFixed(0)).join(', ')} / ${bases.map((m) => m.ms.toFixed(0)).join(', ')}`,
      );
    }
    log('');
    log('job: runSubscriptionGrants as the worker runs it (due subscriptions grouped by agency, chunks of up to 5,000, one transaction each);');
    log('baseline: one statement with data-modifying CTEs doing the same inserts and updates, assuming every pool covers its grants.');
    log('invariant: balance = sum of entries = sum of lots, last balance_after, nothing negative (one query, after every run);');
    log('same rows: the job and the baseline left identical grants, accounts, lots, ledger and subscriptions (ids aside).');
  } finally {
    await database.close();
  }
}

// Run only when executed, not when imported (for its seed or its baseline).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
