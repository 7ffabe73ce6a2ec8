// Benchmark of the monthly invoice cut (`npx tsx bench/invoices.ts`).
//
// On real Postgres: N sub-accounts over 100 agencies (half in Istanbul, half in New York), each
// with 2 or 3 monthly subscriptions in March 2026 (a chatbot package, an add-on, for half of
// them a quantity of representatives), some started mid-month, cancelled, or cancelled and
// reactivated (two periods), and one in ten with extra sessions. The clock is 1 April 2026 in
// both zones, February is already cut: the job cuts March for every account. It is timed
// (runInvoiceCut, as the worker runs it; PDF and mail are follow-up jobs and not part of it)
// beside ONE hand-written set-based SQL statement (data-modifying CTEs) doing the same line
// computation (active days per period, price x days / days in month rounded half-up once per
// line, one-off charges), numbering per seller, inserts and updates, on the same seeded state.
// Prints both times, the ratio and PASS/MISS for "within 2x", and whether both left the same
// invoices (account, number, total) and lines. Figures only: nothing here is asserted in tests.
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench_invoices (dropped and rebuilt)
//   BENCH_SIZES         default 10000,50000,100000
//   BENCH_REPEAT        default 3 (runs per size; medians are printed)
import { settlementHandlers } from '../src/composition';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config';
import { openDatabase, type Db } from '../db/client';
import { runInvoiceCut } from '../src/billing/invoice-cut';
import type { Deps } from '../src/deps';
import { TestClock } from '../src/lib/clock';
import { createLogger } from '../src/lib/logger';
import { rowsOf } from '../src/lib/rows';
import { createMailer } from '../src/mail/mailer';
import type { Queue } from '../src/queue';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kontor_bench_invoices';
const SIZES = (process.env.BENCH_SIZES ?? '10000,50000,100000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const AGENCIES = 100;
const NOW = new Date('2026-04-01T15:00:00Z'); // 1 April in Istanbul (18:00) and New York (11:00)
const log = (s = '') => process.stdout.write(`${s}\n`);

/** Empties every table, then seeds n accounts with set-based SQL; vacuumed and checkpointed. */
export async function seed(db: Db, n: number): Promise<void> {
  const tables = rowsOf<{ tablename: string }>(await db.execute(sql`select tablename from pg_tables where schemaname = 'public'`));
  await db.execute(sql.raw(`truncate ${tables.map((t) => `"${t.tablename}"`).join(', ')} restart identity cascade`));
  const agency = (col: string) => sql.raw(`'agy_b' || lpad(((${col} % ${AGENCIES}) + 1)::text, 3, '0')`);
  const sub = (col: string) => sql.raw(`'sub_b' || lpad(${col}::text, 7, '0')`);
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into platform (id, name) values ('plt_default', 'Kontor')`);
    await tx.execute(sql`
      insert into agencies (id, platform_id, name, time_zone, reselling_module)
      select 'agy_b' || lpad(a::text, 3, '0'), 'plt_default', 'Bench agency ' || a, case when a % 2 = 0 then 'Europe/Istanbul' else 'America/New_York' end, true
      from generate_series(1, ${AGENCIES}::int) a`);
    await tx.execute(sql`insert into sub_accounts (id, agency_id, name) select ${sub('n')}, ${agency('n')}, 'Bench client ' || n from generate_series(1, ${n}::int) n`);
    // February is cut already: the job's work is March.
    await tx.execute(sql`insert into invoice_counters (seller_key, next_number, last_cut_period) select id, 1, '2026-02' from agencies union all select 'platform', 1, '2026-03'`);
    const common = sql`${agency('n')}, ${sub('n')}, ${sub('n')}, ${agency('n')}`;
    // 1. A chatbot package: from 15 Feb (all March), or from a day of March for one in three.
    await tx.execute(sql`
      insert into billing_subscriptions (id, agency_id, sub_account_id, buyer_id, seller_agency_id, package_id, name, kind, billing, monthly_price_minor, currency, quantity, chatbot_sessions, start_day)
      select 'bsb_p' || n, ${common}, 'bpk_chatbot', 'Chatbot ' || (n % 5), 'package', 'monthly', 1000 + (n % 50) * 137, 'TRY', 1, 20000,
             case when n % 3 = 0 then date '2026-03-01' + (n % 28) else date '2026-02-15' end
      from generate_series(1, ${n}::int) n`);
    // 2. An add-on from 1 March; one in four cancelled on a day of March.
    await tx.execute(sql`
      insert into billing_subscriptions (id, agency_id, sub_account_id, buyer_id, seller_agency_id, package_id, name, kind, billing, monthly_price_minor, currency, quantity, modules, start_day, status)
      select 'bsb_a' || n, ${common}, 'bpk_addon', 'Ticket system', 'addon', 'monthly', 499, 'TRY', 1, '{ticket_system}', date '2026-03-01', case when n % 4 = 0 then 'cancelled' else 'active' end
      from generate_series(1, ${n}::int) n`);
    // 3. Half of them: 1..3 extra representatives from 1 Feb; one in ten accounts cancelled them on 10 March and reactivated on the 20th.
    await tx.execute(sql`
      insert into billing_subscriptions (id, agency_id, sub_account_id, buyer_id, seller_agency_id, package_id, name, kind, billing, monthly_price_minor, currency, quantity, unit, start_day)
      select 'bsb_q' || n, ${common}, 'bpk_reps', 'Extra representative', 'quantity', 'monthly', 1000, 'TRY', 1 + n % 3, 'representative', date '2026-02-01'
      from generate_series(1, ${n}::int) n where n % 2 = 0`);
    await tx.execute(sql`
      insert into billing_periods (id, subscription_id, agency_id, buyer_id, seller_agency_id, from_day, through_day)
      select 'bpr_' || s.id, s.id, s.agency_id, s.buyer_id, s.seller_agency_id, s.start_day,
             case when s.status = 'cancelled' then date '2026-03-01' + (substring(s.id from '\d+$')::int % 31)
                  when s.kind = 'quantity' and substring(s.id from '\d+$')::int % 10 = 0 then date '2026-03-10' end
      from billing_subscriptions s`);
    await tx.execute(sql`
      insert into billing_periods (id, subscription_id, agency_id, buyer_id, seller_agency_id, from_day, through_day)
      select 'bpr2_' || s.id, s.id, s.agency_id, s.buyer_id, s.seller_agency_id, date '2026-03-20', null
      from billing_subscriptions s where s.kind = 'quantity' and substring(s.id from '\d+$')::int % 10 = 0`);
    // One in ten bought 2 blocks of extra sessions on a day of March.
    await tx.execute(sql`
      insert into account_charges (id, agency_id, sub_account_id, buyer_id, seller_agency_id, kind, description, day, quantity, unit_price_minor, amount_minor, currency, sessions, expires_at)
      select 'chg_b' || n, ${common}, 'extra_sessions', 'Extra 1k: 2,000 extra chatbot sessions (2 x 1,000)', date '2026-03-01' + (n % 31), 2, 500, 1000, 'TRY', 2000, timestamptz '2026-04-01T00:00:00Z'
      from generate_series(1, ${n}::int) n where n % 10 = 0`);
  });
  await db.execute(sql`vacuum analyze`);
  await db.execute(sql`checkpoint`);
}

/**
 * The baseline: one statement computing every account's March lines and invoice in SQL and
 * writing them (numbers per seller from the counters, charges marked billed, counters advanced).
 */
export function baselineStatement() {
  return sql`
    with m as (select date '2026-03-01' as first, date '2026-03-31' as last, 31 as dim, '2026-03'::text as period, date '2026-04-01' as issue),
    sub_days as (
      select p.buyer_id, s.id as subscription_id, s.agency_id, s.sub_account_id, s.seller_agency_id, s.name, s.quantity, s.monthly_price_minor * s.quantity as price, s.currency,
             min(greatest(p.from_day, m.first)) as from_day, max(least(coalesce(p.through_day, m.last), m.last)) as through_day,
             sum(least(coalesce(p.through_day, m.last), m.last) - greatest(p.from_day, m.first) + 1)::int as days
      from billing_periods p join billing_subscriptions s on s.id = p.subscription_id cross join m
      where s.billing = 'monthly' and p.from_day <= m.last and (p.through_day is null or p.through_day >= m.first)
      group by p.buyer_id, s.id
    ),
    lines as (
      select d.buyer_id, d.agency_id, d.sub_account_id, d.seller_agency_id, 'monthly'::text as kind, d.subscription_id, null::text as charge_id,
             case when d.quantity > 1 then d.name || ' x ' || d.quantity else d.name end as description, d.from_day, d.through_day, d.days as active_days, m.dim as days_in_month,
             d.quantity, d.price as unit_price, (2 * d.price * d.days + m.dim) / (2 * m.dim) as amount, d.currency
      from sub_days d cross join m
      union all
      select c.buyer_id, c.agency_id, c.sub_account_id, c.seller_agency_id, c.kind, null, c.id, c.description, c.day, c.day, null, null, c.quantity, c.unit_price_minor, c.amount_minor, c.currency
      from account_charges c cross join m where c.invoice_id is null and c.day <= m.last
    ),
    accts as (
      select l.buyer_id, min(l.agency_id) as agency_id, min(l.sub_account_id) as sub_account_id, min(l.seller_agency_id) as seller_agency_id,
             coalesce(min(l.seller_agency_id), 'platform') as seller_key, sum(l.amount) as total, min(l.currency) as currency
      from lines l cross join m
      where not exists (select 1 from invoices i where i.buyer_id = l.buyer_id and i.period = m.period and i.kind = 'monthly')
      group by l.buyer_id
    ),
    numbered as (
      select a.*, 'inv_b' || md5(a.buyer_id) as id, c.next_number + row_number() over (partition by a.seller_key order by a.buyer_id) - 1 as number,
             coalesce(g.invoice_due_days, 10) as due_days
      from accts a join invoice_counters c on c.seller_key = a.seller_key left join agencies g on g.id = a.seller_agency_id
    ),
    ins_invoices as (
      insert into invoices (id, agency_id, sub_account_id, buyer_id, seller_agency_id, seller_key, number, kind, period, period_start, period_end, issue_day, due_day, currency, total_minor, status, billing_address)
      select n.id, n.agency_id, n.sub_account_id, n.buyer_id, n.seller_agency_id, n.seller_key, n.number, 'monthly', m.period, m.first, m.last, m.issue, m.issue + n.due_days, n.currency, n.total, 'draft',
             (select jsonb_build_object('name', b.name, 'line1', b.line1, 'line2', b.line2, 'city', b.city, 'postalCode', b.postal_code, 'country', b.country, 'taxId', b.tax_id)
              from billing_addresses b where b.buyer_id = n.buyer_id and b.is_default order by b.updated_at desc limit 1)
      from numbered n cross join m
      returning 1
    ),
    ins_lines as (
      insert into invoice_lines (id, invoice_id, agency_id, position, kind, subscription_id, charge_id, description, from_day, through_day, active_days, days_in_month, quantity, unit_price_minor, amount_minor)
      select 'inl_b' || md5(coalesce(l.subscription_id, l.charge_id)), n.id, l.agency_id,
             row_number() over (partition by l.buyer_id order by l.from_day, l.kind <> 'monthly', coalesce(l.subscription_id, l.charge_id)),
             l.kind, l.subscription_id, l.charge_id, l.description, l.from_day, l.through_day, l.active_days, l.days_in_month, l.quantity, l.unit_price, l.amount
      from lines l join numbered n on n.buyer_id = l.buyer_id
      returning 1
    ),
    billed as (
      update account_charges c set invoice_id = n.id from numbered n cross join m
      where c.buyer_id = n.buyer_id and c.invoice_id is null and c.day <= m.last
      returning 1
    ),
    counters as (
      update invoice_counters c set next_number = c.next_number + x.n, last_cut_period = '2026-03'
      from (select seller_key, count(*) as n from numbered group by seller_key) x where c.seller_key = x.seller_key
      returning 1
    )
    select (select count(*) from ins_invoices)::int as invoices, (select count(*) from ins_lines)::int as lines,
           (select count(*) from billed)::int as charges, (select count(*) from counters)::int as sellers`;
}

/** What both must have produced, ids aside: invoices (account, seller, number, total, days), lines, charges billed, counters. */
async function fingerprint(db: Db): Promise<string> {
  const [row] = rowsOf<Record<string, string | number>>(await db.execute(sql`
    select
      (select count(*) from invoices)::int as invoices,
      (select md5(string_agg(buyer_id || ':' || seller_key || ':' || number || ':' || total_minor || ':' || period || ':' || issue_day || ':' || due_day, ',' order by buyer_id)) from invoices) as invoice_rows,
      (select md5(string_agg(i.buyer_id || ':' || coalesce(l.subscription_id, l.charge_id) || ':' || l.amount_minor || ':' || coalesce(l.active_days, -1) || ':' || l.from_day || ':' || l.through_day || ':' || l.description,
                             ',' order by i.buyer_id, coalesce(l.subscription_id, l.charge_id))) from invoice_lines l join invoices i on i.id = l.invoice_id) as lines,
      (select count(*) from account_charges where invoice_id is not null)::int as billed,
      (select md5(string_agg(seller_key || ':' || next_number || ':' || last_cut_period, ',' order by seller_key)) from invoice_counters) as counters`));
  return PARTS.map((k) => String(row![k.replace(' ', '_')])).join('|');
}
const PARTS = ['invoices', 'invoice rows', 'lines', 'billed', 'counters'];

/** The queue the job hands its follow-up (PDF, mail) to: recorded, not run. */
function recordingQueue(): Queue & { enqueued: string[] } {
  const enqueued: string[] = [];
  return {
    kind: 'inline', enqueued,
    enqueue: async (name) => void enqueued.push(name),
    work: async () => {}, running: () => [], schedule: async () => {}, ping: async () => {}, drain: async () => {}, close: async () => {},
  };
}

function makeDeps(db: Db): Deps {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PUBLIC_URL: 'http://bench.test', DATABASE_URL: DB_URL });
  const clock = new TestClock(NOW);
  return {
    config, db, clock, testClock: clock, logger: createLogger('silent'), queue: recordingQueue(),
    mailer: createMailer({ from: config.mailFrom, mailDir: path.join(os.tmpdir(), 'kontor-bench-invoices-mail') }),
    settlement: settlementHandlers,
  };
}

const ms = (t: number) => `${t.toFixed(0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

interface Measured {
  ms: number;
  print: string;
  note: string | null;
}

async function timeJob(db: Db, n: number): Promise<Measured> {
  await seed(db, n);
  const deps = makeDeps(db);
  const t0 = performance.now();
  const run = await runInvoiceCut(deps);
  const elapsed = performance.now() - t0;
  return { ms: elapsed, print: await fingerprint(db), note: run.invoices !== n ? `the job cut ${run.invoices} of ${n}` : null };
}

async function timeBaseline(db: Db, n: number): Promise<Measured> {
  await seed(db, n);
  const t0 = performance.now();
  const [counts] = rowsOf<{ invoices: number }>(await db.execute(baselineStatement()));
  const elapsed = performance.now() - t0;
  return { ms: elapsed, print: await fingerprint(db), note: counts!.invoices !== n ? `the baseline cut ${counts!.invoices} of ${n}` : null };
}

async function main() {
  await ensureBenchDatabase(DB_URL, ['kontor_bench', 'kontor_bench_grants']);
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 4 });
  const { db } = database;
  try {
    await rebuildSchema(db);
    const [v] = rowsOf<{ v: string }>(await db.execute(sql`select current_setting('server_version') as v`));
    log(`Monthly invoice cut vs one hand-written set-based statement (Postgres ${v!.v}, ${AGENCIES} agencies, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`);
    log(`Each figure is the median of ${REPEAT} runs, each on a fresh seed (job and baseline alternate which goes first).`);
    log('');
    log(`${'accounts'.padStart(9)}  ${'items'.padStart(8)}  ${'job'.padStart(9)}  ${'baseline'.padStart(9)}  ${'ratio'.padStart(6)}  within 2x  same rows  runs (job / baseline)`);
    for (const n of SIZES) {
      const jobs: Measured[] = [];
      const bases: Measured[] = [];
      for (let r = 0; r < REPEAT; r++) {
        if (r % 2 === 0) {
          jobs.push(await timeJob(db, n));
          bases.push(await timeBaseline(db, n));
        } else {
          bases.push(await timeBaseline(db, n));
          jobs.push(await timeJob(db, n));
        }
      }
      const [items] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from billing_subscriptions`));
      for (const m of [...jobs, ...bases]) if (m.note) log(`  note: ${m.note}`);
      const same = jobs.every((j, i) => j.print === bases[i]!.print);
      if (!same) {
        const [j, b] = [jobs[0]!.print.split('|'), bases[0]!.print.split('|')];
        log(`  differs: ${PARTS.filter((_, i) => j[i] !== b[i]).join(', ')}`);
      }
      const [job, baseline] = [median(jobs.map((m) => m.ms)), median(bases.map((m) => m.ms))];
      const ratio = job / baseline;
      log(
        `${n.toLocaleString('en-US').padStart(9)}  ${items!.n.toLocaleString('en-US').padStart(8)}  ${ms(job).padStart(9)}  ${ms(baseline).padStart(9)}  ${ratio.toFixed(2).padStart(6)}  ` +
          `${(ratio <= 2 ? 'PASS' : 'MISS').padEnd(9)}  ${(same ? 'yes' : 'NO').padEnd(9)}  ${jobs.map((m) => m.ms.toFixed(0)).join(', ')} / ${bases.map((m) => m.ms.toFixed(0)).join(', ')}`,
      );
    }
    log('');
    log('job: runInvoiceCut as the worker runs it (sellers due for the month together, batches of 50,000 accounts, one transaction and a handful of statements each; PDF and mail are follow-up jobs);');
    log('baseline: one statement with data-modifying CTEs computing the same lines in SQL and writing the same rows;');
    log('same rows: both left identical invoices (account, seller, number, total, days), lines, billed charges and counters (ids aside).');
  } finally {
    await database.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
