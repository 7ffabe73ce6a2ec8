// The rule that replaced the per-row foreign keys of credit_ledger and usage_conversations
// (migration 0010): every account_id written names an existing credit account, checked once per
// statement, and credit accounts can be neither deleted nor renamed. On PGlite and Postgres.
import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { openDatabase } from '../../db/client';
import { creditAccounts, creditLedger, usageConversations } from '../../db/schema';
import { rowsOf } from '../../src/lib/rows';
import { UsageRecorder } from '../../src/usage/usage-recorder';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { DATABASE_URL } from '../support/env';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { assertLedgerInvariant } from '../support/invariants';
import { createWorld, type World } from '../support/world';

describe('credit accounts: the account rule of the ledger and the usage conversations', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);

  /** The database error's SQLSTATE and message, whichever driver wrapped it. */
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      const e = err as { cause?: { code?: string; message?: string }; code?: string; message?: string };
      return { code: e.cause?.code ?? e.code, message: e.cause?.message ?? e.message ?? '' };
    }
    return null;
  };
  const count = async () =>
    rowsOf<{ ledger: number; conversations: number }>(
      await deps.db.execute(sql`select (select count(*)::int from credit_ledger) as ledger, (select count(*)::int from usage_conversations) as conversations`),
    )[0];

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 50, reason: 'seed' }).expect(201);
  });
  afterEach(async () => {
    await assertLedgerInvariant(deps.db);
    await deps.close();
  });

  const pool = async () => (await deps.db.select().from(creditAccounts).where(eq(creditAccounts.agencyId, w.a.id)))[0]!;
  const entry = (accountId: string) => ({ accountId, agencyId: w.a.id, delta: 0, balanceAfter: 0, reason: 'adjustment' as const, reference: 'test' });

  it('a ledger entry or a conversation naming no account is refused, the whole statement with it', async () => {
    const before = await count();
    const real = (await pool()).id;
    let f = await failure(deps.db.insert(creditLedger).values([entry(real), entry('cra_nobody')]));
    expect(f?.code).to.equal('23503');
    expect(f?.message).to.contain('cra_nobody');
    f = await failure(deps.db.insert(usageConversations).values({ accountId: 'cra_nobody', conversationId: 'c', departmentId: 'd', agencyId: w.a.id, charged: 0 }));
    expect(f?.code).to.equal('23503');
    // Moving an entry to an account that does not exist is refused too.
    f = await failure(deps.db.update(creditLedger).set({ accountId: 'cra_nobody' }).where(eq(creditLedger.accountId, real)));
    expect(f?.code).to.equal('23503');
    expect(await count()).to.deep.equal(before);
    expect((await deps.db.select().from(creditLedger).where(eq(creditLedger.accountId, real))).length).to.equal(1);
  });

  it('a credit account can be neither deleted nor renamed', async () => {
    const { id } = await pool();
    let f = await failure(deps.db.delete(creditAccounts).where(eq(creditAccounts.id, id)));
    expect(f?.code).to.equal('23001');
    f = await failure(deps.db.update(creditAccounts).set({ id: 'cra_renamed' }).where(eq(creditAccounts.id, id)));
    expect(f?.code).to.equal('23001');
    expect((await pool()).id).to.equal(id);
    expect((await pool()).balance).to.equal(50);
  });

  it('recorders of several processes creating the same new account for the same free conversation: all answer 200, it is remembered once', async () => {
    // Web processes (on Postgres: a client each, as separate processes have) race to create the
    // account of a sub-account that never had credits. A loser's conversation insert meets the
    // winner's row; its batch is retried and then finds the account and the conversation.
    const clients = DATABASE_URL
      ? await Promise.all(Array.from({ length: 6 }, () => openDatabase({ databaseUrl: DATABASE_URL, poolSize: 1 })))
      : [];
    try {
      for (const c of clients) await c.db.execute(sql`select 1`); // connected before the race
      const recorders = clients.length > 0 ? clients.map((c) => new UsageRecorder({ ...deps, db: c.db, rawSql: c.raw })) : Array.from({ length: 6 }, () => new UsageRecorder(deps));
      for (const [agency, sub] of [[w.a, w.a.subs[0]], [w.a, w.a.subs[1]], [w.b, w.b.subs[0]], [w.b, w.b.subs[1]]] as const) {
        const free = (await api().post('/api/v1/departments').set(bearer(agency.key)).send({ name: `Free ${sub.id}`, creditsPerRequest: 0 }).expect(201)).body.id as string;
        await api().put(`/api/v1/sub-accounts/${sub.id}/departments`).set(bearer(agency.key)).send({ departmentIds: [free] }).expect(200);
        const owner = { agencyId: agency.id, subAccountId: sub.id };
        const results = await Promise.all(recorders.map((r, i) => r.record(owner, [{ conversationId: 'same', departmentId: free }, { conversationId: `own-${i}`, departmentId: free }])));
        for (const r of results) expect(r.map((x) => [x.status, x.status === 200 ? x.charged : null])).to.deep.equal([[200, 0], [200, 0]]);
        const accounts = await deps.db.select().from(creditAccounts).where(eq(creditAccounts.subAccountId, sub.id));
        expect(accounts).to.have.length(1);
        const remembered = await deps.db.select().from(usageConversations).where(eq(usageConversations.accountId, accounts[0]!.id));
        expect(remembered.map((r) => r.conversationId).sort()).to.deep.equal(['own-0', 'own-1', 'own-2', 'own-3', 'own-4', 'own-5', 'same']);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
