/**
 * Notifications: one place (src/notifications/notify.ts) honours each person's matrix of
 * categories by channels; invoices always go by email; the notification centre and its bell; Web
 * Push to a push endpoint this test runs itself.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { and, eq, like } from 'drizzle-orm';
import request from 'supertest';
import webpush from 'web-push';
import { notificationInbox, notifications, outboxEmails, pushMessages, pushSubscriptions, subAccounts } from '../../db/schema';
import { setPreference } from '../../src/notifications/preferences';
import { dispatchPendingPushes, MAX_PUSH_ATTEMPTS } from '../../src/notifications/push';
import { createApp } from '../../src/web/app';
import { billingApi, moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, csrfFrom, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

const ece = createRequire(import.meta.url)('http_ece') as { decrypt(body: Buffer, params: Record<string, unknown>): Buffer };

describe('notifications: the matrix, the centre, always-email notices and Web Push', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);

  async function setup(config: Record<string, string> = {}, start = '2026-03-10T09:00:00Z', retryDelayMs?: number) {
    await resetData();
    deps = await makeTestDeps({ start: new Date(start), config, ...(retryDelayMs === undefined ? {} : { retryDelayMs }) });
    w = await createWorld(deps);
    app = createApp(deps);
  }
  afterEach(async () => deps.close());

  /** The client's pool is funded with 30 credits, then a threshold of 50 makes it cross: one low-balance notice. */
  async function lowBalance() {
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 1000, reason: 'seed' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'seed' }).expect(201);
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`).set(bearer(w.a.key)).send({ threshold: 50 }).expect(200);
    await deps.queue.drain();
  }
  const lowBalanceMails = () => deps.db.select().from(outboxEmails).where(like(outboxEmails.subject, 'Low credit balance%'));

  it('email off for credits: the low-balance notice reaches the notification centre and no email is sent', async () => {
    await setup();
    const client = w.a.subs[0].owner;
    const { agent } = await signIn(app, client.email);
    // The profile's matrix: everything on, then "Credits and auto-billing" by email off.
    const profile = await agent.get('/profile').expect(200);
    expect(profile.text).to.contain('Credits and auto-billing').and.not.contain('Mobile push');
    const boxes = [...profile.text.matchAll(/type="checkbox" role="switch" name="([\w.]+)"[^>]*checked/g)].map((m) => m[1]!);
    expect(boxes).to.have.length(8); // 4 categories x email and in-app (no push without VAPID keys)
    const form: Record<string, string> = { _csrf: csrfFrom(profile.text) };
    for (const b of boxes) if (b !== 'credits.email') form[b] = 'on';
    await agent.post('/profile/notifications').type('form').send(form).expect(302);
    const after = await agent.get('/profile').expect(200);
    expect(after.text).to.match(/name="credits\.email" id="pref-credits-email" +aria-label/);
    expect(after.text).to.match(/name="credits\.in_app" id="pref-credits-in_app" checked/);

    await lowBalance();
    expect(await lowBalanceMails()).to.have.length(0);
    expect(deps.smtp.messages.filter((m) => m.subject.startsWith('Low credit balance'))).to.have.length(0);
    const [notice] = await deps.db.select().from(notifications).where(and(eq(notifications.kind, 'low_balance'), eq(notifications.subAccountId, w.a.subs[0].id)));
    expect(notice, "one low-balance notice").to.not.equal(undefined);
    expect(await deps.db.select().from(notificationInbox).where(eq(notificationInbox.notificationId, notice!.id))).to.have.length(1);

    // The bell on every page, with the count in its accessible name; the centre lists the notice.
    const home = await agent.get('/portal').expect(200);
    expect(home.text).to.contain('aria-label="Notifications, 1 unread"');
    const centre = await agent.get('/notifications').expect(200);
    expect(centre.text).to.contain('Low credit balance').and.contain('Credit balance is 30, below the threshold of 50.');
    // Another person never sees it: the agency's member has no billing permission and no copy.
    const other = await signIn(app, w.a.member.email);
    expect((await other.agent.get('/notifications').expect(200)).text).to.contain('No notifications yet.');
    await other.agent.post(`/notifications/${notice!.id}/read`).type('form').send({ _csrf: other.csrf }).expect(404);

    // Mark read, then the bell has no count.
    await agent.post(`/notifications/${notice!.id}/read`).type('form').send({ _csrf: csrfFrom(centre.text) }).expect(302);
    expect((await agent.get('/portal').expect(200)).text).to.contain('aria-label="Notifications"').and.not.contain('data-testid="bell-count"');
  });

  it('with email on (the default) the same notice goes by email too; mark all read clears the bell', async () => {
    await setup();
    await lowBalance();
    expect(await lowBalanceMails()).to.have.length(1);
    const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
    expect((await agent.get('/portal').expect(200)).text).to.contain('aria-label="Notifications, 1 unread"');
    await agent.post('/notifications/read-all').type('form').send({ _csrf: csrf }).expect(302);
    const page = await agent.get('/notifications').expect(200);
    expect(page.text).to.contain('1 notification marked as read.').and.not.contain('data-testid="mark-all-read"');
  });

  it('in-app off for credits: no copy in the centre, the email still goes', async () => {
    await setup();
    await setPreference(deps.db, w.a.subs[0].owner.id, 'credits', 'in_app', false);
    await lowBalance();
    expect(await lowBalanceMails()).to.have.length(1);
    expect(await deps.db.select().from(notificationInbox).where(eq(notificationInbox.userId, w.a.subs[0].owner.id))).to.have.length(0);
  });

  it('an invoice is emailed even when its recipient turned every email off', async () => {
    await setup({}, '2026-03-31T09:00:00Z');
    const owner = w.a.subs[0].owner;
    for (const c of ['billing', 'credits', 'purchases', 'team'] as const) await setPreference(deps.db, owner.id, c, 'email', false);
    const b = billingApi(app);
    const pkg = await b.createPackage(w.a.key, { name: 'Chatbot 20k', billing: 'monthly', monthlyPriceMinor: 3000, chatbotSessions: 20_000 });
    moveTo(deps, '2026-04-01');
    await b.start(w.a.subs[0].key, pkg.id).expect(201);
    moveTo(deps, '2026-05-01');
    await tick(deps);
    const mails = await deps.db.select().from(outboxEmails).where(like(outboxEmails.subject, '%INV-000001%'));
    expect(mails).to.have.length(1);
    expect(mails[0]!.to).to.deep.equal([owner.email]);
    const sent = await deps.smtp.waitFor(1);
    expect(sent.some((m) => m.subject.includes('INV-000001') && m.to.includes(owner.email))).to.equal(true);
    // It is in the centre too (in-app is on).
    const { agent } = await signIn(app, owner.email);
    expect((await agent.get('/notifications').expect(200)).text).to.contain('New invoice');
  });

  describe('Web Push', () => {
    let server: Server;
    let received: { path: string; headers: IncomingHttpHeaders; body: Buffer }[];
    let answer: (path: string) => number;
    let endpointBase: string;
    const vapid = webpush.generateVAPIDKeys();
    const withVapid = { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:ops@kontor.test' };

    beforeEach(async () => {
      received = [];
      answer = () => 201;
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(answer(req.url ?? '')).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpointBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => new Promise<void>((resolve) => server.close(() => resolve())));

    /** A browser's subscription: its own P-256 key pair and auth secret, as a push service would hand over. */
    function device(path: string) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16).toString('base64url');
      return { ecdh, auth, fields: { endpoint: `${endpointBase}${path}`, p256dh: ecdh.getPublicKey().toString('base64url'), auth } };
    }

    it('a notice is encrypted, signed with the VAPID keys and posted to the subscribed device, once', async () => {
      await setup(withVapid);
      const { agent } = await signIn(app, w.a.subs[0].owner.email);
      const profile = await agent.get('/profile').expect(200);
      expect(profile.text).to.contain('Mobile push').and.contain(`data-key="${vapid.publicKey}"`);
      const phone = device('/push/phone-1');
      await agent.post('/profile/push/subscribe').type('form').send({ _csrf: csrfFrom(profile.text), ...phone.fields }).expect(201);

      await lowBalance();
      expect(await dispatchPendingPushes(deps.queue, deps.db)).to.equal(1);
      await deps.queue.drain();
      expect(received).to.have.length(1);
      const push = received[0]!;
      expect(push.path).to.equal('/push/phone-1');
      expect(push.headers['content-encoding']).to.equal('aes128gcm');
      expect(push.headers.ttl).to.equal('86400');
      expect(push.headers.urgency).to.equal('normal');
      expect(push.headers.authorization).to.match(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${vapid.publicKey}$`));
      // The JWT is for this push service's origin, from our subject.
      const jwt = JSON.parse(Buffer.from(/t=([\w-]+)\.([\w-]+)/.exec(push.headers.authorization!)![2]!, 'base64url').toString()) as { aud: string; sub: string };
      expect(jwt).to.include({ aud: endpointBase, sub: 'mailto:ops@kontor.test' });
      // Only the device can read it.
      const plain = JSON.parse(ece.decrypt(push.body, { version: 'aes128gcm', privateKey: phone.ecdh, authSecret: phone.auth }).toString()) as Record<string, string>;
      expect(plain).to.include({ title: 'Low credit balance', body: 'Credit balance is 30, below the threshold of 50.', url: '/notifications' });
      expect((await deps.db.select().from(pushMessages))[0]).to.include({ status: 'sent', attempts: 1 });

      // The sweep again: nothing pending, nothing posted twice.
      expect(await dispatchPendingPushes(deps.queue, deps.db)).to.equal(0);
      await deps.queue.drain();
      expect(received).to.have.length(1);
    });

    it('push off for the category: nothing is posted; a device the push service calls gone (410) is removed', async () => {
      await setup(withVapid);
      const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
      await agent.post('/profile/push/subscribe').type('form').send({ _csrf: csrf, ...device('/push/gone').fields }).expect(201);
      await setPreference(deps.db, w.a.subs[0].owner.id, 'credits', 'push', false);
      await lowBalance();
      expect(await deps.db.select().from(pushMessages)).to.have.length(0);

      await setPreference(deps.db, w.a.subs[0].owner.id, 'credits', 'push', true);
      answer = () => 410;
      // Re-arm the rule (back above the threshold), then cross it again.
      await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 30, reason: 'top up' }).expect(201);
      await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/low-balance-threshold`).set(bearer(w.a.key)).send({ threshold: 100 }).expect(200);
      await dispatchPendingPushes(deps.queue, deps.db);
      await deps.queue.drain();
      expect(received).to.have.length(1);
      expect(await deps.db.select().from(pushSubscriptions)).to.have.length(0);
      expect(await deps.db.select().from(pushMessages)).to.have.length(0);
    });

    it('a push service that keeps failing is tried again and given up after a bounded number of attempts', async () => {
      await setup(withVapid, undefined, 1);
      const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
      await agent.post('/profile/push/subscribe').type('form').send({ _csrf: csrf, ...device('/push/flaky').fields }).expect(201);
      answer = () => 500;
      await lowBalance();
      for (let i = 0; i < MAX_PUSH_ATTEMPTS + 2; i++) {
        await dispatchPendingPushes(deps.queue, deps.db);
        await deps.queue.drain();
      }
      const [msg] = await deps.db.select().from(pushMessages);
      expect(msg).to.include({ status: 'failed', attempts: MAX_PUSH_ATTEMPTS });
      expect(received.length).to.be.at.least(MAX_PUSH_ATTEMPTS).and.at.most(MAX_PUSH_ATTEMPTS * 4);
    });

    it('without VAPID keys the push channel is hidden and subscribing is not found', async () => {
      await setup();
      const { agent, csrf } = await signIn(app, w.a.subs[0].owner.email);
      const profile = await agent.get('/profile').expect(200);
      expect(profile.text).not.to.contain('Mobile push').and.not.to.contain('data-push');
      await agent.post('/profile/push/subscribe').type('form').send({ _csrf: csrf, ...device('/push/x').fields }).expect(404);
      expect(await deps.db.select().from(pushSubscriptions)).to.have.length(0);
    });
  });

  it('a client\'s notice is for its people: the agency\'s staff get no copy of it', async () => {
    await setup();
    await deps.db.update(subAccounts).set({ billingEmail: null }).where(eq(subAccounts.id, w.a.subs[0].id));
    await lowBalance();
    const copies = await deps.db.select({ userId: notificationInbox.userId }).from(notificationInbox);
    expect(copies.map((c) => c.userId)).to.deep.equal([w.a.subs[0].owner.id]);
  });
});
