/**
 * The per-process cache of sessions' principals and of the account gate (src/web/access-cache.ts):
 * two app instances on one database stand for two processes. Whatever one changes (or anything
 * else writing the tables) takes effect on the other's very next request: a removed membership
 * signs the user out, a suspension sends the client to its billing page, an agency's suspension
 * its clients, a new representative re-reads the gate. And the cache does serve: a repeated page
 * reads nothing again.
 */
import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { memberships, representatives, sessions, subAccounts, agencies } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { endUserSessions } from '../../src/users/user-sessions';
import { createApp, createWebContext, type WebContext } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { csrfFrom } from '../support/http';
import { createWorld, PASSWORD, type World } from '../support/world';

/** Lets announcements sent at commit reach the listeners. */
const settle = () => new Promise((r) => setTimeout(r, 20));

async function cookieFor(app: Express, email: string): Promise<string> {
  const page = await request(app).get('/login').expect(200);
  const jar = (page.headers['set-cookie'] as unknown as string[] | undefined)?.[0]?.split(';')[0] ?? '';
  const res = await request(app).post('/login').set('Cookie', jar).type('form').send({ _csrf: csrfFrom(page.text), email, password: PASSWORD });
  expect(res.status).to.equal(302);
  const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  // The page the browser goes to next (its first page writes the session once: the CSRF mark),
  // then the announcements of those writes reach every process.
  await request(app).get(res.headers.location as string).set('Cookie', cookie);
  await settle();
  return cookie;
}


