// Chatbot sessions are counted against the monthly quota plus the extra sessions bought; past
// it the API refuses with a stable code; the count resets with the period (issue #20 item 9).
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { chatbotSessionCounts, chatbotSessions, subAccounts } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('chatbot sessions against the quota', () => {
  let deps: TestDeps;
  let w: World;
  let b: ReturnType<typeof billingApi>;
  const key = () => w.a.subs[0].key;
  const open = (sessionId: string, k = key()) => b.api().post('/api/v1/chatbot-sessions').set(bearer(k)).send({ sessionId });
  const quota = async (k = key()) => (await b.api().get('/api/v1/chatbot-sessions/quota').set(bearer(k)).expect(200)).body;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    b = billingApi(createApp(deps));
  });
  afterEach(() => deps.close());

  it('counts each session once, refuses past the quota with chatbot_sessions_exhausted, and changes nothing when refused', async () => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 3', billing: 'monthly', monthlyPriceMinor: 1000, chatbotSessions: 3 });
    await b.start(key(), pkg.id).expect(201);
    expect((await open('s1')).status).to.equal(201);
    const again = await open('s1');
    expect(again.status).to.equal(200); // the same session: counted once
    expect(again.body).to.include({ created: false, used: 1, limit: 3 });
    expect((await open('s2')).status).to.equal(201);
    expect((await open('s3')).body).to.include({ used: 3, limit: 3, periodStart: '2026-03-01', periodEnd: '2026-03-31' });
    const refused = await open('s4');
    expect(refused.status).to.equal(402);
    expect(refused.body).to.include({ error: 'chatbot_sessions_exhausted', limit: 3 });
    expect(refused.body.message).to.contain('Buy extra sessions');
    expect((await deps.db.select().from(chatbotSessions)).map((s) => s.sessionId).sort()).to.deep.equal(['s1', 's2', 's3']);
    // An already open session goes on being served.
    expect((await open('s2')).status).to.equal(200);
    // Another account of the same agency has its own (empty) quota.
    const other = await open('x1', w.a.subs[1].key);
    expect(other.status).to.equal(402);
    expect(other.body.message).to.contain('no chatbot sessions');
  });

  it('extra sessions raise the limit at once; the count starts again on the 1st (seller zone)', async () => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 2', billing: 'monthly', monthlyPriceMinor: 1000, chatbotSessions: 2 });
    await b.createPackage(w.a.key, { name: 'Extra 1', kind: 'extra_sessions', monthlyPriceMinor: 100, chatbotSessions: 1 });
    await b.start(key(), pkg.id).expect(201);
    await open('a');
    await open('b');
    expect((await open('c')).status).to.equal(402);
    await b.api().post('/api/v1/extra-sessions').set(bearer(key())).send({ quantity: 1 }).expect(201);
    expect((await open('c')).body).to.include({ used: 3, limit: 3, included: 2, extra: 1 });
    expect((await open('d')).status).to.equal(402);
    moveTo(deps, '2026-03-31', 21); // 00:00 on 1 April in Istanbul
    expect(await quota()).to.include({ periodStart: '2026-04-01', used: 0, limit: 2 });
    expect((await open('d')).status).to.equal(201);
  });

  it('twenty opens at once on a quota of five: exactly five counted', async () => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 5', billing: 'monthly', monthlyPriceMinor: 1000, chatbotSessions: 5 });
    await b.start(key(), pkg.id).expect(201);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => open(`c${i}`)));
    expect(answers.filter((a) => a.status === 201)).to.have.length(5);
    expect(answers.filter((a) => a.status === 402)).to.have.length(15);
    expect(await deps.db.select().from(chatbotSessions)).to.have.length(5);
    const [count] = await deps.db.select().from(chatbotSessionCounts);
    expect(count!.used).to.equal(5);
  });

  it('a suspended account opens no session; bad input is refused', async () => {
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 3', billing: 'monthly', monthlyPriceMinor: 1000, chatbotSessions: 3 });
    await b.start(key(), pkg.id).expect(201);
    expect((await b.api().post('/api/v1/chatbot-sessions').set(bearer(key())).send({})).status).to.equal(422);
    expect((await b.api().post('/api/v1/chatbot-sessions').set(bearer(key())).send({ sessionId: 'x'.repeat(201) })).status).to.equal(422);
    await deps.db.update(subAccounts).set({ status: 'suspended' }).where(eq(subAccounts.id, w.a.subs[0].id));
    const r = await open('s1');
    expect(r.status).to.equal(403);
    expect(r.body.error).to.equal('account_suspended');
    expect(await deps.db.select().from(chatbotSessions)).to.have.length(0);
  });
});
