// The one-catalog migration (0013/0014) carries every offer of the three old models over, with
// its id, terms and state, so that nothing a buyer holds changes: purchases still name their
// version, subscriptions their package, agencies their plan. Run on an embedded database
// migrated to the last schema before the catalog, filled with old rows, then migrated on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../db/client';
import { migrationsFolder, runMigrations } from '../../db/migrate';
import { billingPackageOf } from '../../src/catalog/billing-offers';
import { planOf } from '../../src/catalog/catalog.usecases';
import { offersOf, sellsToClients } from '../../src/catalog/offers';
import { packageVersion } from '../../src/catalog/resold-packages';
import { rowsOf } from '../support/db';
import { systemClock } from '../../src/lib/clock';
import { calendarDay } from '../../src/billing/proration';

const BEFORE_CATALOG = '0012_chatbot_sessions';

/** A copy of the migrations folder that stops before the catalog. */
function migrationsUpTo(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-migrations-'));
  fs.mkdirSync(path.join(dir, 'meta'));
  const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const last = journal.entries.findIndex((e) => e.tag === tag);
  expect(last, `migration ${tag} exists`).to.be.greaterThan(0);
  journal.entries = journal.entries.slice(0, last + 1);
  fs.writeFileSync(path.join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) fs.copyFileSync(path.join(migrationsFolder, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  return dir;
}

describe('the one-catalog migration', function () {
  this.timeout(120_000);
  let d: Database;
  let oldFolder: string;

  before(async () => {
    d = await openDatabase({});
    oldFolder = migrationsUpTo(BEFORE_CATALOG);
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await migrate(d.db as any, { migrationsFolder: oldFolder });
    const q = (text: string) => d.db.execute(sql.raw(text));
    await q(`insert into platform (id, name, currency, chatbot_slot_price_minor) values ('plt_default', 'Kontor', 'USD', 2500)`);
    await q(`insert into agencies (id, platform_id, name, reselling_module, plan_code) values ('agy_a', 'plt_default', 'Atlas', false, 'pro'), ('agy_b', 'plt_default', 'Bosphorus', true, null)`);
    await q(`insert into platform_plans (id, code, name, reselling_module, included_chatbots, monthly_credits, price_minor, currency, published)
             values ('pln_pro', 'pro', 'Agency Pro', true, 5, 25000, 149900, 'TRY', true), ('pln_old', 'old', 'Old Plan', false, 0, 0, 0, 'TRY', false)`);
    await q(`insert into topup_packages (id, seller_agency_id, credits, price_minor, currency) values ('top_1', null, 2000, 1000, 'USD')`);
    await q(`insert into topup_packages (id, seller_agency_id, credits, price_minor, currency, archived_at) values ('top_gone', null, 10, 10, 'USD', now())`);
    await q(`insert into packages (id, agency_id, current_version_id, published) values ('pkg_sub', 'agy_a', 'pkv_sub2', true), ('pkg_credit', 'agy_a', 'pkv_c1', false)`);
    await q(`insert into package_versions (id, package_id, agency_id, version, name, type, price_minor, currency, credits, term_months, chatbots, department_ids) values
             ('pkv_sub1', 'pkg_sub', 'agy_a', 1, 'Monthly 1k', 'subscription', 5000, 'TRY', 1000, 6, 1, '{dep_1}'),
             ('pkv_sub2', 'pkg_sub', 'agy_a', 2, 'Monthly 1.5k', 'subscription', 7000, 'TRY', 1500, 12, 1, '{dep_1}'),
             ('pkv_c1', 'pkg_credit', 'agy_a', 1, 'Credits 500', 'credit', 1490, 'TRY', 500, null, 0, '{}')`);
    await q(`insert into billing_packages (id, seller_agency_id, name, kind, billing, term_months, monthly_price_minor, currency, chatbot_sessions, representatives, modules, unit, published) values
             ('bpk_yearly', 'agy_a', 'Chatbot 50k yearly', 'package', 'term', 12, 300000, 'TRY', 50000, 0, '{}', null, true),
             ('bpk_seat', 'agy_a', 'Extra representative', 'quantity', 'monthly', null, 30000, 'TRY', 0, 0, '{}', 'representative', false),
             ('bpk_tickets', null, 'Ticket system', 'addon', 'monthly', null, 25000, 'USD', 0, 0, '{ticket_system}', null, true),
             ('bpk_sessions', 'agy_a', 'Extra 1,000 sessions', 'extra_sessions', 'one_off', null, 9900, 'TRY', 1000, 0, '{}', null, true)`);
    await runMigrations(d);
  });

  after(async () => {
    await d?.close();
    if (oldFolder) fs.rmSync(oldFolder, { recursive: true, force: true });
  });

  it('drops the three old models and the slot-price setting', async () => {
    const tables = rowsOf<{ t: string }>(await d.db.execute(sql`select tablename as t from pg_tables where schemaname = 'public'`)).map((r) => r.t);
    expect(tables).to.include.members(['offers', 'offer_versions']);
    for (const gone of ['packages', 'package_versions', 'billing_packages', 'platform_plans', 'topup_packages']) expect(tables).to.not.include(gone);
    const cols = rowsOf<{ c: string }>(await d.db.execute(sql`select column_name as c from information_schema.columns where table_name = 'platform'`)).map((r) => r.c);
    expect(cols).to.not.include('chatbot_slot_price_minor');
  });

  it('keeps every resold package version with its id, so purchases still name what they bought', async () => {
    expect(await packageVersion(d.db, 'pkv_sub1')).to.include({ packageId: 'pkg_sub', version: 1, name: 'Monthly 1k', type: 'subscription', priceMinor: 5000, credits: 1000, termMonths: 6, chatbots: 1 });
    expect((await packageVersion(d.db, 'pkv_sub1'))!.departmentIds).to.deep.equal(['dep_1']);
    expect(await packageVersion(d.db, 'pkv_c1')).to.include({ type: 'credit', priceMinor: 1490, credits: 500, termMonths: null });
    const atlas = await offersOf(d.db, 'agy_a');
    const byId = Object.fromEntries(atlas.map((o) => [o.id, o]));
    expect(byId.pkg_sub).to.include({ kind: 'prepaid_subscription', published: true, currentVersionId: 'pkv_sub2' });
    expect(byId.pkg_credit).to.include({ kind: 'credit_pack', published: false });
  });

  it('carries billing-engine items over with the same terms, visible to the same buyers', async () => {
    const atlas = Object.fromEntries((await offersOf(d.db, 'agy_a')).map((o) => [o.id, billingPackageOf(o)]));
    expect(atlas.bpk_yearly).to.include({ kind: 'package', billing: 'term', termMonths: 12, monthlyPriceMinor: 300000, chatbotSessions: 50000, published: true });
    expect(atlas.bpk_seat).to.include({ kind: 'quantity', unit: 'representative', published: false });
    expect(atlas.bpk_sessions).to.include({ kind: 'extra_sessions', billing: 'one_off', chatbotSessions: 1000 });
    const platform = await offersOf(d.db, null, { publishedOnly: true });
    expect(billingPackageOf(platform.find((o) => o.id === 'bpk_tickets')!).modules).to.deep.equal(['ticket_system']);
  });

  it('turns plans, top-ups and the slot price into platform offers; agencies keep their plan and module', async () => {
    const platform = await offersOf(d.db, null);
    const plan = platform.find((o) => o.id === 'pln_pro')!;
    expect(planOf(plan)).to.include({ code: 'pro', name: 'Agency Pro', resellingModule: true, includedChatbots: 5, monthlyCredits: 25000, priceMinor: 149900, published: true });
    expect(planOf(platform.find((o) => o.id === 'pln_old')!)).to.include({ published: false, priceMinor: 0 });
    expect(platform.find((o) => o.id === 'top_1')!.version).to.include({ credits: 2000, priceMinor: 1000, currency: 'USD' });
    expect(platform.find((o) => o.id === 'top_gone'), 'a retired top-up stays retired').to.equal(undefined);
    const slot = platform.find((o) => o.kind === 'chatbot_slot')!;
    expect(slot.version).to.include({ priceMinor: 2500, currency: 'USD', chatbots: 1 });
    expect(slot.published).to.equal(true);
    // Atlas resells through its plan, Bosphorus through the module granted by hand.
    expect(await sellsToClients({ db: d.db, clock: systemClock }, 'agy_a')).to.equal(true);
    expect(await sellsToClients({ db: d.db, clock: systemClock }, 'agy_b')).to.equal(true);
  });

  it('puts an agency on a plan on a monthly subscription to it from the migration day, nothing billed before', async () => {
    const today = calendarDay(new Date(), 'Europe/Istanbul');
    const subs = rowsOf<Record<string, unknown>>(await d.db.execute(sql.raw(`select s.buyer_id, s.package_id, s.kind, s.billing, s.status, s.monthly_price_minor::int as price, s.currency, s.modules, s.start_day::text as start_day,
      p.from_day::text as from_day, p.through_day from billing_subscriptions s join billing_periods p on p.subscription_id = s.id where s.kind = 'plan'`)));
    expect(subs).to.deep.equal([
      { buyer_id: 'agy_a', package_id: 'pln_pro', kind: 'plan', billing: 'monthly', status: 'active', price: 149900, currency: 'TRY', modules: ['reselling'], start_day: today, from_day: today, through_day: null },
    ]);
  });
});
