// Issue #19, outgoing webhooks: signed deliveries to a receiver the test runs, retries after 500
// and delivery after it recovers, replays de-duplicated by event id, a worker killed mid-delivery
// (its lease runs out: delivered once more at most, same event id), three days of failures
// (failed, seller told, endpoint switched off), SSRF refusals, bad input on creation.
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { notifications, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/schema';
import type { Actor } from '../../src/auth/actor';
import { suspendSubAccount } from '../../src/suspension/manual-suspension';
import { createApp } from '../../src/web/app';
import { claimDeliveries, deliverDueWebhooks, LEASE_MARGIN_MS, RETRY_WINDOW_MS } from '../../src/webhooks/deliver';
import { emitEvent } from '../../src/webhooks/emit';
import { eventEnvelope } from '../../src/webhooks/event-schemas';
import { createAgents, sendSigned } from '../../src/webhooks/sender';
import { addressKind, systemResolver, type Resolver } from '../../src/webhooks/url-safety';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';
import { startReceiver } from './receiver';

const agencyOwner = (w: World): Actor => ({ kind: 'user', id: w.a.owner.id, scope: 'agency', agencyId: w.a.id, subAccountId: null, role: 'owner', billing: true });

describe('Outgoing webhooks', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await deps.close();
  });

  const addEndpoint = async (events: string[] = ['account.suspended', 'credits.low'], url = receiver.url) => {
    const res = await request(app).post('/api/v1/webhook-endpoints').set(bearer(w.a.key)).send({ url, events, description: 'CRM' }).expect(201);
    receiver.state.secret = res.body.secret as string;
    return res.body as { id: string; secret: string; secretHint: string };
  };
  const suspendClient = (n: 0 | 1 = 0) => suspendSubAccount(deps, { actor: agencyOwner(w), subAccountId: w.a.subs[n].id, input: { reason: 'Testing webhooks' } });
  const run = () => deliverDueWebhooks(deps, { resolve: systemResolver });
  const deliveries = () => deps.db.select().from(webhookDeliveries);

  it('signs each delivery; after 500s it retries with back-off and delivers once the receiver recovers; a replay carries the same event id and is de-duplicated', async () => {
    const endpoint = await addEndpoint();
    expect(endpoint.secret).to.match(/^whsec_/);
    receiver.state.status = 500;
    await suspendClient();

    expect(await run()).to.include({ attempted: 1, retrying: 1 });
    expect(receiver.state.received).to.have.length(1);
    expect(await run(), 'not due again before its back-off').to.include({ attempted: 0 });
    deps.testClock.advance(30_000);
    expect(await run()).to.include({ attempted: 1, retrying: 1 });
    expect(receiver.state.received).to.have.length(2);

    receiver.state.status = 200;
    deps.testClock.advance(59_000);
    expect(await run(), 'the second back-off (60 s) has not passed').to.include({ attempted: 0 });
    deps.testClock.advance(1_000);
    expect(await run()).to.include({ attempted: 1, succeeded: 1 });

    const got = receiver.state.received;
    expect(got).to.have.length(3);
    expect(got.every((r) => r.signatureValid), 'every signature verifies with the secret shown at creation').to.equal(true);
    expect(new Set(got.map((r) => r.eventId)).size, 'retries carry the same event id').to.equal(1);
    expect(got.map((r) => r.headers['kontor-delivery-attempt'])).to.deep.equal(['1', '2', '3']);
    const body = eventEnvelope('account.suspended').parse(got[2]!.json);
    expect(body.data).to.deep.include({ account: { agencyId: w.a.id, subAccountId: w.a.subs[0].id }, reason: 'manual', overdueInvoices: 0 });
    expect(receiver.state.handledTimes).to.equal(1);

    // The log: each attempt's answer, the 500s' bodies truncated.
    const log = await request(app).get(`/api/v1/webhook-endpoints/${endpoint.id}/attempts`).set(bearer(w.a.key)).expect(200);
    expect(log.body.data.map((a: { responseStatus: number }) => a.responseStatus)).to.deep.equal([200, 500, 500]);
    expect(log.body.data[1].responseBody).to.have.length(2048);
    expect(log.body.data[1].error).to.equal('Answered 500 (only 2xx counts as received).');
    expect(log.body.data[0].requestHeaders['Kontor-Signature']).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);

    // Replay of the delivered event: sent again with the same id; the receiver acknowledges it without handling it twice.
    const [d] = await deliveries();
    await request(app).post(`/api/v1/webhook-endpoints/${endpoint.id}/deliveries/${d!.id}/replay`).set(bearer(w.a.key)).expect(202);
    expect(await run()).to.include({ attempted: 1, succeeded: 1 });
    expect(receiver.state.received).to.have.length(4);
    expect(receiver.state.received[3]!.eventId).to.equal(got[0]!.eventId);
    expect(receiver.state.handledTimes, 'de-duplicated by event id').to.equal(1);
  });

  it('a worker killed during a delivery: once its lease runs out the next one delivers, once more at most, with the same event id', async () => {
    await addEndpoint();
    await suspendClient(0);
    // Worker 1 claims the delivery and dies before sending.
    expect(await claimDeliveries(deps, 10)).to.have.length(1);
    expect(await run(), 'the lease holds: nobody else sends it').to.include({ attempted: 0 });
    deps.testClock.advance(deps.config.webhooks.timeoutMs + LEASE_MARGIN_MS + 1);
    expect(await run()).to.include({ attempted: 1, succeeded: 1 });
    expect(receiver.state.received).to.have.length(1);

    // Worker 2 claims the next one, sends it, and dies before recording the answer.
    await suspendClient(1);
    const [claimed] = await claimDeliveries(deps, 10);
    const [event] = await deps.db.select().from(webhookEvents).where(eq(webhookEvents.id, claimed!.event_id));
    const body = JSON.stringify({ id: event!.id, type: event!.type, created: event!.createdAt.toISOString(), data: event!.data });
    const { signatureHeader } = await import('../../src/webhooks/sender');
    const agents = createAgents();
    await sendSigned({ url: receiver.url, headers: { 'Content-Type': 'application/json', 'Kontor-Signature': signatureHeader(receiver.state.secret, body, deps.clock.now()) }, body, strict: false, timeoutMs: 5_000, resolve: systemResolver, agents });
    agents.destroy();
    expect(receiver.state.received).to.have.length(2);
    expect(await run()).to.include({ attempted: 0 });
    deps.testClock.advance(deps.config.webhooks.timeoutMs + LEASE_MARGIN_MS + 1);
    expect(await run()).to.include({ attempted: 1, succeeded: 1 });
    expect(await run()).to.include({ attempted: 0 });
    deps.testClock.advance(RETRY_WINDOW_MS);
    expect(await run(), 'nothing is ever sent a third time').to.include({ attempted: 0 });
    const second = receiver.state.received.slice(1);
    expect(second.map((r) => r.eventId)).to.deep.equal([event!.id, event!.id]);
    expect(receiver.state.handledTimes).to.equal(2);
  });

  it('failing for three days: the delivery is given up, the agency told once, the endpoint switched off; switched on again, the failed delivery is replayed', async () => {
    const endpoint = await addEndpoint();
    receiver.state.status = 503;
    await suspendClient();
    let attempts = 0;
    for (let i = 0; i < 40; i++) {
      const r = await run();
      attempts += r.attempted;
      const [d] = await deliveries();
      if (d!.status === 'failed') break;
      deps.testClock.set(d!.nextAttemptAt);
    }
    const [d] = await deliveries();
    expect(d!.status).to.equal('failed');
    expect(attempts).to.be.within(12, 20);
    const [ep] = await deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(ep).to.include({ enabled: false, disabledReason: 'failing' });
    const notices = await deps.db.select().from(notifications).where(eq(notifications.agencyId, w.a.id));
    expect(notices.map((n) => n.kind)).to.include('webhook_endpoint_disabled');
    await deps.queue.drain();
    expect(deps.smtp.messages.some((m) => /switched off/.test(m.subject)), 'the agency is emailed').to.equal(true);

    // Nothing goes to a switched-off endpoint.
    await suspendClient(1);
    expect(await deliveries()).to.have.length(1);

    receiver.state.status = 200;
    await request(app).patch(`/api/v1/webhook-endpoints/${endpoint.id}`).set(bearer(w.a.key)).send({ enabled: true }).expect(200);
    const replay = await request(app).post(`/api/v1/webhook-endpoints/${endpoint.id}/replay-failed`).set(bearer(w.a.key)).expect(202);
    expect(replay.body).to.deep.equal({ replayed: 1 });
    expect(await run()).to.include({ attempted: 1, succeeded: 1 });
    expect(receiver.state.handledTimes).to.equal(1);
  });

  it('events are written in the change\'s transaction: a rolled-back change sends nothing, and only subscribed types go out', async () => {
    await addEndpoint(['account.suspended']);
    const whom = { agencyId: w.a.id, subAccountId: w.a.subs[0].id };
    await deps.db.transaction(async (tx) => {
      await emitEvent(tx, { type: 'account.suspended', at: deps.clock.now(), data: { account: whom, reason: 'manual', overdueInvoices: 0 } });
      tx.rollback();
    }).catch(() => undefined);
    expect(await deps.db.select().from(webhookEvents)).to.have.length(0);
    expect(await deps.db.transaction((tx) => emitEvent(tx, { type: 'credits.low', at: deps.clock.now(), data: { account: whom, balance: 1, threshold: 5 } })), 'nobody subscribes to credits.low').to.equal(null);
    // Agency B's client: A's endpoint hears nothing.
    await deps.db.transaction((tx) => emitEvent(tx, { type: 'account.suspended', at: deps.clock.now(), data: { account: { agencyId: w.b.id, subAccountId: w.b.subs[0].id }, reason: 'manual', overdueInvoices: 0 } }));
    expect(await deliveries()).to.have.length(0);
    expect(await deps.db.select().from(webhookEvents)).to.have.length(0);
  });

  it('refuses bad input on creation with a message per field and writes nothing; other sellers and buyers cannot reach an endpoint', async () => {
    const post = (body: unknown, key = w.a.key) => request(app).post('/api/v1/webhook-endpoints').set(bearer(key)).send(body as object);
    const cases: [unknown, string][] = [
      [{ events: ['invoice.paid'] }, 'url'],
      [{ url: 'not a url', events: ['invoice.paid'] }, 'url'],
      [{ url: 'ftp://example.com/x', events: ['invoice.paid'] }, 'url'],
      [{ url: 'javascript:alert(1)', events: ['invoice.paid'] }, 'url'],
      [{ url: 'https://user:pw@example.com/x', events: ['invoice.paid'] }, 'url'],
      [{ url: 'https://example.com/x', events: [] }, 'events'],
      [{ url: 'https://example.com/x', events: ['invoice.voided'] }, 'events'],
      [{ url: 'https://example.com/x', events: 'invoice.paid' }, 'events'],
      [{ url: 'https://example.com/x', events: ['invoice.paid'], description: 'x'.repeat(201) }, 'description'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body).expect(422);
      expect(res.body.error).to.equal('validation_failed');
      expect(res.body.fields, JSON.stringify(body)).to.have.property(field).that.is.a('string').and.not.match(/^webhooks:/);
    }
    expect(await deps.db.select().from(webhookEndpoints)).to.have.length(0);
    await post({ url: 'https://example.com/x', events: ['invoice.paid'] }, w.a.subs[0].key).expect(403);
    const made = await addEndpoint();
    await request(app).get(`/api/v1/webhook-endpoints/${made.id}`).set(bearer(w.b.key)).expect(404);
    await request(app).delete(`/api/v1/webhook-endpoints/${made.id}`).set(bearer(w.b.key)).expect(404);
    const list = await request(app).get('/api/v1/webhook-endpoints').set(bearer(w.a.key)).expect(200);
    expect(list.body.data).to.have.length(1);
    expect(JSON.stringify(list.body), 'the secret is never shown again').to.not.contain(made.secret);
    const tr = await post({ url: 'ftp://example.com/x', events: ['invoice.paid'] }).set('Accept-Language', 'tr').expect(422);
    expect(tr.body.fields.url).to.contain('http ve https');
  });

  it('the console page adds an endpoint, shows its secret once, and lists its deliveries by name', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const empty = await agent.get('/agency/webhooks').expect(200);
    expect(empty.text).to.contain('No endpoints yet');
    const bad = await agent.post('/agency/webhooks').type('form').send({ _csrf: csrf, url: receiver.url }).expect(422);
    expect(bad.text).to.contain('Choose at least one event.').and.contain(`value="${receiver.url}"`);
    const made = await agent.post('/agency/webhooks').type('form').send({ _csrf: csrf, url: receiver.url, events: ['account.suspended', 'invoice.paid'] }).expect(302);
    const page = await agent.get(made.headers.location!).expect(200);
    const secret = /<code>(whsec_[^<]+)<\/code>/.exec(page.text)?.[1];
    expect(secret, 'the secret is shown after creation').to.be.a('string');
    expect((await agent.get(made.headers.location!).expect(200)).text, 'and never again').to.not.contain(secret!);
    receiver.state.secret = secret!;
    await suspendClient();
    await run();
    const log = await agent.get(made.headers.location!).expect(200);
    expect(log.text).to.contain('Account suspended').and.contain('Delivered');
    const tr = await agent.get(made.headers.location!).set('Accept-Language', 'tr').set('Cookie', 'lang=tr');
    expect(tr.status).to.equal(200);
    const member = await signIn(app, w.a.member.email);
    await member.agent.get('/agency/webhooks').expect(403);
  });
});

