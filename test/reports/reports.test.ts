// Reports (DESIGN section 11): the optional representative on usage events, the rollups held to
// the raw tables (a property test over random ranges), rebuilding them without double counting,
// and what each caller may read.
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import request from 'supertest';
import { usageConversations } from '../../db/schema';
import type { Actor } from '../../src/auth/actor';
import { forfeitToPool, transferToSubAccount } from '../../src/credits/credits.usecases';
import { rowsOf } from '../../src/lib/rows';
import { creditFlowReport, flowColumn, flowColumns } from '../../src/reports/credit-flow-report';
import { monthPlan, runReportSealing, sealReportDays } from '../../src/reports/rollup-levels';
import { rebuildReportRollups } from '../../src/reports/rollups';
import { salesReport } from '../../src/reports/sales-report';
import { usageReport } from '../../src/reports/usage-report';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { REPORTS_SEED } from '../support/env';
import { bearer, signIn } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

const ZONE = 'Europe/Istanbul';
const HOUR = 3_600_000;

/** A deterministic random sequence (mulberry32): a failing run can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The second level as it must be: the day level's sums of the sealed days (rows that net to zero dropped). */
async function levelsAgainstDaily(db: TestDeps['db']) {
  const q = async (text: string) => rowsOf<Record<string, unknown>>(await db.execute(sql.raw(text))).map((r) => JSON.stringify(r));
  const sealed = 'join report_rollup_marks m on m.agency_id = d.agency_id and d.day <= m.sealed_through';
  return {
    got: {
      usageDays: await q('select agency_id, day::text, department_id, conversations::text, credits::text from usage_agency_daily where conversations <> 0 order by 1, 2, 3'),
      usageMonths: await q('select agency_id, month::text, account_id, department_id, representative_id, conversations::text, credits::text from usage_monthly where conversations <> 0 order by 1, 2, 3, 4, 5'),
      accountMonths: await q('select agency_id, month::text, account_id, conversations::text, credits::text from usage_account_monthly where conversations <> 0 order by 1, 2, 3'),
      representativeMonths: await q('select agency_id, month::text, account_id, representative_id, conversations::text, credits::text from usage_representative_monthly where conversations <> 0 order by 1, 2, 3, 4'),
      flowDays: await q("select agency_id, day::text, reason, source, entries::text, credits::text from credit_flow_agency_daily where entries <> 0 order by 1, 2, 3, 4"),
      flowMonths: await q("select agency_id, month::text, account_id, reason, source, entries::text, credits::text from credit_flow_monthly where entries <> 0 order by 1, 2, 3, 4, 5"),
    },
    want: {
      usageDays: await q(`select d.agency_id, d.day::text, d.department_id, sum(d.conversations)::text as conversations, sum(d.credits)::text as credits from usage_daily d ${sealed} group by 1, 2, 3 having sum(d.conversations) <> 0 order by 1, 2, 3`),
      usageMonths: await q(`select d.agency_id, date_trunc('month', d.day)::date::text as month, d.account_id, d.department_id, d.representative_id, sum(d.conversations)::text as conversations, sum(d.credits)::text as credits
        from usage_daily d ${sealed} group by 1, 2, 3, 4, 5 having sum(d.conversations) <> 0 order by 1, 2, 3, 4, 5`),
      accountMonths: await q(`select d.agency_id, date_trunc('month', d.day)::date::text as month, d.account_id, sum(d.conversations)::text as conversations, sum(d.credits)::text as credits
        from usage_daily d ${sealed} group by 1, 2, 3 having sum(d.conversations) <> 0 order by 1, 2, 3`),
      representativeMonths: await q(`select d.agency_id, date_trunc('month', d.day)::date::text as month, d.account_id, d.representative_id, sum(d.conversations)::text as conversations, sum(d.credits)::text as credits
        from usage_daily d ${sealed} group by 1, 2, 3, 4 having sum(d.conversations) <> 0 order by 1, 2, 3, 4`),
      flowDays: await q(`select d.agency_id, d.day::text, d.reason, d.source, sum(d.entries)::text as entries, sum(d.credits)::text as credits from credit_flow_daily d ${sealed} group by 1, 2, 3, 4 having sum(d.entries) <> 0 order by 1, 2, 3, 4`),
      flowMonths: await q(`select d.agency_id, date_trunc('month', d.day)::date::text as month, d.account_id, d.reason, d.source, sum(d.entries)::text as entries, sum(d.credits)::text as credits
        from credit_flow_daily d ${sealed} group by 1, 2, 3, 4, 5 having sum(d.entries) <> 0 order by 1, 2, 3, 4, 5`),
    },
  };
}

