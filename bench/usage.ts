// Usage API benchmark: the real server (child process, real Postgres) under autocannon, printed
// beside two baselines measured in the same run: pgbench running the naive per-event debit
// (bench/usage-naive.sql) and a bare Express JSON endpoint (bench/usage-bare.ts).
// Speed is measured, not asserted: it prints PASS/MISS per target and always exits 0.
//
// The contenders take turns: each scenario runs in rounds of bare Express, pgbench, the app, so
// that a machine whose speed drifts during the run (shared cores, CPU stolen by neighbours)
// slows them alike instead of whichever happens to run last. Rates are totals over the rounds;
// each round's ratio is printed too, to show the spread.
//
//   npx tsx bench/usage.ts
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench (dropped and rebuilt)
//   BENCH_SECONDS       seconds per contender per round (default 4), after BENCH_WARMUP_SECONDS (2)
//   BENCH_ROUNDS        rounds per scenario (default 3)
//   BENCH_RECORDER_IN_FLIGHT  runs bench/usage-server.ts with that many recorder batches in flight (experiment)
//   BENCH_CPU_PROF      a folder: the server child runs with --cpu-prof and writes its profile there
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDatabase, type Db } from '../db/client';
import { pgArray } from '../src/lib/pg-array';
import { rowsOf } from '../src/lib/rows';
import { randomToken, sha256 } from '../src/lib/tokens';
import { startServer, type ChildServer } from './lib/child-server';
import { load, type LoadResult, type LoadSpec } from './lib/http-load';
import { pgbench, type PgbenchResult } from './lib/pgbench';

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kontor_bench';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = 32;
const SUBS = 10_000;
const BATCH = 1000;
const CREDITS = 1_000_000_000; // per sub-account: no request may ever get a 402
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const log = (s = '') => process.stdout.write(`${s}\n`);


