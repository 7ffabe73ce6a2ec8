// The monthly invoice cut (DESIGN section 6): on the 1st, in each seller's time zone, every
// account with something to bill in the previous month gets one invoice: its prorated monthly
// lines (packages, add-ons, quantities) and its one-off charges (extra sessions, on-account
// top-ups). Set-based: accounts are cut in batches, each batch one transaction with a fixed
// handful of statements whatever its size (read the periods, the charges and the addresses;
// number, insert the invoices and their lines, mark the charges billed), lines computed in
// memory with the pure proration module.
//
// Idempotent: a batch holds its seller's counter row (so cuts of one seller take turns), skips
// accounts that already have the month's invoice, and the unique (account, period) key refuses a
// second one; a killed run left whole batches behind, and a rerun cuts only what is missing.
// Numbers come from the same locked counter inside the batch's transaction: no gaps.
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import type { Deps } from '../deps';
import { rowsOf } from '../lib/rows';
import { bulkArray, newIds } from '../subscriptions/bulk';
import { PLATFORM_SELLER_KEY } from './accounts';
import { monthLines, monthOf, nextMonth, previousMonth, totalOf, type ChargeInput, type MonthBounds, type MonthlySubscriptionInput } from './invoice-lines';
import { addDays, calendarDay, DEFAULT_SELLER_ZONE } from './proration';

export const INVOICE_CUT_JOB = 'invoices.cut';
export const DELIVER_PENDING_JOB = 'invoices.deliver-pending';
/** Accounts per transaction. */
export const CUT_BATCH = 5000;

export interface CutRun {
  invoices: number;
  lines: number;
  /** (seller, month) pairs completed. */
  periods: { sellerKey: string; period: string; invoices: number }[];
  termsEnded: number;
}

interface Seller {
  key: string;
  agencyId: string | null;
  zone: string;
  dueDays: number;
  lastCut: string | null;
}

/** Every seller (the platform and each agency) with its zone, due days and last cut month. */
async function sellers(deps: Pick<Deps, 'db'>): Promise<Seller[]> {
  const rows = rowsOf<{ key: string; agency_id: string | null; zone: string | null; due_days: number; last_cut: string | null }>(await deps.db.execute(sql`
    select s.key, s.agency_id, s.zone, s.due_days, c.last_cut_period as last_cut
    from (
      select ${PLATFORM_SELLER_KEY}::text as key, null::text as agency_id, p.time_zone as zone, p.invoice_due_days as due_days from (select * from platform limit 1) p
      union all
      select a.id, a.id, a.time_zone, a.invoice_due_days from agencies a
    ) s left join invoice_counters c on c.seller_key = s.key`));
  return rows.map((r) => ({ key: r.key, agencyId: r.agency_id, zone: r.zone || DEFAULT_SELLER_ZONE, dueDays: Number(r.due_days), lastCut: r.last_cut }));
}

const sellerCond = (col: string, agencyId: string | null) => (agencyId ? sql`${sql.raw(col)} = ${agencyId}` : sql`${sql.raw(col)} is null`);

/**
 * The cut job: for each seller, every month from the one after its last cut through the month
 * before today (its zone) is cut, oldest first. A seller never cut starts at its first billed month.
 */
export async function runInvoiceCut(deps: Deps, opts: { batchSize?: number } = {}): Promise<CutRun> {
  const now = deps.clock.now();
  const run: CutRun = { invoices: 0, lines: 0, periods: [], termsEnded: await endFinishedTerms(deps, now) };
  for (const seller of await sellers(deps)) {
    const today = calendarDay(now, seller.zone);
    const target = previousMonth(monthOf(today));
    if (seller.lastCut !== null && seller.lastCut >= target.period) continue;
    let month: MonthBounds | null = seller.lastCut !== null ? nextMonth(monthOf(seller.lastCut)) : await firstBilledMonth(deps, seller);
    while (month && month.period <= target.period) {
      const n = await cutSellerMonth(deps, { seller, month, issueDay: today, batchSize: opts.batchSize ?? CUT_BATCH, run });
      run.periods.push({ sellerKey: seller.key, period: month.period, invoices: n });
      month = nextMonth(month);
    }
    // Done through the target month (also when there was nothing to bill).
    await deps.db.execute(sql`
      insert into invoice_counters (seller_key, next_number, last_cut_period, updated_at) values (${seller.key}, 1, ${target.period}, now())
      on conflict (seller_key) do update set last_cut_period = greatest(coalesce(invoice_counters.last_cut_period, ''), excluded.last_cut_period), updated_at = now()`);
  }
  if (run.invoices > 0) await deps.queue.enqueue(DELIVER_PENDING_JOB, {}, { jobId: `deliver-pending:${Math.floor(now.getTime() / 60_000)}` });
  return run;
}

