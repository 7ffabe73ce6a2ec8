import { and, eq, lte, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { subAccounts, subscriptions } from '../../db/schema';
import { notify } from '../notifications/notify';
import { nthAnniversary, startOfDayInstant, type CalendarDay } from '../billing/proration';
import { applyLowBalanceRule } from '../credits/low-balance';
import { writeCreditMovements } from '../credits/movements';
import type { Deps } from '../deps';
import { pgArray } from '../lib/pg-array';
import { rowsOf } from '../lib/rows';
import { dispatchEmails } from '../mail/outbox';
import { syncPackageDepartments } from '../purchases/purchases.usecases';
import { bulkArray } from '../lib/bulk';
import { newIds } from '../lib/ids';
import { grantKey, planGrants, type DueSubscription, type GrantPlan, type PlanAccount, type PoolLot } from './grant-plan';
import { msg } from '../lib/message';

export const SUBSCRIPTION_GRANTS_JOB = 'subscriptions.grant';

/** Due subscriptions granted per transaction: whole agencies, or one agency's next 5,000. */
export const GRANT_CHUNK = 5000;
/** Due subscriptions read per pass (then grouped by agency and packed into chunks). */
const SCAN_SIZE = 100_000;

export interface GrantRun {
  /** Months granted (claimed) in this run. */
  granted: number;
  /** Due months left ungranted because the agency's pool could not cover them. */
  failed: number;
  ended: number;
}

interface DueRow {
  id: string;
  agency_id: string;
  sub_account_id: string;
  zone: string;
}

/** One agency's part of a chunk. */
interface AgencyWork {
  agencyId: string;
  zone: string;
  ids: string[];
  subAccountIds: string[];
}

/**
 * The monthly grant job: every active subscription whose next grant is due receives its month
 * out of its agency's pool, set-based. Due subscriptions are grouped by agency and packed into
 * chunks of up to GRANT_CHUNK (whole agencies; a bigger agency gets chunks of its own). One
 * transaction per chunk locks the pools and the balances once, in id order (as lockPair and the
 * usage recorder do), re-reads the chunk under the lock, computes every grant in memory
 * (grant-plan.ts: entries, balances and expiry sweeps, anniversaries in each agency's zone) and
 * writes everything with a fixed handful of statements (each pool's total leaves its lots by the
 * FIFO rule, credit_lots_take). Idempotent: a month is claimed in
 * subscription_grants (subscription, month) with ON CONFLICT DO NOTHING and only claimed
 * months move credits; a second worker waits on the locks, then finds the months no longer due.
 * When a pool runs short, that agency's oldest due grants are made as far as it covers, the rest
 * stay due (retried by the next run) and the agency gets one notice per run; other agencies are
 * not held back. Missed months come back in the next pass, one month per subscription per pass.
 */
export async function runSubscriptionGrants(deps: Deps, opts: { batchSize?: number; scanSize?: number } = {}): Promise<GrantRun> {
  const now = deps.clock.now();
  const run: GrantRun = { granted: 0, failed: 0, ended: await endExpiredSubscriptions(deps, now) };
  const chunkSize = opts.batchSize ?? GRANT_CHUNK;
  const scanSize = Math.max(opts.scanSize ?? SCAN_SIZE, chunkSize);
  const anniversaryAt = anniversaries();
  /** Subscriptions another transaction held (or that changed under us): left for the next run. */
  const skipped = new Set<string>();
  /** Agencies whose pool ran short in this run: told once, their remaining grants stay due. */
  const short = new Set<string>();
  for (;;) {
    const due = rowsOf<DueRow>(await deps.db.execute(sql`
      select s.id, s.agency_id, s.sub_account_id, a.time_zone as zone
      from subscriptions s join agencies a on a.id = s.agency_id
      where s.status = 'active' and s.next_grant_at <= ${now.toISOString()}::timestamptz and a.status = 'active'
        -- A suspended client's grants pause too (two overdue invoices to its agency); they resume when it pays.
        and (s.sub_account_id is null or exists (select 1 from sub_accounts sa where sa.id = s.sub_account_id and sa.status = 'active'))
        and not (s.agency_id = any(${pgArray([...short])}::text[])) and not (s.id = any(${pgArray([...skipped])}::text[]))
      order by s.next_grant_at, s.id
      limit ${scanSize}`));
    if (due.length === 0) return run;
    // Every chunk grants something, finds a pool short (that agency is excluded from then on) or
    // finds candidates gone (excluded too): the loop ends. The guard is for safety only.
    let progressed = false;
    const excluded = short.size + skipped.size;
    for (const chunk of packChunks(due, chunkSize)) {
      // A pool that ran short in an earlier chunk of this run: that agency's later grants wait too.
      for (const a of chunk) if (short.has(a.agencyId)) run.failed += a.ids.length;
      const work = chunk.filter((a) => !short.has(a.agencyId));
      if (work.length === 0) continue;
      const out = await withRetry(() => grantChunk(deps, { work, now, anniversaryAt }));
      await dispatchEmails(deps.queue, out.mailIds);
      run.granted += out.granted;
      run.failed += out.failed;
      if (out.processed > 0) progressed = true;
      for (const id of out.notFound) skipped.add(id);
      for (const a of out.shortAgencies) short.add(a);
    }
    if (!progressed && short.size + skipped.size === excluded) return run;
  }
}

/** Groups due rows by agency (in due order) and packs whole agencies into chunks of up to `size`. */
function packChunks(due: DueRow[], size: number): AgencyWork[][] {
  const byAgency = new Map<string, AgencyWork>();
  for (const d of due) {
    let a = byAgency.get(d.agency_id);
    if (!a) byAgency.set(d.agency_id, (a = { agencyId: d.agency_id, zone: d.zone, ids: [], subAccountIds: [] }));
    a.ids.push(d.id);
    a.subAccountIds.push(d.sub_account_id);
  }
  const chunks: AgencyWork[][] = [];
  let current: AgencyWork[] = [];
  let n = 0;
  for (const a of byAgency.values()) {
    for (let i = 0; i < a.ids.length; i += size) {
      const part = { ...a, ids: a.ids.slice(i, i + size), subAccountIds: a.subAccountIds.slice(i, i + size) };
      if (n + part.ids.length > size && current.length > 0) {
        chunks.push(current);
        current = [];
        n = 0;
      }
      current.push(part);
      n += part.ids.length;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** One agency's state in a chunk's transaction. */
interface AgencyState {
  work: AgencyWork;
  subs: DueSubscription[];
  pool: PlanAccount | null;
  lots: PoolLot[];
  balances: Map<string, PlanAccount>;
}

interface ChunkResult {
  /** Months claimed (credits moved, or a zero-credit month). */
  granted: number;
  /** Subscriptions advanced. */
  processed: number;
  /** Due grants left ungranted because a pool was short. */
  failed: number;
  shortAgencies: string[];
  /** Candidates not found due and unlocked under the lock. */
  notFound: string[];
  mailIds: (string | null)[];
}

interface AccountRow {
  id: string;
  agency_id: string;
  sub_account_id: string | null;
  balance: number;
  low_balance_threshold: number | null;
  low_balance_notified: boolean;
}

/** What both drivers' errors carry (postgres.js: constraint_name; PGlite: constraint). */
interface PgError {
  code?: string;
  constraint_name?: string;
  constraint?: string;
}

async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // A deadlock or serialization failure (another process locking in another order): the
      // transaction rolled back, nothing was applied; try again.
      // A balance account created meanwhile by someone else: the retry finds and locks it.
      const e = err as { cause?: PgError } & PgError;
      const code = e?.cause?.code ?? e?.code;
      const constraint = e?.cause?.constraint_name ?? e?.cause?.constraint ?? e?.constraint_name ?? e?.constraint;
      if (attempt < 4 && (code === '40P01' || code === '40001' || (code === '23505' && constraint === 'credit_accounts_owner_key'))) continue;
      throw err;
    }
  }
}

async function grantChunk(
  deps: Deps,
  p: { work: AgencyWork[]; now: Date; anniversaryAt: (zone: string, startDay: CalendarDay, n: number) => Date },
): Promise<ChunkResult> {
  const { now } = p;
  const nowIso = now.toISOString();
  const ids = p.work.flatMap((a) => a.ids);
  return deps.db.transaction(async (tx) => {
    // 1. The pools and the existing balances, locked in id order (as lockPair and the usage
    //    recorder do, so none of them can deadlock with this). A second worker waits here.
    const owners = p.work.flatMap((a) => [{ agencyId: a.agencyId, sub: '' }, ...[...new Set(a.subAccountIds)].map((sub) => ({ agencyId: a.agencyId, sub }))]);
    const lockAccounts = async (list: { agencyId: string; sub: string }[]) => rowsOf<AccountRow>(await tx.execute(sql`
      select c.id, c.agency_id, c.sub_account_id, c.balance, c.low_balance_threshold, c.low_balance_notified
      from credit_accounts c
      join unnest(${bulkArray(list.map((o) => o.agencyId))}::text[], ${pgArray(list.map((o) => o.sub))}::text[]) as o(agency_id, sub)
        on c.agency_id = o.agency_id and coalesce(c.sub_account_id, '') = o.sub
      order by c.id
      for update of c`));
    const accountRows = await lockAccounts(owners);
    // Balances another grant run created while we waited for the pools were not in that
    // statement's snapshot: look again now that we hold the pools (nobody else grants from them).
    const have = new Set(accountRows.map((r) => `${r.agency_id}|${r.sub_account_id ?? ''}`));
    const missing = owners.filter((o) => !have.has(`${o.agencyId}|${o.sub}`));
    if (missing.length > 0) accountRows.push(...(await lockAccounts(missing)));

    // 2. The chunk again, now that we hold the pools: what is still due. Rows another
    //    transaction holds (a purchase ending the subscription) are skipped, never waited for.
    const subRows = rowsOf<{ id: string; agency_id: string; sub_account_id: string; monthly_credits: number; start_day: string; next_grant_index: number; due_ms: number; ends_ms: number }>(await tx.execute(sql`
      select id, agency_id, sub_account_id, monthly_credits, start_day, next_grant_index,
             (extract(epoch from next_grant_at) * 1000)::bigint as due_ms, (extract(epoch from ends_at) * 1000)::bigint as ends_ms
      from subscriptions
      where id = any(${pgArray(ids)}::text[]) and status = 'active' and next_grant_at <= ${nowIso}::timestamptz
      order by next_grant_at, id
      for update skip locked`));
    const found = new Set(subRows.map((r) => r.id));
    const notFound = ids.filter((id) => !found.has(id));
    const empty: ChunkResult = { granted: 0, processed: 0, failed: 0, shortAgencies: [], notFound, mailIds: [] };
    if (subRows.length === 0) return empty;

    // 3. Each agency's state: its pool, its balances, its due subscriptions.
    const pools = accountRows.filter((r) => r.sub_account_id === null);
    const byAgency = new Map<string, AgencyState>();
    for (const w of p.work) byAgency.set(w.agencyId, { work: w, subs: [], pool: null, lots: [], balances: new Map() });
    for (const r of accountRows) {
      const a = byAgency.get(r.agency_id)!;
      const account: PlanAccount = { id: r.id, agencyId: r.agency_id, subAccountId: r.sub_account_id, balance: Number(r.balance), isNew: false };
      if (r.sub_account_id === null) a.pool = account;
      else a.balances.set(r.sub_account_id, account);
    }
    const poolAgency = new Map(pools.map((r) => [r.id, r.agency_id]));
    const accountIds = newIds('cra', subRows.length);
    for (const [i, r] of subRows.entries()) {
      const a = byAgency.get(r.agency_id)!;
      a.subs.push({
        id: r.id, subAccountId: r.sub_account_id, monthlyCredits: Number(r.monthly_credits), startDay: r.start_day,
        endsAt: new Date(Number(r.ends_ms)), index: Number(r.next_grant_index), dueAt: new Date(Number(r.due_ms)),
      });
      if (!a.balances.has(r.sub_account_id)) a.balances.set(r.sub_account_id, { id: accountIds[i]!, agencyId: r.agency_id, subAccountId: r.sub_account_id, balance: 0, isNew: true });
    }
    const lotIdList = newIds('lot', subRows.length);
    const lotIds = new Map(subRows.map((r, i) => [r.id, lotIdList[i]!]));
    const planOf = (a: AgencyState, unclaimed?: Set<string>, subs = a.subs) =>
      planGrants({ agencyId: a.work.agencyId, pool: a.pool, poolLots: a.lots, balances: a.balances, subs, lotIds, anniversaryAt: (day, n) => p.anniversaryAt(a.work.zone, day, n), unclaimed });

    // Normally one pass. A plan stops before a grant that would sweep a pool lot after a debit of
    // the same plan (the lot expired between two grants' instants): what is planned is written
    // (the credits leave the lots by the FIFO rule, in the database), and the rest of that
    // agency's grants are planned again from the lots as they are then.
    /** Every account moved, with its balance after the last pass. */
    const moved = new Map<string, PlanAccount>();
    /** Agencies whose pool ran short (a plan that ran short has no rest: at most one per agency). */
    const shorts: { agencyId: string; short: NonNullable<GrantPlan['short']> }[] = [];
    let claimedCount = 0;
    let processed = 0;
    let round = [...byAgency.values()].filter((a) => a.subs.length > 0);
    while (round.length > 0) {
      // 4. The pools' live lots that can have expired by a grant's instant (due ones are due by now).
      const roundPools = round.flatMap((a) => (a.pool ? [a.pool.id] : []));
      for (const a of round) a.lots = [];
      const lotRows = roundPools.length === 0 ? [] : rowsOf<{ id: string; account_id: string; remaining: number; expires_ms: number }>(await tx.execute(sql`
        select id, account_id, remaining, (extract(epoch from expires_at) * 1000)::bigint as expires_ms
        from credit_lots where account_id = any(${pgArray(roundPools)}::text[]) and remaining > 0 and expires_at <= ${nowIso}::timestamptz
        order by expires_at, created_at, id collate "C"`));
      for (const l of lotRows) {
        byAgency.get(poolAgency.get(l.account_id)!)!.lots.push({ id: l.id, remaining: Number(l.remaining), expiresAt: new Date(Number(l.expires_ms)) });
      }

      // 5. Everything computed in memory, agency by agency.
      const plans = new Map(round.map((a) => [a.work.agencyId, planOf(a)]));

      // 6. Claim the months; only claimed months move credits. Under the pool locks all are
      //    normally claimed; a month claimed elsewhere (say a pool-less agency's zero-credit
      //    month, which no pool lock serialises) is advanced without moving anything.
      const grants = [...plans.values()].flatMap((pl) => pl.grants);
      if (grants.length > 0) {
        const claimed = rowsOf<{ subscription_id: string; period_index: number }>(await tx.execute(sql`
          insert into subscription_grants (subscription_id, period_index, agency_id, lot_id, credits, granted_at)
          select * from unnest(${bulkArray(grants.map((x) => x.sub.id))}::text[], ${bulkArray(grants.map((x) => x.sub.index))}::int[], ${bulkArray(grants.map((x) => x.agencyId))}::text[],
                               ${bulkArray(grants.map((x) => x.lotId))}::text[], ${bulkArray(grants.map((x) => x.sub.monthlyCredits))}::bigint[], ${bulkArray(grants.map((x) => x.sub.dueAt))}::timestamptz[])
          on conflict do nothing
          returning subscription_id, period_index`));
        claimedCount += claimed.length;
        processed += grants.length;
        if (claimed.length < grants.length) {
          const got = new Set(claimed.map((c) => grantKey(c.subscription_id, Number(c.period_index))));
          const unclaimed = new Set(grants.map((x) => grantKey(x.sub.id, x.sub.index)).filter((k) => !got.has(k)));
          // Same months, fewer credits: everything still fits, and no sweep comes after a debit
          // that the first plan did not have. The claimed rows' lot ids are unchanged.
          for (const [agencyId, pl] of plans) {
            const again = planOf(byAgency.get(agencyId)!, unclaimed, pl.grants.map((x) => x.sub));
            if (again.short || again.rest.length > 0) throw new Error(`grant re-plan of agency ${agencyId} differs from its plan`);
            plans.set(agencyId, { ...again, short: pl.short, rest: pl.rest });
          }
        }
      }

      const all = [...plans.values()];
      await writePlan(tx, {
        grants: all.flatMap((pl) => pl.grants), ledger: all.flatMap((pl) => pl.ledger), lots: all.flatMap((pl) => pl.lots),
        lotUpdates: all.flatMap((pl) => pl.lotUpdates), draws: all.flatMap((pl) => pl.draws), accounts: all.flatMap((pl) => pl.accounts),
      }, nowIso);
      for (const [agencyId, pl] of plans) if (pl.short) shorts.push({ agencyId, short: pl.short });

      // The accounts as they are now (written: no longer new), for the next pass and the rules below.
      for (const pl of all) {
        for (const acc of pl.accounts) {
          const current = { ...acc, isNew: false };
          moved.set(acc.id, current);
          const a = byAgency.get(acc.agencyId)!;
          if (acc.subAccountId === null) a.pool = current;
          else a.balances.set(acc.subAccountId, current);
        }
      }
      round = round.filter((a) => {
        a.subs = plans.get(a.work.agencyId)!.rest;
        return a.subs.length > 0;
      });
    }

    // Low-balance rule (a pool falling below its threshold, a balance recovering above it).
    const rowById = new Map(accountRows.map((r) => [r.id, r]));
    const mailIds: (string | null)[] = [];
    for (const a of moved.values()) {
      const row = rowById.get(a.id);
      if (!row || row.low_balance_threshold === null) continue;
      const threshold = Number(row.low_balance_threshold);
      const acts = a.balance >= threshold ? row.low_balance_notified : !row.low_balance_notified;
      if (acts) mailIds.push(await applyLowBalanceRule(tx, { id: a.id, agencyId: a.agencyId, subAccountId: a.subAccountId, balance: a.balance, threshold, notified: row.low_balance_notified }, now));
    }

    // One notice per agency whose pool ran short (the run stops granting for it).
    const shortAgencies: string[] = [];
    let failed = 0;
    for (const { agencyId, short } of shorts) {
      const { available, needed, left } = short;
      shortAgencies.push(agencyId);
      failed += left.length;
      await notify(tx, {
        category: 'credits', kind: 'grant_failed', account: { agencyId, subAccountId: null }, at: now,
        inApp: {
          message: msg('email:notice.grantsShort', { count: left.length, available, needed }),
          data: { count: left.length, available, needed, subscriptionIds: left.slice(0, 100).map((s) => s.id) },
        },
      });
    }
    return { granted: claimedCount, processed, failed, shortAgencies, notFound, mailIds };
  });
}

/** The plans, written with one statement per table: the credit movements by src/credits, then the subscriptions. */
async function writePlan(tx: Tx, plan: Omit<GrantPlan, 'short' | 'rest'>, nowIso: string): Promise<void> {
  await writeCreditMovements(tx, { accounts: plan.accounts, lots: plan.lots, ledger: plan.ledger, lotUpdates: plan.lotUpdates, draws: plan.draws }, nowIso);
  if (plan.grants.length > 0) {
    const g = plan.grants;
    await tx.execute(sql`
      update subscriptions set next_grant_index = v.next_index, next_grant_at = v.next_at, updated_at = ${nowIso}::timestamptz
      from unnest(${bulkArray(g.map((x) => x.sub.id))}::text[], ${bulkArray(g.map((x) => x.nextIndex))}::int[], ${bulkArray(g.map((x) => x.nextAt))}::timestamptz[])
        as v(id, next_index, next_at)
      where subscriptions.id = v.id`);
  }
}

/**
 * 00:00 local of a start day's n-th monthly anniversary, per zone; memoised for the run (many
 * subscriptions share a start day and a month).
 */
function anniversaries(): (zone: string, startDay: CalendarDay, n: number) => Date {
  const cache = new Map<string, Date>();
  return (zone, startDay, n) => {
    const key = `${zone}|${startDay}|${n}`;
    let at = cache.get(key);
    if (!at) {
      at = startOfDayInstant(nthAnniversary(startDay, n), zone);
      cache.set(key, at);
    }
    return at;
  };
}

/** Subscriptions whose term is over: ended, their chatbots released. */
async function endExpiredSubscriptions(deps: Deps, now: Date): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const ended = await tx
      .update(subscriptions)
      .set({ status: 'ended', nextGrantAt: null, updatedAt: now })
      .where(and(eq(subscriptions.status, 'active'), lte(subscriptions.endsAt, now)))
      .returning({ agencyId: subscriptions.agencyId, subAccountId: subscriptions.subAccountId, chatbots: subscriptions.chatbots });
    for (const s of ended) {
      await syncPackageDepartments(tx, s.agencyId, s.subAccountId, now);
      if (s.chatbots > 0) await tx.update(subAccounts).set({ chatbots: sql`greatest(${subAccounts.chatbots} - ${s.chatbots}, 0)` }).where(eq(subAccounts.id, s.subAccountId));
    }
    return ended.length;
  });
}
