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
import { defineJob, enqueueJob, noPayload } from '../queue/job';
import { deliverPendingJob } from './invoice-delivery';
import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import type { Deps } from '../deps';
import { rowsOf } from '../lib/rows';
import { bulkArray } from '../lib/bulk';
import { newIds } from '../lib/ids';
import { PLATFORM_SELLER_KEY } from './accounts';
import { monthLines, monthOf, nextMonth, previousMonth, type ChargeInput, type MonthBounds, type MonthlySubscriptionInput } from './invoice-lines';
import { addDays, calendarDay, DEFAULT_SELLER_ZONE } from './proration';
import { sellerTaxSettings } from '../../db/schema';
import { sellerTaxOf } from '../tax/seller-settings';
import { buyerPartyOf, type BillingAddress } from './billing-addresses.usecases';
import { taxLines } from './invoice-issue';

export const INVOICE_CUT_JOB = 'invoices.cut';
/** Accounts per transaction. */
export const CUT_BATCH = 50_000;

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

/** A seller's month to cut, with the day its invoices are issued (today in its zone) and due. */
interface SellerMonth {
  seller: Seller;
  issueDay: string;
  dueDay: string;
}

/** SQL: the row's seller is one of these (agency ids, and the platform when included). */
function sellerIn(col: string, sellers: readonly Seller[]) {
  const ids = sellers.filter((x) => x.agencyId !== null).map((x) => x.agencyId!);
  const platform = sellers.some((x) => x.agencyId === null);
  const c = sql.raw(col);
  return platform ? sql`(${c} = any(${bulkArray(ids)}::text[]) or ${c} is null)` : sql`${c} = any(${bulkArray(ids)}::text[])`;
}

/**
 * The cut job: for each seller, every month from the one after its last cut through the month
 * before today (its zone) is cut, oldest first. A seller never cut starts at its first billed
 * month. Sellers due for the same month are cut together, in batches of accounts across sellers.
 */
export async function runInvoiceCut(deps: Deps, opts: { batchSize?: number } = {}): Promise<CutRun> {
  const now = deps.clock.now();
  const run: CutRun = { invoices: 0, lines: 0, periods: [], termsEnded: await endFinishedTerms(deps, now) };
  const all = await sellers(deps);
  const todo = new Map<string, SellerMonth[]>();
  const done: { key: string; period: string }[] = [];
  const firsts = all.some((x) => x.lastCut === null) ? await firstBilledMonths(deps) : new Map<string, string>();
  for (const seller of all) {
    const today = calendarDay(now, seller.zone);
    const target = previousMonth(monthOf(today));
    if (seller.lastCut !== null && seller.lastCut >= target.period) continue;
    const first = seller.lastCut !== null ? nextMonth(monthOf(seller.lastCut)) : firsts.has(seller.key) ? monthOf(firsts.get(seller.key)!) : null;
    for (let m = first; m && m.period <= target.period; m = nextMonth(m)) {
      const list = todo.get(m.period) ?? [];
      list.push({ seller, issueDay: today, dueDay: addDays(today, seller.dueDays) });
      todo.set(m.period, list);
    }
    // Done through the target month once the months below are cut (also when there was nothing to bill).
    done.push({ key: seller.key, period: target.period });
  }
  for (const period of [...todo.keys()].sort()) {
    await cutMonth(deps, { month: monthOf(period), sellers: todo.get(period)!, batchSize: opts.batchSize ?? CUT_BATCH, run });
  }
  if (done.length > 0) {
    await deps.db.execute(sql`
      insert into invoice_counters (seller_key, next_number, last_cut_period, updated_at)
      select v.key, 1, v.period, now() from unnest(${bulkArray(done.map((d) => d.key))}::text[], ${bulkArray(done.map((d) => d.period))}::text[]) as v(key, period)
      order by v.key
      on conflict (seller_key) do update set last_cut_period = greatest(coalesce(invoice_counters.last_cut_period, ''), excluded.last_cut_period), updated_at = now()`);
  }
  if (run.invoices > 0) await enqueueJob(deps.queue, deliverPendingJob, {}, { jobId: `deliver-pending:${Math.floor(now.getTime() / 60_000)}` });
  return run;
}