/** The earliest month with a billed day or an unbilled charge; null: nothing to bill. */
async function firstBilledMonth(deps: Pick<Deps, 'db'>, seller: Seller): Promise<MonthBounds | null> {
  const [row] = rowsOf<{ first: string | null }>(await deps.db.execute(sql`
    select least(
      (select min(p.from_day) from billing_periods p join billing_subscriptions s on s.id = p.subscription_id where ${sellerCond('p.seller_agency_id', seller.agencyId)} and s.billing = 'monthly'),
      (select min(c.day) from account_charges c where ${sellerCond('c.seller_agency_id', seller.agencyId)} and c.invoice_id is null)
    )::text as first`));
  return row?.first ? monthOf(row.first) : null;
}

/** Cuts one seller's month, batch by batch (keyset on the account id). Returns the invoices made. */
async function cutSellerMonth(deps: Deps, p: { seller: Seller; month: MonthBounds; issueDay: string; batchSize: number; run: CutRun }): Promise<number> {
  const { seller, month } = p;
  let after = '';
  let made = 0;
  for (;;) {
    const candidates = rowsOf<{ account_id: string }>(await deps.db.execute(sql`
      select x.account_id from (
        select p.account_id from billing_periods p join billing_subscriptions s on s.id = p.subscription_id
        where ${sellerCond('p.seller_agency_id', seller.agencyId)} and s.billing = 'monthly' and p.account_id > ${after}
          and p.from_day <= ${month.last}::date and (p.through_day is null or p.through_day >= ${month.first}::date)
        union
        select c.account_id from account_charges c
        where ${sellerCond('c.seller_agency_id', seller.agencyId)} and c.invoice_id is null and c.day <= ${month.last}::date and c.account_id > ${after}
      ) x
      where not exists (select 1 from invoices i where i.account_id = x.account_id and i.period = ${month.period} and i.kind = 'monthly')
      order by x.account_id
      limit ${p.batchSize}`)).map((r) => r.account_id);
    if (candidates.length === 0) return made;
    const out = await deps.db.transaction((tx) => cutBatch(tx, { ...p, accounts: candidates }));
    made += out.invoices;
    p.run.invoices += out.invoices;
    p.run.lines += out.lines;
    after = candidates[candidates.length - 1]!;
  }
}

interface PeriodRow {
  account_id: string;
  agency_id: string;
  sub_account_id: string | null;
  subscription_id: string;
  name: string;
  quantity: number;
  price: number;
  currency: string;
  from_day: string;
  through_day: string | null;
}

interface ChargeRow {
  id: string;
  account_id: string;
  agency_id: string;
  sub_account_id: string | null;
  kind: 'extra_sessions' | 'topup';
  description: string;
  day: string;
  quantity: number;
  unit_price_minor: number;
  amount_minor: number;
  currency: string;
}

interface AccountWork {
  agencyId: string;
  subAccountId: string | null;
  subs: Map<string, MonthlySubscriptionInput>;
  charges: ChargeInput[];
}