describe('web: access cache (principals and the account gate) across processes', function () {
  this.timeout(120_000);
  let deps: TestDeps;
  let w: World;
  let webA: WebContext, webB: WebContext;
  let appA: Express, appB: Express;

  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    webA = createWebContext(deps);
    webB = createWebContext(deps);
    appA = createApp(deps, webA);
    appB = createApp(deps, webB);
    await settle();
  });

  const portal = (app: Express, cookie: string) => request(app).get('/portal').set('Cookie', cookie);

  it('serves a repeated page from the cache: no principal or gate read the second time', async () => {
    const cookie = await cookieFor(appA, w.a.subs[0].owner.email);
    await portal(appB, cookie).expect(200);
    const reads = webB.access.reads;
    await portal(appB, cookie).expect(200);
    await portal(appB, cookie).expect(200);
    expect(webB.access.reads).to.equal(reads);
  });

  it('a removed membership signs the user out on every process at once', async () => {
    const sub = w.a.subs[1];
    const cookie = await cookieFor(appA, sub.owner.email);
    await portal(appA, cookie).expect(200);
    await portal(appB, cookie).expect(200);
    const [m] = await deps.db.select().from(memberships).where(eq(memberships.userId, sub.owner.id));
    await deps.db.delete(memberships).where(eq(memberships.userId, sub.owner.id));
    await settle();
    for (const app of [appA, appB]) {
      const res = await portal(app, cookie);
      expect(res.status).to.equal(302);
      expect(res.headers.location).to.match(/^\/login/);
    }
    // Signed out for good: the session no longer names the user once its membership went.
    await deps.db.insert(memberships).values(m!);
    await settle();
    expect((await portal(appB, cookie)).headers.location).to.match(/^\/login/);
  });

  it("a client's suspension (and its lifting) holds on every process at once", async () => {
    const sub = w.a.subs[0];
    const cookie = await cookieFor(appA, sub.owner.email);
    await portal(appA, cookie).expect(200);
    await portal(appB, cookie).expect(200);
    await deps.db.update(subAccounts).set({ manualSuspended: true, status: 'suspended' }).where(eq(subAccounts.id, sub.id));
    await settle();
    for (const app of [appA, appB]) {
      const res = await portal(app, cookie);
      expect(res.status).to.equal(302);
      expect(res.headers.location).to.equal('/portal/billing');
    }
    await deps.db.update(subAccounts).set({ manualSuspended: false, status: 'active' }).where(eq(subAccounts.id, sub.id));
    await settle();
    await portal(appB, cookie).expect(200);
  });

  it("an agency's suspension reaches its clients' cached gate", async () => {
    const sub = w.a.subs[0];
    const cookie = await cookieFor(appA, sub.owner.email);
    await portal(appB, cookie).expect(200);
    await deps.db.update(agencies).set({ manualSuspended: true, status: 'suspended' }).where(eq(agencies.id, w.a.id));
    await settle();
    const res = await portal(appB, cookie);
    expect(res.status).to.equal(302);
    expect(res.headers.location).to.equal('/portal/billing');
    await deps.db.update(agencies).set({ manualSuspended: false, status: 'active' }).where(eq(agencies.id, w.a.id));
    await settle();
    await portal(appB, cookie).expect(200);
  });

  it("a representative added or removed re-reads the account's gate", async () => {
    const sub = w.a.subs[0];
    const cookie = await cookieFor(appA, sub.owner.email);
    await portal(appB, cookie).expect(200);
    const before = webB.access.reads;
    const id = newId('rep');
    await deps.db.insert(representatives).values({ id, agencyId: w.a.id, subAccountId: sub.id, accountId: sub.id, name: 'Rep', email: `rep-${id}@example.test`, createdAt: deps.clock.now() });
    await settle();
    await portal(appB, cookie);
    expect(webB.access.reads, 'the gate was read again').to.equal(before + 1);
    await deps.db.delete(representatives).where(and(eq(representatives.id, id), eq(representatives.accountId, sub.id)));
  });

  describe('the session row (cached too: src/web/session-store.ts)', () => {
    const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).replace(/^s:/, '').replace(/\..*$/, '');

    it('is read once per process: a repeated page reads nothing, not even the session', async () => {
      const cookie = await cookieFor(appA, w.a.subs[0].owner.email);
      await portal(appB, cookie).expect(200);
      const reads = webB.access.reads;
      expect(webB.access.size).to.be.greaterThan(0);
      await portal(appB, cookie).expect(200);
      expect(webB.access.reads).to.equal(reads);
    });

    it('a flash message written by another process shows on the next page, once', async () => {
      const cookie = await cookieFor(appA, w.a.owner.email);
      await request(appB).get('/agency/sub-accounts').set('Cookie', cookie).expect(200);
      // The sub-account form on A flashes its message; the browser's next page is served by B.
      const page = await request(appA).get('/agency/sub-accounts').set('Cookie', cookie).expect(200);
      await request(appA).post('/agency/sub-accounts').set('Cookie', cookie).type('form').send({ _csrf: csrfFrom(page.text), name: 'Flash across processes' }).expect(302);
      await settle();
      const next = await request(appB).get('/agency/sub-accounts').set('Cookie', cookie).expect(200);
      expect(next.text).to.match(/class="flash flash-success"[^>]*>\s*[^<]*Flash across processes/);
      await settle();
      expect((await request(appA).get('/agency/sub-accounts').set('Cookie', cookie).expect(200)).text).to.not.contain('class="flash');
      // Written by anything else (here SQL), the same.
      await deps.db.update(sessions).set({ sess: sql`jsonb_set(${sessions.sess}, '{flash}', '{"type":"success","message":"Written elsewhere"}')` }).where(eq(sessions.sid, sidOf(cookie)));
      await settle();
      expect((await request(appB).get('/agency/sub-accounts').set('Cookie', cookie).expect(200)).text).to.contain('Written elsewhere');
    });

    it('a sign-out on one process, a password change ending the other sessions or an expiry sign out on every process at once', async () => {
      const sub = w.a.subs[0];
      const signOutOn = async (other: Express, end: (cookie: string) => Promise<void>) => {
        const cookie = await cookieFor(appA, sub.owner.email);
        await portal(appA, cookie).expect(200);
        await portal(other, cookie).expect(200);
        await end(cookie);
        await settle();
        for (const app of [appA, appB]) expect((await portal(app, cookie)).headers.location).to.match(/^\/login/);
      };
      await signOutOn(appB, async (cookie) => {
        const page = await portal(appA, cookie).expect(200);
        await request(appA).post('/logout').set('Cookie', cookie).type('form').send({ _csrf: csrfFrom(page.text) }).expect(302);
      });
      await signOutOn(appB, async () => void (await endUserSessions(deps.db, { userId: sub.owner.id })));
      await signOutOn(appB, async (cookie) => void (await deps.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.sid, sidOf(cookie)))));
    });
  });

  it('a truncation drops everything, and a process that does not listen caches nothing', async () => {
    const cookie = await cookieFor(appA, w.a.subs[0].owner.email);
    await portal(appB, cookie).expect(200);
    expect(webB.access.size).to.be.greaterThan(0);
    // A truncation of a table the cache reads from announces '*' (the rows are put back).
    await deps.db.transaction(async (tx) => {
      const kept = await tx.select().from(representatives);
      await tx.execute(sql`truncate representatives`);
      if (kept.length) await tx.insert(representatives).values(kept);
    });
    await settle();
    expect(webB.access.size).to.equal(0);

    const quiet = createWebContext({ ...deps, listen: undefined });
    const app = createApp(deps, quiet);
    await portal(app, cookie).expect(200);
    const reads = quiet.access.reads;
    await portal(app, cookie).expect(200);
    expect(quiet.access.reads).to.equal(reads + 3); // the session row, the principal, the gate
    expect(quiet.access.size).to.equal(0);
  });
});
