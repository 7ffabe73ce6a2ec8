// What the reports' rollups cost the usage hot path (`npx tsx bench/usage-apply-rollup.ts`;
// issue #17). On one connection, usage_apply as it was before the rollups (db/functions source
// at BENCH_BASE_REF, created as usage_apply_base, with the ledger's credit_flow_rollup trigger
// disabled while it runs) and usage_apply as it is now (the usage_daily upsert, the
// representative check and the trigger), called alternately in rounds with the same batch
// shapes the recorder sends: one event of one account (a quiet server), and 16 events of 16
// accounts (a group commit under load). Prints the mean time per call of each and the ratio.
// Figures only. Run it on a database built by bench/reports.ts (it adds departments, lots and
// conversations to its first sub-accounts).
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/bench_h5
//   BENCH_BASE_REF      default 95c355d (the commit before the rollups)
//   BENCH_CALLS         default 1000 (calls per contender and round)
//   BENCH_ROUNDS        default 6
//   BENCH_BASE_ROLLUPS=1  the base already has the rollups (e.g. BENCH_BASE_REF=870eea9, before the
//                       second level): it takes representatives and runs with the ledger trigger on,
//                       so the difference is what came after it (the report lock, the late-day CTEs)
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';

const URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/bench_h5';
const BASE = process.env.BENCH_BASE_REF ?? '95c355d';
const CALLS = Math.max(1, Number(process.env.BENCH_CALLS ?? 1000));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 6));
const ACCOUNTS = 16;
const BASE_ROLLUPS = process.env.BENCH_BASE_ROLLUPS === '1';
const log = (s = '') => process.stdout.write(`${s}\n`);

const arr = (xs: (string | number)[]) => `{${xs.map((x) => (typeof x === 'number' ? String(x) : `"${x}"`)).join(',')}}`;

async function main() {
  const sql = postgres(URL, { max: 1, onnotice: () => {} });
  try {
    const base = execFileSync('git', ['show', `${BASE}:db/functions/usage_apply.sql`], { encoding: 'utf8' }).replace(/FUNCTION usage_apply\(/, 'FUNCTION usage_apply_base(');
    await sql.unsafe(base);
    // The first sub-accounts of agency 1 get the paid department and plenty of credits.
    const [agency] = await sql`select id from agencies order by id limit 1`;
    const subs = await sql`select id from sub_accounts where agency_id = ${agency!.id} order by id limit ${ACCOUNTS}`;
    const [dept] = await sql`select id from departments where agency_id = ${agency!.id} and credits_per_request > 0 order by id limit 1`;
    for (const s of subs) {
      await sql`insert into sub_account_departments (agency_id, sub_account_id, department_id) values (${agency!.id}, ${s.id}, ${dept!.id}) on conflict do nothing`;
      const [acct] = await sql`select id from credit_accounts where sub_account_id = ${s.id}`;
      await sql`insert into credit_lots (id, account_id, agency_id, source, amount, remaining) values (${`lot_ab_${s.id}`}, ${acct!.id}, ${agency!.id}, 'topup', 1000000000, 1000000000) on conflict do nothing`;
      await sql`update credit_accounts set balance = (select sum(remaining) from credit_lots where account_id = ${acct!.id}) where id = ${acct!.id}`;
    }
    let seq = 0;
    const call = (fn: string, n: number, withRep: boolean) => {
      const owners = subs.slice(0, n);
      const conv = owners.map(() => `ab${process.pid}-${++seq}`);
      const args = [arr(owners.map(() => agency!.id)), arr(owners.map((s) => s.id)), arr(owners.map((_, i) => `cra_new_${i}`)), arr(owners.map((_, i) => i + 1)), arr(conv), arr(owners.map(() => dept!.id))];
      const now = new Date().toISOString();
      return withRep
        ? sql.unsafe(`select codes from ${fn}($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz)`, [...args, arr(owners.map(() => '')), now], { prepare: true })
        : sql.unsafe(`select codes from ${fn}($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz)`, [...args, now], { prepare: true });
    };
    const contenders = [
      BASE_ROLLUPS
        ? { name: `before (${BASE})`, run: (n: number) => call('usage_apply_base', n, true), trigger: true }
        : { name: 'before (no rollups)', run: (n: number) => call('usage_apply_base', n, false), trigger: false },
      { name: 'now (usage_daily, representative check, ledger trigger)', run: (n: number) => call('usage_apply', n, true), trigger: true },
    ];
    const times = new Map<string, number[]>();
    for (const shape of [1, ACCOUNTS]) {
      for (const c of contenders) for (let i = 0; i < 50; i++) await c.run(shape); // plans and caches
      for (let round = 0; round < ROUNDS; round++) {
        for (const c of round % 2 ? [...contenders].reverse() : contenders) {
          await sql.unsafe(`alter table credit_ledger ${c.trigger ? 'enable' : 'disable'} trigger credit_ledger_flow_rollup`);
          const t0 = performance.now();
          for (let i = 0; i < CALLS; i++) await c.run(shape);
          const key = `${shape}|${c.name}`;
          times.set(key, [...(times.get(key) ?? []), (performance.now() - t0) / CALLS]);
        }
      }
    }
    await sql.unsafe('alter table credit_ledger enable trigger credit_ledger_flow_rollup');
    await sql.unsafe(`drop function usage_apply_base(text[], text[], text[], int[], text[], text[], ${BASE_ROLLUPS ? 'text[], ' : ''}timestamptz)`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    log(`| batch | ${contenders.map((c) => `${c.name}, ms per call (median of ${ROUNDS} rounds of ${CALLS})`).join(' | ')} | now / before |`);
    log('|---|---|---|---|');
    for (const shape of [1, ACCOUNTS]) {
      const [a, b] = contenders.map((c) => median(times.get(`${shape}|${c.name}`)!));
      log(`| ${shape} event(s), ${shape} account(s) | ${a!.toFixed(3)} | ${b!.toFixed(3)} | ${(b! / a!).toFixed(3)} |`);
    }
  } finally {
    await sql.end();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