async function cutBatch(tx: Tx, p: { seller: Seller; month: MonthBounds; issueDay: string; accounts: string[] }): Promise<{ invoices: number; lines: number }> {
  const { seller, month } = p;
  const accounts = bulkArray(p.accounts);
  // 1. The seller's counter, locked: one cut (or term purchase) of this seller at a time.
  const [counter] = rowsOf<{ next_number: number }>(await tx.execute(sql`
    insert into invoice_counters (seller_key, next_number, updated_at) values (${seller.key}, 1, now())
    on conflict (seller_key) do update set updated_at = invoice_counters.updated_at
    returning next_number`));
  // 2. What to bill, read under the lock (a batch cut meanwhile by someone else is gone from it).
  const periods = rowsOf<PeriodRow>(await tx.execute(sql`
    select p.account_id, s.agency_id, s.sub_account_id, s.id as subscription_id, s.name, s.quantity, s.monthly_price_minor as price, s.currency,
           p.from_day::text as from_day, p.through_day::text as through_day
    from billing_periods p join billing_subscriptions s on s.id = p.subscription_id
    where p.account_id = any(${accounts}::text[]) and s.billing = 'monthly'
      and p.from_day <= ${month.last}::date and (p.through_day is null or p.through_day >= ${month.first}::date)
      and not exists (select 1 from invoices i where i.account_id = p.account_id and i.period = ${month.period} and i.kind = 'monthly')`));
  const charges = rowsOf<ChargeRow>(await tx.execute(sql`
    select c.id, c.account_id, c.agency_id, c.sub_account_id, c.kind, c.description, c.day::text as day, c.quantity, c.unit_price_minor, c.amount_minor, c.currency
    from account_charges c
    where c.account_id = any(${accounts}::text[]) and c.invoice_id is null and c.day <= ${month.last}::date
      and not exists (select 1 from invoices i where i.account_id = c.account_id and i.period = ${month.period} and i.kind = 'monthly')
    for update of c`));
  const work = new Map<string, AccountWork>();
  const accountOf = (r: { account_id: string; agency_id: string; sub_account_id: string | null }) => {
    let w = work.get(r.account_id);
    if (!w) work.set(r.account_id, (w = { agencyId: r.agency_id, subAccountId: r.sub_account_id, subs: new Map(), charges: [] }));
    return w;
  };
  for (const r of periods) {
    const w = accountOf(r);
    let s = w.subs.get(r.subscription_id);
    if (!s) w.subs.set(r.subscription_id, (s = { subscriptionId: r.subscription_id, name: r.name, quantity: Number(r.quantity), monthlyPriceMinor: Number(r.price), currency: r.currency, periods: [] }));
    s.periods.push({ from: r.from_day, through: r.through_day });
  }
  for (const r of charges) {
    accountOf(r).charges.push({
      chargeId: r.id, kind: r.kind, description: r.description, day: r.day, quantity: Number(r.quantity), unitPriceMinor: Number(r.unit_price_minor), amountMinor: Number(r.amount_minor), currency: r.currency,
    });
  }
  if (work.size === 0) return { invoices: 0, lines: 0 };
  const addresses = new Map(rowsOf<{ account_id: string; address: unknown }>(await tx.execute(sql`
    select distinct on (account_id) account_id,
           jsonb_build_object('name', name, 'line1', line1, 'line2', line2, 'city', city, 'postalCode', postal_code, 'country', country, 'taxId', tax_id)::text as address
    from billing_addresses where account_id = any(${accounts}::text[]) and is_default
    order by account_id, updated_at desc`)).map((r) => [r.account_id, r.address as string]));

  // 3. Lines and totals in memory, accounts in id order (numbers follow it).
  const ids = [...work.keys()].sort();
  const invoiceIds = newIds('inv', ids.length);
  const inv = { id: [] as string[], agency: [] as string[], sub: [] as (string | null)[], account: [] as string[], number: [] as number[], currency: [] as string[], total: [] as number[], address: [] as (string | null)[] };
  const ln = { id: [] as string[], invoice: [] as string[], agency: [] as string[], position: [] as number[], kind: [] as string[], sub: [] as (string | null)[], charge: [] as (string | null)[], description: [] as string[], from: [] as string[], through: [] as string[], days: [] as (number | null)[], dim: [] as (number | null)[], quantity: [] as number[], unit: [] as number[], amount: [] as number[] };
  const billed = { charge: [] as string[], invoice: [] as string[] };
  let number = Number(counter!.next_number);
  for (const [i, accountId] of ids.entries()) {
    const w = work.get(accountId)!;
    const lines = monthLines(month, [...w.subs.values()], w.charges);
    if (lines.length === 0) continue;
    const invoiceId = invoiceIds[i]!;
    inv.id.push(invoiceId); inv.agency.push(w.agencyId); inv.sub.push(w.subAccountId); inv.account.push(accountId); inv.number.push(number++);
    // Mixed currencies are refused when buying; the first line's currency is the invoice's.
    inv.currency.push(lines[0]!.currency); inv.total.push(totalOf(lines)); inv.address.push(addresses.get(accountId) ?? null);
    for (const [k, l] of lines.entries()) {
      ln.invoice.push(invoiceId); ln.agency.push(w.agencyId); ln.position.push(k + 1); ln.kind.push(l.kind); ln.sub.push(l.subscriptionId); ln.charge.push(l.chargeId);
      ln.description.push(l.description); ln.from.push(l.fromDay); ln.through.push(l.throughDay); ln.days.push(l.activeDays); ln.dim.push(l.daysInMonth);
      ln.quantity.push(l.quantity); ln.unit.push(l.unitPriceMinor); ln.amount.push(l.amountMinor);
      if (l.chargeId) { billed.charge.push(l.chargeId); billed.invoice.push(invoiceId); }
    }
  }
  if (inv.id.length === 0) return { invoices: 0, lines: 0 };
  ln.id = newIds('inl', ln.invoice.length);

  // 4. Writes: the counter, the invoices, their lines, the charges billed.
  await tx.execute(sql`update invoice_counters set next_number = ${number}, updated_at = now() where seller_key = ${seller.key}`);
  await tx.execute(sql`
    insert into invoices (id, agency_id, sub_account_id, account_id, seller_agency_id, seller_key, number, kind, period, period_start, period_end, issue_day, due_day,
                          currency, total_minor, status, billing_address, created_at, updated_at)
    select v.id, v.agency_id, v.sub_account_id, v.account_id, ${seller.agencyId}, ${seller.key}, v.number, 'monthly', ${month.period}, ${month.first}::date, ${month.last}::date,
           ${p.issueDay}::date, ${addDays(p.issueDay, seller.dueDays)}::date, v.currency, v.total, 'draft', v.address::jsonb, now(), now()
    from unnest(${bulkArray(inv.id)}::text[], ${bulkArray(inv.agency)}::text[], ${bulkArray(inv.sub)}::text[], ${bulkArray(inv.account)}::text[], ${bulkArray(inv.number)}::int[],
                ${bulkArray(inv.currency)}::text[], ${bulkArray(inv.total)}::bigint[], ${bulkArray(inv.address)}::text[])
      as v(id, agency_id, sub_account_id, account_id, number, currency, total, address)`);
  await tx.execute(sql`
    insert into invoice_lines (id, invoice_id, agency_id, position, kind, subscription_id, charge_id, description, from_day, through_day, active_days, days_in_month, quantity, unit_price_minor, amount_minor)
    select * from unnest(${bulkArray(ln.id)}::text[], ${bulkArray(ln.invoice)}::text[], ${bulkArray(ln.agency)}::text[], ${bulkArray(ln.position)}::int[], ${bulkArray(ln.kind)}::text[],
                         ${bulkArray(ln.sub)}::text[], ${bulkArray(ln.charge)}::text[], ${bulkArray(ln.description)}::text[], ${bulkArray(ln.from)}::date[], ${bulkArray(ln.through)}::date[],
                         ${bulkArray(ln.days)}::int[], ${bulkArray(ln.dim)}::int[], ${bulkArray(ln.quantity)}::int[], ${bulkArray(ln.unit)}::bigint[], ${bulkArray(ln.amount)}::bigint[])`);
  if (billed.charge.length > 0) {
    await tx.execute(sql`
      update account_charges set invoice_id = v.invoice_id
      from unnest(${bulkArray(billed.charge)}::text[], ${bulkArray(billed.invoice)}::text[]) as v(id, invoice_id)
      where account_charges.id = v.id`);
  }
  return { invoices: inv.id.length, lines: ln.id.length };
}

/** Term subscriptions past their last day (in their seller's zone) are ended. */
async function endFinishedTerms(deps: Pick<Deps, 'db'>, now: Date): Promise<number> {
  const rows = rowsOf<{ id: string }>(await deps.db.execute(sql`
    update billing_subscriptions s set status = 'ended', updated_at = now()
    from (
      select b.id from billing_subscriptions b
      left join agencies a on a.id = b.seller_agency_id
      cross join (select time_zone from platform limit 1) p
      where b.billing = 'term' and b.status = 'active'
        and b.term_last_day < (${now.toISOString()}::timestamptz at time zone coalesce(a.time_zone, p.time_zone))::date
    ) e
    where s.id = e.id
    returning s.id`));
  return rows.length;
}

/** Draft invoices not delivered yet: one delivery job each (after a cut, or from the tick). */
export async function pendingDeliveryIds(deps: Pick<Deps, 'db'>, limit = 1000): Promise<string[]> {
  return rowsOf<{ id: string }>(await deps.db.execute(sql`
    select id from invoices where status = 'draft' order by created_at, id limit ${limit}`)).map((r) => r.id);
}