/** Per seller key: the earliest day with a billed monthly day or an unbilled charge. */
async function firstBilledMonths(deps: Pick<Deps, 'db'>): Promise<Map<string, string>> {
  const rows = rowsOf<{ key: string; first: string }>(await deps.db.execute(sql`
    select coalesce(x.seller, ${PLATFORM_SELLER_KEY}) as key, min(x.first)::text as first from (
      select p.seller_agency_id as seller, min(p.from_day) as first from billing_periods p join billing_subscriptions s on s.id = p.subscription_id where s.billing = 'monthly' group by p.seller_agency_id
      union all
      select c.seller_agency_id, min(c.day) from account_charges c where c.invoice_id is null group by c.seller_agency_id
    ) x group by x.seller`));
  return new Map(rows.map((r) => [r.key, r.first]));
}

/** How many candidate accounts are read per pass (then cut in batches). */
const SCAN_SIZE = 200_000;

/** Cuts one month for these sellers: the candidates in one scan, then batch by batch. */
async function cutMonth(deps: Deps, p: { month: MonthBounds; sellers: SellerMonth[]; batchSize: number; run: CutRun }): Promise<void> {
  const { month } = p;
  const list = p.sellers.map((x) => x.seller);
  const made = new Map<string, number>();
  const seen = new Set<string>();
  for (;;) {
    const candidates = rowsOf<{ buyer_id: string }>(await deps.db.execute(sql`
      select x.buyer_id from (
        select p.buyer_id from billing_periods p join billing_subscriptions s on s.id = p.subscription_id
        where ${sellerIn('p.seller_agency_id', list)} and s.billing = 'monthly'
          and p.from_day <= ${month.last}::date and (p.through_day is null or p.through_day >= ${month.first}::date)
        union
        select c.buyer_id from account_charges c
        where ${sellerIn('c.seller_agency_id', list)} and c.invoice_id is null and c.day <= ${month.last}::date
      ) x
      where not exists (select 1 from invoices i where i.buyer_id = x.buyer_id and i.period = ${month.period} and i.kind = 'monthly')
      order by x.buyer_id
      limit ${SCAN_SIZE}`)).map((r) => r.buyer_id).filter((id) => !seen.has(id));
    if (candidates.length === 0) break;
    for (let i = 0; i < candidates.length; i += p.batchSize) {
      const accounts = candidates.slice(i, i + p.batchSize);
      for (const a of accounts) seen.add(a);
      const out = await deps.db.transaction((tx) => cutBatch(tx, { month, sellers: p.sellers, accounts }));
      p.run.invoices += out.invoices;
      p.run.lines += out.lines;
      for (const [key, n] of out.bySeller) made.set(key, (made.get(key) ?? 0) + n);
    }
  }
  for (const x of p.sellers) p.run.periods.push({ sellerKey: x.seller.key, period: month.period, invoices: made.get(x.seller.key) ?? 0 });
}

interface PeriodRow {
  buyer_id: string;
  agency_id: string;
  sub_account_id: string | null;
  seller_agency_id: string | null;
  subscription_id: string;
  name: string;
  quantity: number;
  price: number;
  currency: string;
  from_day: string;
  through_day: string | null;
  rate: number | null;
}

interface ChargeRow {
  id: string;
  buyer_id: string;
  agency_id: string;
  sub_account_id: string | null;
  seller_agency_id: string | null;
  kind: 'extra_sessions' | 'topup';
  description: string;
  description_key: string | null;
  day: string;
  quantity: number;
  unit_price_minor: number;
  amount_minor: number;
  currency: string;
}

interface AccountWork {
  agencyId: string;
  subAccountId: string | null;
  sellerKey: string;
  subs: Map<string, MonthlySubscriptionInput>;
  charges: ChargeInput[];
}

interface BatchResult {
  invoices: number;
  lines: number;
  bySeller: Map<string, number>;
}

