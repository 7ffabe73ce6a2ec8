// The report lock under real concurrency (`npx tsx bench/reports-seal-race.ts`; issue #17). PGlite
// runs one transaction at a time, so the tests cannot race the sealing job against the writers;
// this does, on real Postgres. Day after day, several connections call usage_apply with that
// day's clock (and some with the day before: late writes on sealed days) while another seals the
// day, twice at once, in the middle of them. Then the second level must equal the day level's
// sums of the sealed days, and the day level the conversations. Prints OK or the differences;
// exits 1 on a difference.
//
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/bench_race (rebuilt)
//   BENCH_DAYS          default 20
//   BENCH_CALLS         default 60 (usage_apply calls per writer and day)
//   BENCH_WRITERS       default 4
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { openDatabase } from '../db/client';
import { rowsOf } from '../src/lib/rows';
import { sealReportDays } from '../src/reports/rollup-levels';
import { ensureBenchDatabase, rebuildSchema } from './lib/database';

const URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/bench_race';
const DAYS = Math.max(1, Number(process.env.BENCH_DAYS ?? 20));
const CALLS = Math.max(1, Number(process.env.BENCH_CALLS ?? 60));
const WRITERS = Math.max(1, Number(process.env.BENCH_WRITERS ?? 4));
const SUBS = 12;
const AGENCY = 'agy_race';
const log = (s = '') => process.stdout.write(`${s}\n`);
const arr = (xs: (string | number)[]) => `{${xs.map((x) => (typeof x === 'number' ? String(x) : `"${x}"`)).join(',')}}`;

async function main() {
  await ensureBenchDatabase(URL, ['kontor', 'kontor_test']);
  const database = await openDatabase({ databaseUrl: URL, poolSize: 4 });
  const { db } = database;
  const raw = postgres(URL, { max: WRITERS, onnotice: () => {} });
  try {
    await rebuildSchema(db);
    await db.execute(sql.raw(`
      insert into platform (id, name, time_zone) values ('plt_default', 'Kontor', 'UTC');
      insert into agencies (id, platform_id, name, time_zone) values ('${AGENCY}', 'plt_default', 'Race', 'Europe/Istanbul');
      insert into sub_accounts (id, agency_id, name) select 'sub_race' || n, '${AGENCY}', 'Client ' || n from generate_series(1, ${SUBS}) n;
      insert into departments (id, agency_id, name, credits_per_request) values ('dep_race_a', '${AGENCY}', 'A', 0), ('dep_race_b', '${AGENCY}', 'B', 0);
      insert into sub_account_departments (agency_id, sub_account_id, department_id) select '${AGENCY}', 'sub_race' || n, d from generate_series(1, ${SUBS}) n, (values ('dep_race_a'), ('dep_race_b')) x(d);`));
    const base = DateTime.fromISO('2026-01-25T12:00:00', { zone: 'Europe/Istanbul' });
    let seq = 0;
    const write = (at: DateTime) => {
      const n = 1 + Math.floor(Math.random() * 3);
      const subs = Array.from({ length: n }, (_, i) => `sub_race${1 + ((seq + i * 5) % SUBS)}`).filter((s, i, all) => all.indexOf(s) === i);
      const events = subs.flatMap((_, o) => [o + 1, o + 1]);
      return raw.unsafe('select codes from usage_apply($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz)', [
        arr(subs.map(() => AGENCY)), arr(subs), arr(subs.map((s) => `cra_${s}`)), arr(events), arr(events.map(() => `c${++seq}`)),
        arr(events.map((_, i) => (i % 2 ? 'dep_race_a' : 'dep_race_b'))), arr(events.map(() => '')), at.plus({ minutes: Math.floor(Math.random() * 600) }).toUTC().toISO()!,
      ]);
    };
    let sealed = 0;
    for (let d = 0; d < DAYS; d++) {
      const day = base.plus({ days: d });
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < CALLS; i++) await write(w === 0 && i % 3 === 0 ? day.minus({ days: 1 }) : day);
      });
      const sealer = (async () => {
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 100));
        const through = day.toISODate()!;
        const runs = await Promise.allSettled([sealReportDays(db, { agencyId: AGENCY, through }), sealReportDays(db, { agencyId: AGENCY, through })]);
        sealed += runs.filter((r) => r.status === 'fulfilled' && r.value).length;
        for (const r of runs) if (r.status === 'rejected') log(`sealing ${through}: ${String(r.reason)}`);
      })();
      await Promise.all([...writers, sealer]);
    }
    const q = async (text: string) => rowsOf<Record<string, unknown>>(await db.execute(sql.raw(text))).map((r) => JSON.stringify(Object.values(r)));
    const sealedDays = 'join report_rollup_marks m on m.agency_id = d.agency_id and d.day <= m.sealed_through';
    const pairs: [string, string, string][] = [
      ['usage_agency_daily', 'select agency_id, day::text, department_id, conversations::text, credits::text from usage_agency_daily order by 1, 2, 3',
        `select d.agency_id, d.day::text, d.department_id, sum(d.conversations)::text as c, sum(d.credits)::text as cr from usage_daily d ${sealedDays} group by 1, 2, 3 order by 1, 2, 3`],
      ['usage_monthly', 'select agency_id, month::text, account_id, department_id, representative_id, conversations::text from usage_monthly order by 1, 2, 3, 4, 5',
        `select d.agency_id, date_trunc('month', d.day)::date::text, d.account_id, d.department_id, d.representative_id, sum(d.conversations)::text from usage_daily d ${sealedDays} group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`],
      ['usage_account_monthly', 'select agency_id, month::text, account_id, conversations::text from usage_account_monthly order by 1, 2, 3',
        `select d.agency_id, date_trunc('month', d.day)::date::text, d.account_id, sum(d.conversations)::text from usage_daily d ${sealedDays} group by 1, 2, 3 order by 1, 2, 3`],
      ['usage_representative_monthly', 'select agency_id, month::text, account_id, representative_id, conversations::text from usage_representative_monthly order by 1, 2, 3, 4',
        `select d.agency_id, date_trunc('month', d.day)::date::text, d.account_id, d.representative_id, sum(d.conversations)::text from usage_daily d ${sealedDays} group by 1, 2, 3, 4 order by 1, 2, 3, 4`],
      ['usage_daily', "select sum(conversations)::text from usage_daily", 'select count(*)::text from usage_conversations'],
    ];
    let ok = true;
    for (const [name, got, want] of pairs) {
      const [g, w] = [await q(got), await q(want)];
      const same = JSON.stringify(g) === JSON.stringify(w);
      ok &&= same;
      log(`${name}: ${g.length} rows, ${same ? 'equal' : 'DIFFERENT'}`);
    }
    const [late] = rowsOf<{ n: string }>(await db.execute(sql`select count(*)::text as n from usage_conversations`));
    log(`${DAYS} days, ${WRITERS} writers x ${CALLS} calls a day, ${late!.n} conversations, ${sealed} sealings that moved the mark: ${ok ? 'OK' : 'DIFFERENT'}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await raw.end();
    await database.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