/** Fresh schemas, the project's migrations, then one agency, 10,000 funded sub-accounts with keys. */
async function seed(db: Db) {
  await rebuildSchema(db);

  const agencyId = 'agy_bench';
  const departmentId = 'dep_bench';
  const keys = Array.from({ length: SUBS }, () => `kt_sub_${randomToken()}`);
  const n = sql`generate_series(1, ${SUBS}::int) as n`;
  const sub = sql`'sub_bench_' || n`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into platform (id, name) values ('plt_default', 'Kontor') on conflict do nothing`);
    await tx.execute(sql`insert into agencies (id, platform_id, name) values (${agencyId}, 'plt_default', 'Bench agency')`);
    await tx.execute(sql`insert into departments (id, agency_id, name, credits_per_request) values (${departmentId}, ${agencyId}, 'Bench', 1)`);
    await tx.execute(sql`insert into sub_accounts (id, agency_id, name) select ${sub}, ${agencyId}, 'Bench client ' || n from ${n}`);
    await tx.execute(sql`insert into sub_account_departments (agency_id, sub_account_id, department_id) select ${agencyId}, ${sub}, ${departmentId} from ${n}`);
    await tx.execute(sql`
      insert into api_keys (id, scope, agency_id, sub_account_id, name, prefix, key_hash)
      select 'key_bench_' || n, 'sub_account', ${agencyId}, 'sub_bench_' || n, 'bench', left(secret, 11), hash
      from unnest(${pgArray(keys)}::text[], ${pgArray(keys.map(sha256))}::text[]) with ordinality as v(secret, hash, n)`);
    // Funded as an adjustment would: balance = one lot's remaining = one ledger entry.
    await tx.execute(sql`insert into credit_accounts (id, agency_id, sub_account_id, balance) select 'cra_bench_' || n, ${agencyId}, ${sub}, ${CREDITS}::bigint from ${n}`);
    await tx.execute(sql`
      insert into credit_lots (id, account_id, agency_id, source, amount, remaining)
      select 'lot_bench_' || n, 'cra_bench_' || n, ${agencyId}, 'adjustment', ${CREDITS}::bigint, ${CREDITS}::bigint from ${n}`);
    await tx.execute(sql`
      insert into credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference)
      select 'cra_bench_' || n, ${agencyId}, ${sub}, ${CREDITS}::bigint, ${CREDITS}::bigint, 'adjustment', 'bench seed' from ${n}`);
    // The naive baseline's own tables (bench/usage-naive.sql).
    await tx.execute(sql`create table naive_accounts (id int primary key, balance bigint not null check (balance >= 0))`);
    await tx.execute(sql`insert into naive_accounts select n, ${CREDITS}::bigint from ${n}`);
    await tx.execute(sql`
      create table naive_ledger (id bigserial primary key, account_id int not null references naive_accounts, delta bigint not null,
        balance_after bigint not null, reason text not null, reference text, created_at timestamptz not null default now())`);
    await tx.execute(sql`create index naive_ledger_account_idx on naive_ledger (account_id, created_at)`);
  });
  await db.execute(sql`vacuum analyze`);
  return { departmentId, keys };
}

/** Ledger invariant for every account, and every answered 200 backed by a committed debit. */
async function verify(db: Db) {
  const [r] = rowsOf<{ accounts: number; mismatched: number; consumed: number; conversations: number }>(
    await db.execute(sql`
      select count(*)::int as accounts,
        count(*) filter (where a.balance <> coalesce(l.sum, 0) or a.balance <> coalesce(t.sum, 0))::int as mismatched,
        (select count(*) from credit_ledger where reason = 'consume')::int as consumed,
        (select count(*) from usage_conversations)::int as conversations
      from credit_accounts a
      left join (select account_id, sum(delta) as sum from credit_ledger group by account_id) l on l.account_id = a.id
      left join (select account_id, sum(remaining) as sum from credit_lots group by account_id) t on t.account_id = a.id`),
  );
  return r!;
}

/** Waits until the ledger stops growing for a second. */
async function settle(db: Db) {
  const last = async () => rowsOf<{ id: number | null }>(await db.execute(sql`select max(id)::bigint as id from credit_ledger`))[0]?.id;
  for (let prev = await last(), i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await last();
    if (now === prev) return;
    prev = now;
  }
}

// --- request generators: every conversation id is unique in the run --------------------------
let seq = 0;
const event = (departmentId: string) => `{"conversationId":"c${seq++}","departmentId":"${departmentId}"}`;
const hot = (keys: string[], departmentId: string) => () => ({ key: keys[0]!, body: event(departmentId) });
const rotating = (keys: string[]) => {
  let i = 0;
  return () => keys[i++ % keys.length]!;
};
const spread = (keys: string[], departmentId: string, key = rotating(keys)) => () => ({ key: key(), body: event(departmentId) });
const batch = (keys: string[], departmentId: string, key = rotating(keys)) => () => ({
  key: key(),
  body: `{"events":[${Array.from({ length: BATCH }, () => event(departmentId)).join(',')}]}`,
});
const batchOk = (status: number, body: string) =>
  status === 200 ? (JSON.parse(body) as { results: { status: number }[] }).results.filter((x) => x.status === 200).length : 0;

let answeredByApp = 0; // events answered 200 by the app, warm-ups included
let cutOff = 0; // at most this many events were sent but not answered when runs stopped
let lost = 0; // events of requests that failed on the client side (timeout, reset): maybe committed, never answered

/** The machine's CPU ticks so far (Linux /proc/stat, all cores): stolen by the host, idle, in all. */
const systemTicks = () => {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { steal: f[7] ?? 0, idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) }; // idle + iowait
};
/** CPU time the host gave to other guests ("steal"), as a share of this period. */
const cpuTimes = () => {
  try {
    return systemTicks();
  } catch {
    return null;
  }
};
const stolen = (a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>) =>
  a && b && b.total > a.total ? `${(((b.steal - a.steal) / (b.total - a.total)) * 100).toFixed(0)}%` : 'n/a';

/**
 * Where the CPU went during the measured runs of one contender (Linux /proc; clock ticks): the
 * server process (all its threads), every Postgres process, this process (the load generator),
 * and the time both cores sat idle. Divided by the answered requests, it shows what each request
 * cost, and how much of the machine was left unused.
 */
interface CpuUse {
  server: number;
  postgres: number;
  loadGenerator: number;
  idle: number;
  requests: number;
}
const newCpuUse = (): CpuUse => ({ server: 0, postgres: 0, loadGenerator: 0, idle: 0, requests: 0 });
const processTicks = (pid: number | 'self') => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(x[11]) + Number(x[12]); // utime + stime
};
/** Every Postgres process's ticks by pid (a backend that exits between two samples drops out). */
const postgresTicks = () => {
  const byPid = new Map<string, number>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres') byPid.set(p, processTicks(Number(p)));
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
};
/** Ticks used between two samples by the processes alive at the second (new ones: all of theirs). */
const postgresDelta = (before: Map<string, number>, after: Map<string, number>) => {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
};
function cpuSample(serverPid: number) {
  try {
    return { server: processTicks(serverPid), postgres: postgresTicks(), loadGenerator: processTicks('self'), idle: systemTicks().idle };
  } catch {
    return null; // not Linux
  }
}

type Spec = Omit<LoadSpec, 'url' | 'connections' | 'seconds'>;
/** One load run; `eventsPerRequest` counts the app's answers for the final check (0: not the app). */
async function run(server: ChildServer, spec: Spec, seconds: number, eventsPerRequest = 0, requests?: number, cpu?: CpuUse): Promise<LoadResult> {
  const before = cpu ? cpuSample(server.pid) : null;
  const r = await load({ ...spec, url: server.url, connections: CONNECTIONS, seconds, ...(requests ? { requests } : {}) });
  const after = before ? cpuSample(server.pid) : null;
  if (cpu && before && after) {
    cpu.server += after.server - before.server;
    cpu.postgres += postgresDelta(before.postgres, after.postgres);
    cpu.loadGenerator += after.loadGenerator - before.loadGenerator;
    cpu.idle += after.idle - before.idle;
    cpu.requests += r.responses;
  }
  answeredByApp += eventsPerRequest ? r.okEvents : 0;
  cutOff += CONNECTIONS * eventsPerRequest;
  lost += r.errors * eventsPerRequest;
  return r;
}

/**
 * The warm-up. `everyKey`: it also lasts until each of the 10,000 keys has sent a request, so the
 * measured runs see a server in its steady state (every key in the API key cache, as in a server
 * that has been up for a minute) rather than a first read of half the keys. Both the bare
 * baseline and the app get the same warm-up.
 */
async function warmUp(server: ChildServer, spec: Spec, eventsPerRequest = 0, everyKey = false) {
  const warm = WARMUP > 0 ? await run(server, spec, WARMUP, eventsPerRequest) : null;
  if (everyKey && (warm?.responses ?? 0) < SUBS) await run(server, spec, 0, eventsPerRequest, SUBS - (warm?.responses ?? 0));
}

/** Rounds of a scenario, summed: rates over all rounds, the worst round's p99. */
interface Total {
  rate: number;
  eventsRate: number;
  p50: number;
  p99: number;
  non2xx: Record<string, number>;
  errors: number;
  perRound: number[];
}
function total(rs: LoadResult[]): Total {
  const seconds = rs.reduce((n, r) => n + r.seconds, 0);
  const non2xx: Record<string, number> = {};
  for (const r of rs) for (const [c, k] of Object.entries(r.non2xx)) non2xx[c] = (non2xx[c] ?? 0) + k;
  const p50s = rs.map((r) => r.p50).sort((a, b) => a - b);
  return {
    rate: rs.reduce((n, r) => n + r.reqPerSec * r.seconds, 0) / seconds,
    eventsRate: rs.reduce((n, r) => n + r.okEvents, 0) / seconds,
    p50: p50s[p50s.length >> 1]!,
    p99: Math.max(...rs.map((r) => r.p99)),
    non2xx,
    errors: rs.reduce((n, r) => n + r.errors, 0),
    perRound: rs.map((r) => r.reqPerSec),
  };
}
function totalPg(rs: PgbenchResult[]) {
  return { tps: rs.reduce((n, r) => n + r.tps, 0) / rs.length, latencyMs: rs.reduce((n, r) => n + r.latencyMs, 0) / rs.length, failed: rs.reduce((n, r) => n + r.failed, 0), perRound: rs.map((r) => r.tps) };
}

async function main() {
  const loadBefore = os.loadavg()[0]!;
  await ensureBenchDatabase(DB_URL, []);
  const database = await openDatabase({ databaseUrl: DB_URL, poolSize: 2 });
  const db = database.db;
  const t0 = Date.now();
  const { departmentId, keys } = await seed(db);
  log(`Seeded ${SUBS} sub-accounts with keys and ${CREDITS} credits each in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // One checkpoint before each scenario's warm-ups, none between rounds: right after a checkpoint
  // Postgres writes each page it first changes whole into the WAL (full-page images), and the
  // warm-ups absorb that, as in a server that has been up for a while. A checkpoint before every
  // round made each measured window its most expensive part (10k accounts: full-page images were
  // ~87% of the WAL written) and the rounds slower one after another as the indexes grew.
  // Postgres's own checkpoints come every checkpoint_timeout (5 min here), longer than a scenario.
  const checkpoint = () => db.execute(sql`checkpoint`);
  const walSample = async () => {
    try {
      const [w] = rowsOf<{ bytes: number; fpi: number }>(await db.execute(sql`select wal_bytes::float8 as bytes, wal_fpi::float8 as fpi from pg_stat_wal`));
      return w ?? null;
    } catch {
      return null; // Postgres before 14
    }
  };

  // (b) bare Express, with the same request generators as the app; (a) pgbench below.
  const bare = await startServer(path.join(here, 'usage-bare.ts'), {});
  const inFlight = process.env.BENCH_RECORDER_IN_FLIGHT;
  const cpuProf = process.env.BENCH_CPU_PROF;
  const app = await startServer(
    path.join(root, inFlight ? 'bench/usage-server.ts' : 'src/server.ts'),
    {
      DATABASE_URL: DB_URL, NODE_ENV: 'production', SESSION_SECRET: randomBytes(24).toString('hex'), SECRET_KEYS: `bench:${randomBytes(32).toString('base64')}`, DEMO: 'false', LOG_LEVEL: 'warn',
      REDIS_URL: '', DATA_DIR: path.join(os.tmpdir(), 'kontor-bench'), ...(inFlight ? { BENCH_RECORDER_IN_FLIGHT: inFlight } : {}),
    },
    cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProf)}`] : [],
  );
  const naive = path.join(here, 'usage-naive.sql');
  const naiveRun = (naccounts: number, seconds = SECONDS): Promise<PgbenchResult> =>
    pgbench(DB_URL, naive, { clients: CONNECTIONS, threads: 2, seconds, vars: { naccounts } });

  /** WAL written during the measured rounds of a contender: bytes, full-page images, answers. */
  const newWal = () => ({ bytes: 0, fpi: 0, answers: 0 });
  const measureWal = async <T>(w: ReturnType<typeof newWal>, answers: (r: T) => number, fn: () => Promise<T>): Promise<T> => {
    const before = await walSample();
    const r = await fn();
    const after = before ? await walSample() : null;
    if (before && after) {
      w.bytes += after.bytes - before.bytes;
      w.fpi += after.fpi - before.fpi;
      w.answers += answers(r);
    }
    return r;
  };

  /** One scenario: a checkpoint, warm-ups, then rounds of bare Express, pgbench (naccounts rows), the app. */
  const scenario = async (next: Spec['next'], naccounts: number, everyKey: boolean) => {
    const spec = { path: '/api/v1/usage', next };
    await checkpoint();
    await warmUp(bare, spec, 0, everyKey);
    await warmUp(app, spec, 1, everyKey);
    if (WARMUP > 0) await naiveRun(naccounts, WARMUP);
    const b: LoadResult[] = [], p: PgbenchResult[] = [], a: LoadResult[] = [];
    const cpu = { bare: newCpuUse(), app: newCpuUse() };
    const wal = { naive: newWal(), app: newWal() };
    for (let i = 0; i < ROUNDS; i++) {
      b.push(await run(bare, spec, SECONDS, 0, undefined, cpu.bare));
      p.push(await measureWal(wal.naive, (r) => r.tps * SECONDS, () => naiveRun(naccounts)));
      a.push(await measureWal(wal.app, (r) => r.okEvents, () => run(app, spec, SECONDS, 1, undefined, cpu.app)));
    }
    return { bare: total(b), naive: totalPg(p), app: total(a), cpu, wal };
  };
  const c0 = cpuTimes();
  const hotRun = await scenario(hot(keys, departmentId), 1, false);
  const c1 = cpuTimes();
  const spreadRun = await scenario(spread(keys, departmentId), SUBS, true);
  const c2 = cpuTimes();
  const batchSpec = { path: '/api/v1/usage/batch', next: batch(keys, departmentId), okEvents: batchOk };
  await checkpoint();
  await warmUp(app, batchSpec, BATCH);
  const batchRuns: LoadResult[] = [];
  for (let i = 0; i < ROUNDS; i++) batchRuns.push(await run(app, batchSpec, SECONDS, BATCH));
  const appBatch = total(batchRuns);
  const c3 = cpuTimes();
  await bare.stop();
  await settle(db); // requests cut off by the end of the run are still queued in the recorder
  await app.stop();
  const check = await verify(db);
  const settings = rowsOf<{ name: string; setting: string }>(
    await db.execute(sql`select name, setting from pg_settings where name in ('autovacuum', 'synchronous_commit', 'fsync', 'shared_buffers', 'max_connections') order by name`),
  );
  await database.close();

  // --- report --------------------------------------------------------------------------------
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
  const codes = (r: Total) => [...Object.entries(r.non2xx).map(([c, k]) => `${k}x${c}`), ...(r.errors ? [`${r.errors} errors`] : [])].join(' ') || '0';
  const row = (cols: string[], widths: number[]) => log(cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));

  log();
  log(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}; Postgres ${settings.map((x) => `${x.name}=${x.setting}`).join(', ')}.`);
  log(`Load average (1 min): ${loadBefore.toFixed(2)} before the run, ${os.loadavg()[0]!.toFixed(2)} after it (a high figure before means other processes shared the cores).`);
  log(`CPU stolen by the host (virtual machines): ${stolen(c0, c1)} during the hot scenario, ${stolen(c1, c2)} during the 10k one, ${stolen(c2, c3)} during the batch one.`);
  log(`All figures below were measured in this run: ${CONNECTIONS} connections; per scenario ${ROUNDS} rounds of bare Express, pgbench, the app,`);
  log(`${SECONDS} s each, after a ${WARMUP} s warm-up (10k-key scenarios: and until each key has sent one request). p50: median round; p99: worst round.`);
  if (inFlight) log(`EXPERIMENT: ${inFlight} recorder batches in flight (bench/usage-server.ts), not the shipped default.`);
  log();
  const w1 = [40, 10, 11, 8, 8, 14];
  row(['scenario', 'req/s', 'events/s', 'p50 ms', 'p99 ms', 'non-2xx'], w1);
  const http = (name: string, r: Total) => row([name, f(r.rate), f(r.eventsRate), f(r.p50, 1), f(r.p99, 1), codes(r)], w1);
  http('bare Express, 1 key', hotRun.bare);
  http('bare Express, 10k keys', spreadRun.bare);
  const pg = (name: string, r: ReturnType<typeof totalPg>) => row([name, f(r.tps), f(r.tps), `${f(r.latencyMs, 1)}*`, '-', r.failed ? `${r.failed} failed` : '0'], w1);
  pg('pgbench naive tx, 1 hot row', hotRun.naive);
  pg('pgbench naive tx, 10k rows', spreadRun.naive);
  http('usage API, 1 hot sub-account', hotRun.app);
  http('usage API, 10k sub-accounts', spreadRun.app);
  http(`usage batch, ${BATCH} events/request, 10k`, appBatch);
  log('  * pgbench: mean latency');
  log();

  const w2 = [44, 12, 12, 7, 8, 6];
  row(['target', 'measured', 'baseline', 'ratio', 'need', ''], w2);
  const target = (name: string, measured: number, baseline: number | null, need: number, unit: 'x' | 'ms' | 'ev/s') => {
    const value = baseline === null ? measured : measured / baseline;
    const pass = unit === 'ms' ? value < need : value >= need;
    const needText = unit === 'ms' ? `< ${need}` : unit === 'x' ? `>= ${need}x` : `>= ${f(need / 1000)}k`;
    row([name, f(measured, unit === 'ms' ? 1 : 0), baseline === null ? '-' : f(baseline), baseline === null ? '-' : `${f(value, 2)}x`, needText, pass ? 'PASS' : 'MISS'], w2);
  };
  const rounds = (a: number[], b: number[]) => a.map((x, i) => f(x / b[i]!, 2)).join(' ');
  target('hot req/s vs pgbench naive (1 hot row)', hotRun.app.rate, hotRun.naive.tps, 3, 'x');
  target('hot req/s vs bare Express', hotRun.app.rate, hotRun.bare.rate, 0.6, 'x');
  target('hot p99 latency (ms)', hotRun.app.p99, null, 50, 'ms');
  target('10k sub-accounts req/s vs bare Express', spreadRun.app.rate, spreadRun.bare.rate, 0.6, 'x');
  target('batch events/s', appBatch.eventsRate, null, 50_000, 'ev/s');
  log(`  per round: hot vs pgbench ${rounds(hotRun.app.perRound, hotRun.naive.perRound)}; hot vs bare ${rounds(hotRun.app.perRound, hotRun.bare.perRound)};`);
  log(`  10k vs bare ${rounds(spreadRun.app.perRound, spreadRun.bare.perRound)}; batch events/s ${batchRuns.map((r) => f(r.eventsPerSec)).join(' ')}`);
  log(`  (for information: 10k sub-accounts vs pgbench naive on 10k rows: ${f(spreadRun.app.rate / spreadRun.naive.tps, 2)}x)`);
  const each = (xs: number[]) => xs.map((x) => f(x)).join(' / ');
  log(`  rounds, req/s: hot bare ${each(hotRun.bare.perRound)}, pgbench ${each(hotRun.naive.perRound)}, app ${each(hotRun.app.perRound)};`);
  log(`  10k bare ${each(spreadRun.bare.perRound)}, pgbench ${each(spreadRun.naive.perRound)}, app ${each(spreadRun.app.perRound)}`);
  log();

  // Where the CPU went: both contenders share the two cores with the load generator (this process).
  const tick = 1e6 / 100; // us per clock tick (USER_HZ)
  const perRequest = (c: CpuUse, x: number) => (c.requests ? f((x * tick) / c.requests) : '-');
  if (hotRun.cpu.app.requests > 0 && hotRun.cpu.bare.requests > 0) {
    const w3 = [34, 8, 10, 15, 12];
    log('CPU per answered request, us (measured rounds; idle: time both cores sat unused, per request):');
    row(['contender', 'server', 'Postgres', 'load generator', 'cores idle'], w3);
    const cpuRow = (name: string, c: CpuUse) => row([name, perRequest(c, c.server), perRequest(c, c.postgres), perRequest(c, c.loadGenerator), perRequest(c, c.idle)], w3);
    cpuRow('bare Express, 1 key', hotRun.cpu.bare);
    cpuRow('usage API, 1 hot sub-account', hotRun.cpu.app);
    cpuRow('bare Express, 10k keys', spreadRun.cpu.bare);
    cpuRow('usage API, 10k sub-accounts', spreadRun.cpu.app);
    log();
  }
  const walText = (w: { bytes: number; fpi: number; answers: number }) =>
    w.answers > 0 ? `${f(w.bytes / w.answers)} B (${f(w.fpi)} full-page images)` : '-';
  if (hotRun.wal.app.answers > 0) {
    log(`WAL per debit in the measured rounds: hot app ${walText(hotRun.wal.app)}, pgbench ${walText(hotRun.wal.naive)};`);
    log(`  10k app ${walText(spreadRun.wal.app)}, pgbench ${walText(spreadRun.wal.naive)}.`);
    log();
  }

  const ok = check.mismatched === 0 && check.consumed === check.conversations && check.consumed >= answeredByApp && check.consumed <= answeredByApp + cutOff + lost;
  log(`Correctness after the load: ${check.accounts} credit accounts, ${check.mismatched} with balance != sum(ledger.delta) or != sum(lots.remaining);`);
  log(`  ${f(answeredByApp)} events answered 200 (warm-ups included), ${f(check.consumed)} consume entries committed, ${f(check.conversations)} conversations`);
  log(`  (committed may exceed answered by at most ${f(cutOff)}, the events in flight when the runs stopped,`);
  log(`  plus ${f(lost)} in requests the load generator gave up on (timeouts, resets; counted in "errors" above)): ${ok ? 'OK' : 'BROKEN'}`);
}

await main();