async function cutBatch(tx: Tx, p: { month: MonthBounds; sellers: SellerMonth[]; accounts: string[] }): Promise<BatchResult> {
  const { month } = p;
  const accounts = bulkArray(p.accounts);
  const list = p.sellers.map((x) => x.seller);
  const bySellerKey = new Map(p.sellers.map((x) => [x.seller.key, x]));
  // 1. The sellers' counters, locked in key order (as every issuer locks them): one cut or term
  //    purchase of a seller at a time, and no deadlock between two cuts.
  const keys = [...bySellerKey.keys()].sort();
  const counters = new Map(rowsOf<{ seller_key: string; next_number: number }>(await tx.execute(sql`
    insert into invoice_counters (seller_key, next_number, updated_at)
    select k, 1, now() from unnest(${bulkArray(keys)}::text[]) as k order by k
    on conflict (seller_key) do update set updated_at = invoice_counters.updated_at
    returning seller_key, next_number`)).map((r) => [r.seller_key, Number(r.next_number)]));
  // 2. What to bill, read under the lock (a batch cut meanwhile by someone else is gone from it).
  const periods = rowsOf<PeriodRow>(await tx.execute(sql`
    select p.buyer_id, s.agency_id, s.sub_account_id, s.seller_agency_id, s.id as subscription_id, s.name, s.quantity, s.monthly_price_minor as price, s.currency,
           p.from_day::text as from_day, p.through_day::text as through_day,
           (select ov.tax_rate_bp from offers o join offer_versions ov on ov.id = o.current_version_id where o.id = s.package_id) as rate
    from billing_periods p join billing_subscriptions s on s.id = p.subscription_id
    where p.buyer_id = any(${accounts}::text[]) and ${sellerIn('p.seller_agency_id', list)} and s.billing = 'monthly'
      and p.from_day <= ${month.last}::date and (p.through_day is null or p.through_day >= ${month.first}::date)
      and not exists (select 1 from invoices i where i.buyer_id = p.buyer_id and i.period = ${month.period} and i.kind = 'monthly')`));
  const charges = rowsOf<ChargeRow>(await tx.execute(sql`
    select c.id, c.buyer_id, c.agency_id, c.sub_account_id, c.seller_agency_id, c.kind, c.description, c.description_key, c.day::text as day, c.quantity, c.unit_price_minor, c.amount_minor, c.currency
    from account_charges c
    where c.buyer_id = any(${accounts}::text[]) and ${sellerIn('c.seller_agency_id', list)} and c.invoice_id is null and c.day <= ${month.last}::date
      and not exists (select 1 from invoices i where i.buyer_id = c.buyer_id and i.period = ${month.period} and i.kind = 'monthly')
    for update of c`));
  const work = new Map<string, AccountWork>();
  const accountOf = (r: { buyer_id: string; agency_id: string; sub_account_id: string | null; seller_agency_id: string | null }) => {
    let w = work.get(r.buyer_id);
    if (!w) work.set(r.buyer_id, (w = { agencyId: r.agency_id, subAccountId: r.sub_account_id, sellerKey: r.seller_agency_id ?? PLATFORM_SELLER_KEY, subs: new Map(), charges: [] }));
    return w;
  };
  for (const r of periods) {
    const w = accountOf(r);
    let s = w.subs.get(r.subscription_id);
    if (!s) w.subs.set(r.subscription_id, (s = { subscriptionId: r.subscription_id, name: r.name, quantity: Number(r.quantity), monthlyPriceMinor: Number(r.price), currency: r.currency, periods: [], rateBp: r.rate === null ? null : Number(r.rate) }));
    s.periods.push({ from: r.from_day, through: r.through_day });
  }
  for (const r of charges) {
    accountOf(r).charges.push({
      chargeId: r.id, kind: r.kind, description: r.description, descriptionKey: r.description_key, day: r.day, quantity: Number(r.quantity), unitPriceMinor: Number(r.unit_price_minor), amountMinor: Number(r.amount_minor), currency: r.currency,
    });
  }
  if (work.size === 0) return { invoices: 0, lines: 0, bySeller: new Map() };
  // The default billing addresses: printed on the invoice, and the buyer's tax identity.
  const addressRows = rowsOf<Record<string, unknown> & { buyer_id: string }>(await tx.execute(sql`
    select distinct on (buyer_id) buyer_id, name, line1, line2, district, city, postal_code, country, tax_id, tax_kind, tax_number, tax_office, e_invoice_registered, e_invoice_alias, first_name, family_name, exemption_reason
    from billing_addresses where buyer_id = any(${accounts}::text[]) and is_default
    order by buyer_id, updated_at desc`));
  const addresses = new Map<string, string>();
  const buyers = new Map<string, ReturnType<typeof buyerPartyOf>>();
  for (const r of addressRows) {
    const a = {
      name: r.name, line1: r.line1, line2: r.line2, district: r.district, city: r.city, postalCode: r.postal_code, country: r.country, taxId: r.tax_id, taxKind: r.tax_kind, taxNumber: r.tax_number,
      taxOffice: r.tax_office, eInvoiceRegistered: Boolean(r.e_invoice_registered), eInvoiceAlias: r.e_invoice_alias, firstName: r.first_name, familyName: r.family_name, exemptionReason: r.exemption_reason,
    } as BillingAddress;
    addresses.set(r.buyer_id, JSON.stringify({ name: a.name, line1: a.line1, line2: a.line2, city: a.city, postalCode: a.postalCode, country: a.country, taxId: a.taxId }));
    buyers.set(r.buyer_id, buyerPartyOf(a));
  }
  // The sellers' tax (null: not charging tax): read under the counters' lock, like the numbers.
  const taxBySeller = new Map((await tx.select().from(sellerTaxSettings).where(inArray(sellerTaxSettings.sellerKey, keys))).map((r) => [r.sellerKey, sellerTaxOf(r)]));

  // 3. Lines and totals in memory, accounts in id order (numbers follow it).
  const ids = [...work.keys()].sort();
  const invoiceIds = newIds('inv', ids.length);
  const inv = {
    id: [] as string[], agency: [] as string[], sub: [] as (string | null)[], account: [] as string[], seller: [] as (string | null)[], sellerKey: [] as string[], number: [] as number[],
    issue: [] as string[], due: [] as string[], currency: [] as string[], total: [] as number[], address: [] as (string | null)[],
    tax: [] as number[], mode: [] as (string | null)[], sellerParty: [] as (string | null)[], buyerParty: [] as (string | null)[],
  };
  const ln = { id: [] as string[], invoice: [] as string[], agency: [] as string[], position: [] as number[], kind: [] as string[], sub: [] as (string | null)[], charge: [] as (string | null)[], description: [] as string[], descriptionKey: [] as (string | null)[], from: [] as string[], through: [] as string[], days: [] as (number | null)[], dim: [] as (number | null)[], quantity: [] as number[], unit: [] as number[], amount: [] as number[], rate: [] as number[], lineTax: [] as number[] };
  const billed = { charge: [] as string[], invoice: [] as string[] };
  const next = new Map(counters);
  const bySeller = new Map<string, number>();
  for (const [i, accountId] of ids.entries()) {
    const w = work.get(accountId)!;
    const computed = monthLines(month, [...w.subs.values()], w.charges);
    const sm = bySellerKey.get(w.sellerKey);
    if (computed.length === 0 || !sm) continue;
    // Taxed like every invoice (invoice-issue.ts): the stated amounts, each line at its rate.
    const taxed = taxLines(computed.map((l) => ({ ...l, rateBp: l.rateBp })), taxBySeller.get(w.sellerKey) ?? null, buyers.get(accountId) ?? null);
    const lines = taxed.lines;
    const invoiceId = invoiceIds[i]!;
    const number = next.get(w.sellerKey)!;
    next.set(w.sellerKey, number + 1);
    bySeller.set(w.sellerKey, (bySeller.get(w.sellerKey) ?? 0) + 1);
    inv.id.push(invoiceId); inv.agency.push(w.agencyId); inv.sub.push(w.subAccountId); inv.account.push(accountId); inv.number.push(number);
    inv.seller.push(sm.seller.agencyId); inv.sellerKey.push(w.sellerKey); inv.issue.push(sm.issueDay); inv.due.push(sm.dueDay);
    // Mixed currencies are refused when buying; the first line's currency is the invoice's.
    inv.currency.push(computed[0]!.currency); inv.total.push(taxed.totals.total); inv.address.push(addresses.get(accountId) ?? null);
    inv.tax.push(taxed.totals.tax); inv.mode.push(taxed.priceMode);
    inv.sellerParty.push(taxed.sellerParty ? JSON.stringify(taxed.sellerParty) : null); inv.buyerParty.push(taxed.buyerParty ? JSON.stringify(taxed.buyerParty) : null);
    for (const [k, l] of lines.entries()) {
      ln.invoice.push(invoiceId); ln.agency.push(w.agencyId); ln.position.push(k + 1); ln.kind.push(l.kind); ln.sub.push(l.subscriptionId ?? null); ln.charge.push(l.chargeId ?? null);
      ln.description.push(l.description); ln.descriptionKey.push(l.descriptionKey ?? null); ln.from.push(l.fromDay!); ln.through.push(l.throughDay!); ln.days.push(l.activeDays ?? null); ln.dim.push(l.daysInMonth ?? null);
      ln.quantity.push(l.quantity!); ln.unit.push(l.unitPriceMinor); ln.amount.push(l.netMinor); ln.rate.push(l.taxRateBp); ln.lineTax.push(l.taxMinor);
      if (l.chargeId) { billed.charge.push(l.chargeId); billed.invoice.push(invoiceId); }
    }
  }
  if (inv.id.length === 0) return { invoices: 0, lines: 0, bySeller };
  ln.id = newIds('inl', ln.invoice.length);

  // 4. Writes: the counters, the invoices, their lines, the charges billed.
  const moved = [...bySeller.keys()];
  await tx.execute(sql`
    update invoice_counters set next_number = v.next, updated_at = now()
    from unnest(${bulkArray(moved)}::text[], ${bulkArray(moved.map((k) => next.get(k)!))}::int[]) as v(key, next)
    where invoice_counters.seller_key = v.key`);
  await tx.execute(sql`
    insert into invoices (id, agency_id, sub_account_id, buyer_id, seller_agency_id, seller_key, number, kind, period, period_start, period_end, issue_day, due_day,
                          currency, total_minor, tax_minor, price_mode, seller_party, buyer_party, status, billing_address, created_at, updated_at)
    select v.id, v.agency_id, v.sub_account_id, v.buyer_id, v.seller, v.seller_key, v.number, 'monthly', ${month.period}, ${month.first}::date, ${month.last}::date,
           v.issue, v.due, v.currency, v.total, v.tax, v.mode, v.seller_party::jsonb, v.buyer_party::jsonb, 'draft', v.address::jsonb, now(), now()
    from unnest(${bulkArray(inv.id)}::text[], ${bulkArray(inv.agency)}::text[], ${bulkArray(inv.sub)}::text[], ${bulkArray(inv.account)}::text[], ${bulkArray(inv.seller)}::text[],
                ${bulkArray(inv.sellerKey)}::text[], ${bulkArray(inv.number)}::int[], ${bulkArray(inv.issue)}::date[], ${bulkArray(inv.due)}::date[],
                ${bulkArray(inv.currency)}::text[], ${bulkArray(inv.total)}::bigint[], ${bulkArray(inv.address)}::text[],
                ${bulkArray(inv.tax)}::bigint[], ${bulkArray(inv.mode)}::text[], ${bulkArray(inv.sellerParty)}::text[], ${bulkArray(inv.buyerParty)}::text[])
      as v(id, agency_id, sub_account_id, buyer_id, seller, seller_key, number, issue, due, currency, total, address, tax, mode, seller_party, buyer_party)`);
  await tx.execute(sql`
    insert into invoice_lines (id, invoice_id, agency_id, position, kind, subscription_id, charge_id, description, description_key, from_day, through_day, active_days, days_in_month, quantity, unit_price_minor, amount_minor, tax_rate_bp, tax_minor)
    select * from unnest(${bulkArray(ln.id)}::text[], ${bulkArray(ln.invoice)}::text[], ${bulkArray(ln.agency)}::text[], ${bulkArray(ln.position)}::int[], ${bulkArray(ln.kind)}::text[],
                         ${bulkArray(ln.sub)}::text[], ${bulkArray(ln.charge)}::text[], ${bulkArray(ln.description)}::text[], ${bulkArray(ln.descriptionKey)}::text[], ${bulkArray(ln.from)}::date[], ${bulkArray(ln.through)}::date[],
                         ${bulkArray(ln.days)}::int[], ${bulkArray(ln.dim)}::int[], ${bulkArray(ln.quantity)}::int[], ${bulkArray(ln.unit)}::bigint[], ${bulkArray(ln.amount)}::bigint[],
                         ${bulkArray(ln.rate)}::int[], ${bulkArray(ln.lineTax)}::bigint[])`);
  if (billed.charge.length > 0) {
    await tx.execute(sql`
      update account_charges set invoice_id = v.invoice_id
      from unnest(${bulkArray(billed.charge)}::text[], ${bulkArray(billed.invoice)}::text[]) as v(id, invoice_id)
      where account_charges.id = v.id`);
  }
  return { invoices: inv.id.length, lines: ln.id.length, bySeller };
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


/** The monthly cut (finds its months from the clock). */
export const invoiceCutJob = defineJob({ name: INVOICE_CUT_JOB, payload: noPayload, handle: (deps) => runInvoiceCut(deps) });
