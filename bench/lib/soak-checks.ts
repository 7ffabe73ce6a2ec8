// What the soak test checks once the traffic has stopped and the workers have drained: the
// database against itself, and against what every answered request claimed.
import fs from 'node:fs';
import path from 'node:path';
import type { Sql } from 'postgres';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A usage request answered 200: what the client was told. */
export interface UsageOk {
  subAccountId: string;
  conversationId: string;
  departmentId: string;
  charged: number;
}

const n = (v: unknown) => Number(v ?? 0);

export async function runChecks(sql: Sql, input: { usageOk: UsageOk[]; createdPurchaseIds: string[]; chargedOrderIds: string[]; chargedInvoicePaymentIds: string[]; mailDirs: string[] }): Promise<{ checks: Check[]; figures: Record<string, number> }> {
  const checks: Check[] = [];
  const figures: Record<string, number> = {};
  const check = (name: string, bad: string[], okDetail: string) =>
    checks.push({ name, ok: bad.length === 0, detail: bad.length ? `${bad.length} failure(s): ${bad.slice(0, 5).join('; ')}` : okDetail });

  // 1. The ledger invariant, for every account (test/support/invariants.ts, in SQL).
  const accounts = await sql<{ id: string; balance: string; ledger: string; lots: string; min_lot: string | null; last_after: string | null }[]>`
    select a.id, a.balance,
      coalesce((select sum(delta) from credit_ledger l where l.account_id = a.id), 0)::bigint as ledger,
      coalesce((select sum(remaining) from credit_lots t where t.account_id = a.id), 0)::bigint as lots,
      (select min(remaining) from credit_lots t where t.account_id = a.id) as min_lot,
      (select balance_after from credit_ledger l where l.account_id = a.id order by l.id desc limit 1) as last_after
    from credit_accounts a`;
  const ledgerBad = accounts.flatMap((r) => {
    const b = n(r.balance);
    const out: string[] = [];
    if (b !== n(r.ledger)) out.push(`${r.id}: balance ${b} != ledger ${r.ledger}`);
    if (b !== n(r.lots)) out.push(`${r.id}: balance ${b} != lots ${r.lots}`);
    if (b < 0 || (r.min_lot !== null && n(r.min_lot) < 0)) out.push(`${r.id}: negative`);
    if (r.last_after !== null && n(r.last_after) !== b) out.push(`${r.id}: last balance_after ${r.last_after} != ${b}`);
    return out;
  });
  figures.accounts = accounts.length;
  figures.ledgerEntries = n((await sql`select count(*) from credit_ledger`)[0]!.count);
  check('balance = ledger = lots for every account, nothing negative', ledgerBad, `${accounts.length} accounts, ${figures.ledgerEntries} ledger entries`);

  // 2. Invoice numbers: once each, from 1 with no gap, per seller; the counter is past the last.
  const series = await sql<{ seller_key: string; count: string; distinct_numbers: string; min: number; max: number; next_number: number | null }[]>`
    select i.seller_key, count(*), count(distinct i.number) as distinct_numbers, min(i.number) as min, max(i.number) as max, c.next_number
    from invoices i left join invoice_counters c on c.seller_key = i.seller_key group by i.seller_key, c.next_number`;
  const invoiceBad = series.flatMap((s) => {
    const count = n(s.count);
    return count === n(s.distinct_numbers) && n(s.min) === 1 && n(s.max) === count && n(s.next_number) === count + 1
      ? [] : [`${s.seller_key}: ${count} invoices, ${s.distinct_numbers} numbers ${s.min}..${s.max}, next ${s.next_number}`];
  });
  const invoiceStates = await sql<{ status: string; count: string }[]>`select status, count(*) from invoices group by status`;
  for (const s of invoiceStates) figures[`invoices.${s.status}`] = n(s.count);
  figures.invoices = series.reduce((t, s) => t + n(s.count), 0);
  figures.invoiceSellers = series.length;
  figures.invoicePeriods = n((await sql`select count(distinct period) from invoices where kind = 'monthly'`)[0]!.count);
  const drafts = n(figures['invoices.draft']);
  check('invoice numbers once each, gapless per seller; every invoice delivered', drafts ? [...invoiceBad, `${drafts} invoices still draft (not delivered)`] : invoiceBad,
    `${figures.invoices} invoices from ${series.length} sellers over ${figures.invoicePeriods} months`);

  // 3. Every confirmed payment applied once; nothing paid left unapplied.
  const paymentBad: string[] = [];
  const confirms = await sql<{ id: string; purpose: string; reference_id: string; status: string; confirms: string }[]>`
    select p.id, p.purpose, p.reference_id, p.status,
      (select count(*) from payment_events e where e.payment_id = p.id and e.to_status = 'confirmed'
        and e.from_status is distinct from 'confirmed') as confirms
    from payments p`;
  for (const p of confirms) {
    if (n(p.confirms) > 1) paymentBad.push(`${p.id}: confirmed ${p.confirms} times`);
    if (p.status !== 'confirmed') continue;
    if (p.purpose === 'package_purchase') {
      const [g] = await sql`select (select status from purchases where id = ${p.reference_id}) as status,
        (select count(*) from credit_ledger where reference = ${`purchase:${p.reference_id}`} and delta > 0 and sub_account_id is not null) as grants`;
      if (g!.status !== 'granted' || n(g!.grants) !== 1) paymentBad.push(`${p.id}: purchase ${p.reference_id} ${g!.status}, granted ${g!.grants} times`);
    } else if (p.purpose === 'topup') {
      const [g] = await sql`select (select status from agency_orders where id = ${p.reference_id}) as status,
        (select count(*) from credit_ledger where reference = ${`order:${p.reference_id}`} and delta > 0) as grants`;
      if (g!.status !== 'applied' || n(g!.grants) !== 1) paymentBad.push(`${p.id}: order ${p.reference_id} ${g!.status}, credited ${g!.grants} times`);
    } else if (p.purpose === 'invoice') {
      // A settled attempt keeps `<invoice id>:<payment id>` as its reference (src/billing/collect.ts).
      const invoiceId = p.reference_id.split(':')[0]!;
      const [i] = await sql`select status, payment_id from invoices where id = ${invoiceId}`;
      if (i?.status !== 'paid') paymentBad.push(`${p.id}: invoice ${invoiceId} is ${i?.status}`);
    }
  }
  const perInvoice = await sql`select split_part(reference_id, ':', 1) as reference_id, count(*) from payments where purpose = 'invoice' and status = 'confirmed' group by 1 having count(*) > 1`;
  for (const r of perInvoice) paymentBad.push(`invoice ${r.reference_id} paid ${r.count} times`);
  const unapplied = await sql`select 'purchase ' || id as what from purchases where status = 'paid' union all select 'order ' || id from agency_orders where status = 'paid'`;
  for (const r of unapplied) paymentBad.push(`${r.what} paid but not applied`);
  // What the gateway charged (the sandbox page answered "paid") must be confirmed here.
  const charged = [...input.chargedOrderIds, ...input.chargedInvoicePaymentIds];
  if (input.chargedOrderIds.length) {
    const rows = await sql`select o.id, o.status from agency_orders o where o.id in ${sql(input.chargedOrderIds)}`;
    for (const r of rows) if (r.status !== 'applied') paymentBad.push(`order ${r.id} charged at the gateway but ${r.status}`);
  }
  if (input.chargedInvoicePaymentIds.length) {
    const rows = await sql`select id, status from payments where id in ${sql(input.chargedInvoicePaymentIds)}`;
    for (const r of rows) if (r.status !== 'confirmed') paymentBad.push(`invoice payment ${r.id} charged at the gateway but ${r.status}`);
  }
  if (input.createdPurchaseIds.length) {
    const rows = await sql`select id from purchases where id in ${sql(input.createdPurchaseIds)}`;
    if (rows.length !== new Set(input.createdPurchaseIds).size) paymentBad.push(`${new Set(input.createdPurchaseIds).size - rows.length} purchases answered 201 but not stored`);
  }
  for (const p of confirms) figures[`payments.${p.purpose}.${p.status}`] = n(figures[`payments.${p.purpose}.${p.status}`]) + 1;
  figures.paymentsChargedAtGateway = charged.length;
  check('every confirmed payment applied once; everything charged at the gateway confirmed', paymentBad,
    `${confirms.filter((p) => p.status === 'confirmed').length} confirmed payments, ${charged.length} charged through the Stripe sandbox`);

  // 4. Webhooks: stored once per event, every one processed; replays changed nothing (checked by 3).
  const hooks = await sql<{ total: string; unprocessed: string; errors: string }[]>`
    select count(*) as total, count(*) filter (where processed_at is null) as unprocessed, count(*) filter (where error is not null) as errors from gateway_webhooks`;
  figures.webhooksStored = n(hooks[0]!.total);
  check('every gateway webhook stored once and processed', n(hooks[0]!.unprocessed) ? [`${hooks[0]!.unprocessed} webhooks not processed`] : [],
    `${figures.webhooksStored} webhook events (${hooks[0]!.errors} recorded an error and were settled)`);

  // 5. Emails: every outbox message sent; each mail file is an outbox message (Message-ID), each sent one has a file.
  const outbox = await sql<{ id: string; status: string }[]>`select id, status from outbox_emails`;
  // Messages only: a worker killed while writing one leaves a .part file, never a half .eml.
  const files = input.mailDirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.eml')).map((f) => path.join(d, f)) : []));
  const delivered = new Map<string, number>();
  for (const f of files) {
    const id = /^Message-ID: <([^@>]+)@/im.exec(fs.readFileSync(f, 'utf8'))?.[1] ?? `(no Message-ID in ${f})`;
    delivered.set(id, (delivered.get(id) ?? 0) + 1);
  }
  const outboxIds = new Set(outbox.map((o) => o.id));
  const mailBad = [
    ...outbox.filter((o) => o.status !== 'sent').map((o) => `${o.id} is ${o.status}`),
    ...outbox.filter((o) => o.status === 'sent' && !delivered.has(o.id)).map((o) => `${o.id} marked sent, no mail file`),
    ...[...delivered.keys()].filter((id) => !outboxIds.has(id)).map((id) => `mail ${id} is no outbox message`),
  ];
  figures.emails = outbox.length;
  figures.mailFiles = files.length;
  figures.emailsResent = [...delivered.values()].reduce((t, c) => t + c - 1, 0);
  check('every email sent, at least once, with its outbox Message-ID', mailBad,
    `${outbox.length} emails, ${files.length} files (${figures.emailsResent} sent again with the same Message-ID)`);

  // 6. Every usage 200 is committed: its conversation row, and one consume entry of what it charged.
  const usageBad: string[] = [];
  const subs = [...new Set(input.usageOk.map((u) => u.subAccountId))];
  const convs = subs.length
    ? await sql<{ sub_account_id: string; conversation_id: string; department_id: string; charged: string }[]>`
        select a.sub_account_id, c.conversation_id, c.department_id, c.charged from usage_conversations c join credit_accounts a on a.id = c.account_id where a.sub_account_id in ${sql(subs)}`
    : [];
  const consumed = subs.length
    ? await sql<{ sub_account_id: string; reference: string; department_id: string; delta: string; entries: string }[]>`
        select sub_account_id, reference, data->>'departmentId' as department_id, sum(delta) as delta, count(*) as entries
        from credit_ledger where reason = 'consume' and sub_account_id in ${sql(subs)} group by 1, 2, 3`
    : [];
  const key = (s: string, c: string, d: string) => `${s}|${c}|${d}`;
  const convMap = new Map(convs.map((c) => [key(c.sub_account_id, c.conversation_id, c.department_id), n(c.charged)]));
  const consumeMap = new Map(consumed.map((c) => [key(c.sub_account_id, c.reference, c.department_id), { delta: n(c.delta), entries: n(c.entries) }]));
  const chargedTwice = new Map<string, number>();
  for (const u of input.usageOk) {
    const k = key(u.subAccountId, u.conversationId, u.departmentId);
    const row = convMap.get(k);
    if (row === undefined) { usageBad.push(`200 for ${k} but no conversation row`); continue; }
    if (u.charged > 0) {
      chargedTwice.set(k, (chargedTwice.get(k) ?? 0) + 1);
      const c = consumeMap.get(k);
      if (row !== u.charged || !c || c.delta !== -u.charged) usageBad.push(`200 charged ${u.charged} for ${k}: row ${row}, ledger ${c?.delta}`);
    }
  }
  for (const [k, times] of chargedTwice) if (times > 1) usageBad.push(`${k} answered "charged" ${times} times`);
  for (const [k, c] of consumeMap) {
    if (c.entries !== 1) usageBad.push(`${k}: ${c.entries} consume entries`);
    if (convMap.get(k) !== -c.delta) usageBad.push(`${k}: ledger ${c.delta} vs conversation ${convMap.get(k)}`);
  }
  figures.usageConversations = convs.length;
  check('every usage 200 committed: its conversation, charged once in the ledger', usageBad,
    `${input.usageOk.length} answers 200 checked against ${convs.length} conversations`);

  return { checks, figures };
}