describe('reports', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const agencyActor = (agencyId: string): Actor => ({ kind: 'user', id: 'u', scope: 'agency', agencyId, subAccountId: null, role: 'owner', billing: true });
  const clientActor = (agencyId: string, subAccountId: string): Actor => ({ kind: 'user', id: 'u', scope: 'sub_account', agencyId, subAccountId, role: 'owner', billing: true });

  const department = async (name: string, creditsPerRequest: number) =>
    (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name, creditsPerRequest }).expect(201)).body.id as string;
  const representative = async (key: string, name: string) =>
    (await api().post('/api/v1/representatives').set(bearer(key)).send({ name, email: `${name.toLowerCase()}@example.com` }).expect(201)).body.id as string;

  let depts: string[];
  let reps: Record<string, string>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-01T06:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
    depts = [await department('Sales', 2), await department('Support', 5), await department('Free', 0)];
    for (const s of w.a.subs) await api().put(`/api/v1/sub-accounts/${s.id}/departments`).set(bearer(w.a.key)).send({ departmentIds: depts }).expect(200);
    reps = { s0: await representative(w.a.subs[0].key, 'Ayla'), s1: await representative(w.a.subs[1].key, 'Berk'), pool: await representative(w.a.key, 'Cem') };
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1_000_000, reason: 'seed' }).expect(201);
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  describe('representativeId on usage events', () => {
    beforeEach(async () => {
      await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[0].id, credits: 100, source: 'purchase', reason: 'grant', reference: 'r' }, deps.clock.now()));
    });

    it('one of the account\'s representatives is stored with the conversation and counted by representative', async () => {
      await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c1', departmentId: depts[0], representativeId: reps.s0 }).expect(200);
      await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c2', departmentId: depts[0] }).expect(200);
      const rows = await deps.db.select({ c: usageConversations.conversationId, r: usageConversations.representativeId }).from(usageConversations).orderBy(usageConversations.conversationId);
      expect(rows).to.deep.equal([{ c: 'c1', r: reps.s0 }, { c: 'c2', r: null }]);
      const report = await usageReport(deps, { actor: clientActor(w.a.id, w.a.subs[0].id), query: { by: 'representative' } });
      expect(report.rows.map((r) => [r.key, r.name, r.conversations, r.credits])).to.have.deep.members([[reps.s0, 'Ayla', 1, 2], ['', null, 1, 2]]);
    });

    it('an unknown representative, or a sibling\'s, is a 422 representative_not_found that charges and records nothing', async () => {
      for (const representativeId of ['rep_nope', reps.s1, reps.pool]) {
        const res = await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c1', departmentId: depts[0], representativeId }).expect(422);
        expect(res.body.error).to.equal('representative_not_found');
      }
      const res = await api().post('/api/v1/usage').set(bearer(w.b.subs[0].key)).send({ conversationId: 'c1', departmentId: depts[0], representativeId: reps.s0 });
      expect(res.status).to.be.oneOf([404, 422]); // another agency's department is unknown first
      expect(await deps.db.select().from(usageConversations)).to.deep.equal([]);
      expect(rowsOf(await deps.db.execute(sql`select * from usage_daily`))).to.deep.equal([]);
    });

    it('in a batch only the event naming a wrong representative is refused', async () => {
      const res = await api().post('/api/v1/usage/batch').set(bearer(w.a.subs[0].key)).send({
        events: [
          { conversationId: 'a', departmentId: depts[0], representativeId: reps.s0 },
          { conversationId: 'b', departmentId: depts[0], representativeId: reps.s1 },
          { conversationId: 'c', departmentId: depts[1] },
        ],
      }).expect(200);
      expect(res.body.results.map((r: { status: number; error?: string }) => r.error ?? r.status)).to.deep.equal([200, 'representative_not_found', 200]);
      expect((await deps.db.select().from(usageConversations)).map((r) => r.conversationId).sort()).to.deep.equal(['a', 'c']);
    });
  });

  it('property: over random ranges, every report total equals the sums over usage_conversations and credit_ledger', async function () {
    this.timeout(240_000);
    const seed = REPORTS_SEED ?? Date.now() % 100_000;
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const start = deps.clock.now();
    const owners = [
      { key: w.a.subs[0].key, sub: w.a.subs[0].id, rep: reps.s0 },
      { key: w.a.subs[1].key, sub: w.a.subs[1].id, rep: reps.s1 },
      { key: w.a.key, sub: null, rep: reps.pool },
    ];
    let seals = 0;
    // About five weeks from March 1st: ranges cross the month's end.
    for (let step = 0; step < 60; step++) {
      deps.testClock.advance(Math.floor(rand() * 30 * HOUR) + 1000);
      const now = deps.clock.now();
      const roll = rand();
      const sub = pick(w.a.subs);
      if (roll < 0.08) {
        // The second level: the job as the tick runs it (the closed days), or sealed up to today
        // or a few days ahead, so that usage and ledger entries then land on sealed days and the
        // writers add them to the second level themselves.
        seals++;
        if (rand() < 0.5) await runReportSealing(deps);
        else await sealReportDays(deps.db, { agencyId: w.a.id, through: DateTime.fromJSDate(now).setZone(ZONE).plus({ days: Math.floor(rand() * 3) }).toISODate()! });
      } else if (roll < 0.26) {
        const source = pick(['purchase', 'monthly_grant', 'topup', 'adjustment'] as const);
        const expiresAt = rand() < 0.3 ? new Date(now.getTime() + Math.floor(rand() * 48) * HOUR) : null;
        await deps.db.transaction((tx) => transferToSubAccount(tx, {
          agencyId: w.a.id, subAccountId: sub.id, credits: 20 + Math.floor(rand() * 200), source, reason: source === 'adjustment' ? 'adjustment' : 'grant', reference: `t${step}`, expiresAt,
        }, now));
      } else if (roll < 0.31) {
        await deps.db.transaction((tx) => forfeitToPool(tx, { agencyId: w.a.id, subAccountId: sub.id, source: 'purchase', reference: `f${step}`, poolReference: `fp${step}`, note: 'forfeit' }, now));
      } else if (roll < 0.36) {
        const credits = -(1 + Math.floor(rand() * 5));
        await api().post(`/api/v1/sub-accounts/${sub.id}/adjustments`).set(bearer(w.a.key)).send({ credits, reason: 'fix' });
      } else {
        const o = pick(owners);
        const events = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => ({
          conversationId: `c${Math.floor(rand() * 60)}`, departmentId: pick(depts), ...(rand() < 0.6 ? { representativeId: o.rep } : {}),
        }));
        await api().post('/api/v1/usage/batch').set(bearer(o.key)).send({ events }).expect(200);
      }
    }
    const firstDay = DateTime.fromJSDate(start).setZone(ZONE).toISODate()!;
    const lastDay = DateTime.fromJSDate(deps.clock.now()).setZone(ZONE).toISODate()!;
    const span = DateTime.fromISO(lastDay).diff(DateTime.fromISO(firstDay), 'days').days;
    const day = (n: number) => DateTime.fromISO(firstDay).plus({ days: n }).toISODate()!;
    const inZone = (col: string) => sql.raw(`(${col} at time zone '${ZONE}')::date`);

    let usageSeen = 0;
    let flowSeen = 0;
    if (rand() < 0.5) await runReportSealing(deps);
    const { got, want } = await levelsAgainstDaily(deps.db);
    expect(got, `seed ${seed}: the second level sums the sealed days of the first`).to.deep.equal(want);
    for (let k = 0; k < 20; k++) {
      // The whole span, the span but its first days (a month read whole less the days before the
      // range), then random ranges.
      const fixed: [number, number][] = [[-1, span + 1], [2, span], [1, span - 1]];
      const a = fixed[k]?.[0] ?? Math.floor(rand() * (span + 2)) - 1;
      const b = fixed[k]?.[1] ?? a + Math.floor(rand() * (span + 2 - a));
      const from = day(a);
      const to = day(b);
      const sub = rand() < 0.3 ? pick(w.a.subs).id : null;
      const dept = rand() < 0.3 ? pick(depts) : null;
      const query = { from, to, ...(sub ? { subAccount: sub } : {}), ...(dept ? { department: dept } : {}) };
      const msg = `seed ${seed}, range ${from}..${to}, sub ${sub}, department ${dept}`;

      // Usage, by every grouping, against the conversations themselves.
      const raw = rowsOf<{ dept: string; sub: string; rep: string; day: string; n: string; credits: string }>(await deps.db.execute(sql`
        select u.department_id as dept, coalesce(a.sub_account_id, '') as sub, coalesce(u.representative_id, '') as rep, to_char(${inZone('u.created_at')}, 'YYYY-MM-DD') as day,
          count(*) as n, sum(u.charged) as credits
        from usage_conversations u join credit_accounts a on a.id = u.account_id
        where u.agency_id = ${w.a.id} and ${inZone('u.created_at')} between ${from}::date and ${to}::date
          ${sub ? sql`and a.sub_account_id = ${sub}` : sql``} ${dept ? sql`and u.department_id = ${dept}` : sql``}
        group by 1, 2, 3, 4`));
      usageSeen += raw.length;
      const sums = (key: 'dept' | 'sub' | 'rep' | 'day') => {
        const m = new Map<string, [number, number]>();
        for (const r of raw) {
          const v = m.get(r[key]) ?? [0, 0];
          m.set(r[key], [v[0] + Number(r.n), v[1] + Number(r.credits)]);
        }
        return m;
      };
      for (const [by, key] of [['day', 'day'], ['department', 'dept'], ['subAccount', 'sub'], ['representative', 'rep']] as const) {
        const report = await usageReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by } });
        const got = new Map(report.rows.filter((r) => r.conversations > 0).map((r) => [r.key, [r.conversations, r.credits]]));
        expect(got, `${msg}, by ${by}`).to.deep.equal(sums(key));
        if (by !== 'subAccount' && by !== 'representative') continue;
        // Paged: each page's groups plus its "others" are the totals; the pages together are every
        // group once, largest first; the CSV's read (all) is the same groups.
        const every = await usageReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by }, all: true });
        expect(new Map(every.rows.map((r) => [r.key, [r.conversations, r.credits]])), `${msg}, by ${by}, all`).to.deep.equal(sums(key));
        expect(every.totals, msg).to.deep.equal(report.totals);
        const limit = 1 + Math.floor(rand() * 2);
        const paged: typeof report.rows = [];
        for (let page = 1; page <= Math.max(1, Math.ceil(every.rows.length / limit)) + 1; page++) {
          const p = await usageReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by, page: String(page), limit: String(limit) } });
          expect(p.totals, `${msg}, by ${by}, page ${page}`).to.deep.equal(report.totals);
          expect(p.paging!.groups, msg).to.equal(every.rows.length);
          const shown = p.rows.reduce((t, r) => [t[0]! + r.conversations, t[1]! + r.credits], [0, 0]);
          expect([shown[0]! + p.paging!.others.conversations, shown[1]! + p.paging!.others.credits], `${msg}, by ${by}, page ${page}: page + others = totals`)
            .to.deep.equal([p.totals.conversations, p.totals.credits]);
          expect(p.paging!.others.groups + p.rows.length, msg).to.equal(every.rows.length);
          paged.push(...p.rows);
        }
        expect(paged, `${msg}, by ${by}: the pages are the CSV's rows, in order`).to.deep.equal(every.rows);
        for (let i = 1; i < paged.length; i++) {
          const [a, b] = [paged[i - 1]!, paged[i]!];
          expect(a.credits > b.credits || (a.credits === b.credits && a.conversations >= b.conversations), `${msg}, by ${by}: largest first`).to.equal(true);
        }
      }

      // Credit flow: every column and the net, against the ledger (usage included).
      const ledger = rowsOf<{ reason: string; source: string; credits: string }>(await deps.db.execute(sql`
        select l.reason, coalesce(l.source, '') as source, sum(l.delta) as credits from credit_ledger l
        where l.agency_id = ${w.a.id} and ${inZone('l.created_at')} between ${from}::date and ${to}::date ${sub ? sql`and l.sub_account_id = ${sub}` : sql``}
        group by 1, 2`));
      const expected = Object.fromEntries(flowColumns.map((c) => [c, 0])) as Record<string, number>;
      let net = 0;
      for (const l of ledger) {
        const credits = Number(l.credits);
        if (credits === 0) continue;
        expected[flowColumn(l.reason, l.source, credits)]! += Math.abs(credits);
        if (l.reason !== 'consume') flowSeen++;
        net += credits;
      }
      for (const by of ['day', 'account'] as const) {
        const flow = await creditFlowReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by } });
        const { in: _in, out: _out, net: gotNet, ...columns } = flow.totals;
        expect(columns, `${msg}, flow by ${by}`).to.deep.equal(expected);
        expect(gotNet, msg).to.equal(net);
        if (by !== 'account') continue;
        // Paged by account: the rows of all accounts sum to the totals; each page plus its
        // "others" is the totals, column by column; the pages together are every account once.
        const every = await creditFlowReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by }, all: true });
        const figures = [...flowColumns, 'in', 'out', 'net'] as const;
        const sum = (rows: typeof every.rows) => Object.fromEntries(figures.map((c) => [c, rows.reduce((t, r) => t + r[c], 0)]));
        expect(sum(every.rows), `${msg}, flow by account: the accounts add up to the totals`).to.deep.equal(sum([{ key: '', name: null, ...flow.totals }]));
        const limit = 1 + Math.floor(rand() * 2);
        const paged: typeof every.rows = [];
        for (let page = 1; page <= Math.max(1, Math.ceil(every.rows.length / limit)) + 1; page++) {
          const p = await creditFlowReport(deps, { actor: agencyActor(w.a.id), query: { ...query, by, page: String(page), limit: String(limit) } });
          expect(p.totals, `${msg}, flow page ${page}`).to.deep.equal(flow.totals);
          const { groups: otherGroups, ...others } = p.paging!.others;
          expect(sum([...p.rows, { key: '', name: null, ...others }]), `${msg}, flow page ${page}: page + others = totals`).to.deep.equal(sum([{ key: '', name: null, ...p.totals }]));
          expect(otherGroups + p.rows.length, msg).to.equal(every.rows.length);
          paged.push(...p.rows);
        }
        expect(paged, `${msg}, flow by account: the pages are the CSV's rows, in order`).to.deep.equal(every.rows);
        for (let i = 1; i < paged.length; i++) {
          const [a, b] = [paged[i - 1]!, paged[i]!];
          expect(a.out > b.out || (a.out === b.out && a.in >= b.in), `${msg}, flow by account: largest first`).to.equal(true);
        }
      }
    }

    expect(seals, 'sealed on the way').to.be.greaterThan(0);
    expect(usageSeen, 'the ranges held usage').to.be.greaterThan(10);
    expect(flowSeen, 'the ranges held other movements').to.be.greaterThan(5);

    // The rollups equal a rebuild from the raw tables, and rebuilding twice changes nothing.
    const snapshot = async () => ({
      usage: rowsOf(await deps.db.execute(sql`select * from usage_daily where conversations <> 0 order by 1, 2, 3, 5, 6`)),
      flow: rowsOf(await deps.db.execute(sql`select * from credit_flow_daily where entries <> 0 order by 1, 2, 3, 5, 6`)),
      levels: (await levelsAgainstDaily(deps.db)).got,
      marks: rowsOf(await deps.db.execute(sql`select * from report_rollup_marks order by 1`)),
    });
    const before = await snapshot();
    await rebuildReportRollups(deps.db, { agencyId: w.a.id, from: day(-1), to: day(span + 1) });
    await rebuildReportRollups(deps.db, { agencyId: w.a.id, from: day(-1), to: day(span + 1) });
    expect(await snapshot(), `seed ${seed}`).to.deep.equal(before);
  });

  it('monthPlan: months plus and minus days cover every day of the range once, and sealed days only through months', () => {
    const rand = rng(REPORTS_SEED ?? 7);
    const base = DateTime.fromISO('2025-12-20', { zone: 'UTC' });
    const day = (n: number) => base.plus({ days: n }).toISODate()!;
    for (let k = 0; k < 500; k++) {
      const a = Math.floor(rand() * 120);
      const from = day(a);
      const to = day(a + Math.floor(rand() * 120));
      const mark = rand() < 0.2 ? null : day(Math.floor(rand() * 260) - 10);
      const plan = monthPlan(from, to, mark);
      const count = new Map<string, number>();
      const add = (d: string, n: number) => count.set(d, (count.get(d) ?? 0) + n);
      const each = (f: string, t: string, n: number) => { for (let d = DateTime.fromISO(f, { zone: 'UTC' }); d.toISODate()! <= t; d = d.plus({ days: 1 })) add(d.toISODate()!, n); };
      for (const m of plan.months) {
        const end = DateTime.fromISO(m, { zone: 'UTC' }).endOf('month').toISODate()!;
        expect(mark !== null && mark >= m, `${from}..${to} mark ${mark}: month ${m} has sealed days`).to.equal(true);
        each(m, mark !== null && mark < end ? mark : end, 1);
      }
      for (const [f, t] of plan.plus) each(f, t, 1);
      for (const [f, t] of plan.minus) each(f, t, -1);
      const got = [...count].filter(([, n]) => n !== 0).sort();
      const want: [string, number][] = [];
      for (let d = DateTime.fromISO(from, { zone: 'UTC' }); d.toISODate()! <= to; d = d.plus({ days: 1 })) want.push([d.toISODate()!, 1]);
      expect(got, `${from}..${to} mark ${mark}`).to.deep.equal(want);
    }
  });

  it('sealing twice, or twice at once, counts nothing twice; a rebuild keeps the second level', async () => {
    await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[0].id, credits: 1000, source: 'purchase', reason: 'grant', reference: 'r' }, deps.clock.now()));
    for (let d = 0; d < 40; d++) {
      await api().post('/api/v1/usage/batch').set(bearer(w.a.subs[d % 2]!.key)).send({ events: [{ conversationId: `c${d}`, departmentId: depts[d % 3], representativeId: d % 2 ? reps.s1 : reps.s0 }, { conversationId: `d${d}`, departmentId: depts[1] }] }).expect(200);
      deps.testClock.advance(24 * HOUR);
    }
    const today = DateTime.fromJSDate(deps.clock.now()).setZone(ZONE).toISODate()!;
    const results = await Promise.all([runReportSealing(deps), runReportSealing(deps), sealReportDays(deps.db, { agencyId: w.a.id, through: today })]);
    expect(results.map((r) => (r && 'sealed' in r ? r.sealed : r ? 1 : 0)).reduce((x, y) => x + y, 0), 'some run sealed').to.be.greaterThan(0);
    await runReportSealing(deps);
    await sealReportDays(deps.db, { agencyId: w.a.id, through: today });
    const { got, want } = await levelsAgainstDaily(deps.db);
    expect(got).to.deep.equal(want);
    expect(got.usageMonths.length, 'two months sealed').to.be.greaterThan(2);
    const [mark] = rowsOf<{ d: string }>(await deps.db.execute(sql`select sealed_through::text as d from report_rollup_marks where agency_id = ${w.a.id}`));
    expect(mark!.d).to.equal(today);
    // A late event (on a sealed day) goes to both levels; a rebuild leaves the same rows.
    await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'late', departmentId: depts[0] }).expect(200);
    const after = await levelsAgainstDaily(deps.db);
    expect(after.got).to.deep.equal(after.want);
    expect(after.got).to.not.deep.equal(got);
    await rebuildReportRollups(deps.db, { agencyId: w.a.id, from: '2026-02-01', to: '2026-05-01' });
    expect((await levelsAgainstDaily(deps.db)).got).to.deep.equal(after.got);
    const all = await usageReport(deps, { actor: agencyActor(w.a.id), query: { from: '2026-03-01', to: today, by: 'subAccount' } });
    const [raw] = rowsOf<{ n: string }>(await deps.db.execute(sql`select count(*)::text as n from usage_conversations where agency_id = ${w.a.id}`));
    expect(all.totals.conversations).to.equal(Number(raw!.n)).and.to.be.greaterThan(40);
  });

  describe('who reads what', () => {
    it('a client reads its own account only, whatever sub-account the query names', async () => {
      await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[1].id, credits: 100, source: 'purchase', reason: 'grant', reference: 'r' }, deps.clock.now()));
      await api().post('/api/v1/usage').set(bearer(w.a.subs[1].key)).send({ conversationId: 'x', departmentId: depts[1] }).expect(200);
      const mine = await api().get(`/api/v1/reports/usage?by=subAccount&subAccount=${w.a.subs[1].id}`).set(bearer(w.a.subs[0].key)).expect(200);
      expect(mine.body.data).to.deep.equal([]);
      expect(mine.body.filters.subAccountId).to.equal(w.a.subs[0].id);
      const theirs = await api().get('/api/v1/reports/usage?by=subAccount').set(bearer(w.a.subs[1].key)).expect(200);
      expect(theirs.body.totals).to.deep.equal({ conversations: 1, credits: 5 });
      await api().get('/api/v1/reports/sales').set(bearer(w.a.subs[1].key)).expect(403);
    });

    it('an agency cannot name another agency\'s sub-account or department; the platform reads sales only', async () => {
      const res = await api().get(`/api/v1/reports/usage?subAccount=${w.b.subs[0].id}`).set(bearer(w.a.key)).expect(422);
      expect(res.body.fields).to.have.property('subAccount');
      await api().get(`/api/v1/reports/usage?department=${depts[0]}`).set(bearer(w.b.key)).expect(422);
      await api().get('/api/v1/reports/usage').set(bearer(w.platformKey)).expect(403);
      const sales = await api().get('/api/v1/reports/sales').set(bearer(w.platformKey)).expect(200);
      expect(sales.body.data).to.be.an('array');
      await api().get('/api/v1/reports/usage?from=2026-01-01&to=2027-06-01').set(bearer(w.a.key)).expect(422);
    });

    it('sales: an agency\'s resold packages by month, paid apart from open', async () => {
      const now = deps.clock.now();
      for (const [id, status, price] of [['p1', 'granted', 1000], ['p2', 'pending_payment', 500], ['p3', 'payment_failed', 700]] as const) {
        await deps.db.execute(sql`insert into purchases (id, agency_id, sub_account_id, package_id, package_version_id, type, price_minor, currency, status, payment_method, created_at, updated_at)
          values (${id}, ${w.a.id}, ${w.a.subs[0].id}, 'pkg_starter', 'ver_missing', 'credit', ${price}, 'TRY', ${status}, 'card', ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)`);
      }
      const report = await salesReport(deps, { actor: agencyActor(w.a.id), query: {} });
      expect(report.totals).to.deep.equal([{ currency: 'TRY', paidMinor: 1000, openMinor: 500 }]);
      const other = await salesReport(deps, { actor: agencyActor(w.b.id), query: {} });
      expect(other.rows).to.deep.equal([]);
    });
  });

  describe('pages', () => {
    it('agency, client and platform pages render with a chart, a table and a CSV link; the CSV holds the rows', async () => {
      // Before any usage the page says so and what to do, instead of a table of zeros alone.
      const before = (await signIn(app, w.a.owner.email)).agent;
      expect((await before.get('/agency/reports/usage').expect(200)).text).to.contain('data-testid="report-nothing-yet"');
      await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[0].id, credits: 100, source: 'purchase', reason: 'grant', reference: 'r' }, deps.clock.now()));
      await api().post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'x', departmentId: depts[1], representativeId: reps.s0 }).expect(200);
      const agency = (await signIn(app, w.a.owner.email)).agent;
      for (const path of ['/agency/reports/usage', '/agency/reports/usage?by=representative', '/agency/reports/usage?by=subAccount', '/agency/reports/credit-flow?by=account', '/agency/reports/sales']) {
        const res = await agency.get(path).expect(200);
        expect(res.text, path).to.contain('data-chart=').and.contain('data-testid="report-table"').and.contain('/assets/js/report-chart.js');
        if (path.includes('/usage')) expect(res.text, path).not.to.contain('report-nothing-yet');
      }
      await agency.get('/agency/reports').expect(302).expect('Location', '/agency/reports/usage');
      const csv = await agency.get('/agency/reports/usage.csv?by=department').expect(200).expect('Content-Type', /text\/csv/);
      expect(csv.text.split('\r\n')[0]).to.equal('department_id,name,conversations,credits');
      expect(csv.text).to.contain('"Support","1","5"');
      // Many groups come a page at a time: the page's groups, "all others", the totals, a link to
      // the next page; the CSV holds every group.
      await deps.db.transaction((tx) => transferToSubAccount(tx, { agencyId: w.a.id, subAccountId: w.a.subs[1].id, credits: 100, source: 'purchase', reason: 'grant', reference: 'r1' }, deps.clock.now()));
      await api().post('/api/v1/usage').set(bearer(w.a.subs[1].key)).send({ conversationId: 'y', departmentId: depts[0], representativeId: reps.s1 }).expect(200);
      const first = await agency.get('/agency/reports/usage?by=representative&limit=1').expect(200);
      expect(first.text).to.contain('Ayla').and.contain('data-testid="report-others"').and.contain('All others (1)').and.contain('rel="next"');
      expect(first.text).not.to.contain('Berk');
      expect(first.text).to.match(/data-testid="total-credits">7</);
      const second = await agency.get('/agency/reports/usage?by=representative&limit=1&page=2').expect(200);
      expect(second.text).to.contain('Berk').and.contain('rel="prev"');
      expect(second.text).not.to.contain('>Ayla<');
      expect(second.text).not.to.contain('rel="next"');
      const apiPage = await api().get('/api/v1/reports/credit-flow?by=account&limit=1').set(bearer(w.a.key)).expect(200);
      expect(apiPage.body.data).to.have.length(1);
      expect(apiPage.body.paging).to.include({ page: 1, limit: 1, pages: 3 });
      expect(apiPage.body.paging.others.groups).to.equal(2);
      const all = await agency.get('/agency/reports/usage.csv?by=representative&limit=1').expect(200);
      expect(all.text.trim().split('\r\n')).to.have.length(3);
      expect(all.text).to.contain('Ayla').and.contain('Berk');
      const bad = await agency.get(`/agency/reports/usage?subAccount=${w.b.subs[0].id}`).expect(422);
      expect(bad.text).to.contain('No such sub-account.');

      const client = (await signIn(app, w.a.subs[0].owner.email)).agent;
      const page = await client.get('/portal/reports/usage?by=representative').expect(200);
      expect(page.text).to.contain('Ayla').and.not.contain(w.a.subs[1].name);
      await client.get('/agency/reports/usage').expect((r) => expect(r.status).to.be.oneOf([302, 403]));

      const platform = (await signIn(app, w.platformAdmin.email)).agent;
      await platform.get('/platform/reports/sales').expect(200);
    });

    it('in Turkish, the page reads Turkish and numbers are Turkish', async () => {
      const { agent, csrf } = await signIn(app, w.a.owner.email);
      await agent.post('/language').type('form').send({ _csrf: csrf, lang: 'tr' });
      const res = await agent.get('/agency/reports/credit-flow').expect(200);
      expect(res.text).to.contain('Kredi hareketleri').and.contain('Satın almalar').and.not.contain('Credit flow');
    });
  });
});