describe('Outgoing webhooks: server-side request forgery (strict mode, as in production)', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ config: { WEBHOOKS_STRICT: 'true' } });
    w = await createWorld(deps);
    app = createApp(deps);
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await deps.close();
  });

  it('refuses plain http and internal hosts when the endpoint is created', async () => {
    for (const url of ['http://example.com/hooks', 'https://127.0.0.1/hooks', 'https://localhost/hooks', 'https://[::1]/hooks', 'https://169.254.169.254/latest/meta-data', 'https://10.1.2.3/x', 'https://192.168.1.1/x', 'https://[::ffff:127.0.0.1]/x', 'https://intranet/x', receiver.url]) {
      const res = await request(app).post('/api/v1/webhook-endpoints').set(bearer(w.a.key)).send({ url, events: ['invoice.paid'] }).expect(422);
      expect(res.body.fields.url, url).to.be.a('string');
    }
    expect(await deps.db.select().from(webhookEndpoints)).to.have.length(0);
    await request(app).post('/api/v1/webhook-endpoints').set(bearer(w.a.key)).send({ url: 'https://hooks.example.com/kontor', events: ['invoice.paid'] }).expect(201);
  });

  it('checks every address the host resolves to on each delivery, and never connects to an internal one', async () => {
    const res = await request(app).post('/api/v1/webhook-endpoints').set(bearer(w.a.key)).send({ url: 'https://hooks.example.com/kontor', events: ['account.suspended'] }).expect(201);
    await suspendSubAccount(deps, { actor: agencyOwner(w), subAccountId: w.a.subs[0].id, input: { reason: 'Testing webhooks' } });
    const tries: [string, string[]][] = [
      ['a name that resolves to loopback', ['127.0.0.1']],
      ['a public address beside a private one', ['93.184.216.34', '10.0.0.7']],
      ['an IPv4-mapped loopback', ['::ffff:127.0.0.1']],
      ['the cloud metadata address', ['169.254.169.254']],
      ['IPv6 link-local', ['fe80::1']],
    ];
    for (const [what, addresses] of tries) {
      const resolve: Resolver = async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      const r = await deliverDueWebhooks(deps, { resolve });
      expect(r, what).to.include({ attempted: 1, retrying: 1 });
      const [last] = await deps.db.select().from(webhookAttempts).where(eq(webhookAttempts.endpointId, res.body.id)).orderBy(sql`${webhookAttempts.createdAt} desc, ${webhookAttempts.attempt} desc`).limit(1);
      expect(last!.responseStatus, what).to.equal(null);
      expect(last!.error, what).to.match(/^webhooks:error\.address/);
      const [d] = await deps.db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.endpointId, res.body.id)));
      deps.testClock.set(d!.nextAttemptAt);
    }
    expect(receiver.state.received, 'nothing reached the loopback receiver').to.have.length(0);
  });

  it('classifies addresses', () => {
    const cases: [string, string | null][] = [
      ['127.0.0.1', 'loopback'], ['10.0.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.0.10', 'private'], ['100.64.0.1', 'private'],
      ['169.254.169.254', 'link_local'], ['0.0.0.0', 'unspecified'], ['224.0.0.1', 'multicast'], ['::1', 'loopback'], ['fd00::1', 'private'],
      ['fe80::abcd', 'link_local'], ['::ffff:10.0.0.1', 'private'], ['::ffff:7f00:1', 'loopback'], ['64:ff9b::127.0.0.1', 'loopback'],
      ['8.8.8.8', null], ['2606:4700:4700::1111', null], ['93.184.216.34', null],
    ];
    for (const [address, kind] of cases) expect(addressKind(address), address).to.equal(kind);
  });
});
