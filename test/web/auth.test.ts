import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, sessions, users } from '../../db/schema';
import { verifyPassword } from '../../src/lib/password';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { csrfFrom, signIn } from '../support/http';
import { createWorld, PASSWORD, type World } from '../support/world';

describe('sign-in, sessions and passwords', () => {
  let deps: TestDeps;
  let world: World;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    world = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());

  const countSessions = async () => (await deps.db.select({ n: sql<number>`count(*)::int` }).from(sessions))[0]!.n;

  async function loginForm(agent = request.agent(app)) {
    const page = await agent.get('/login').expect(200);
    return { agent, csrf: csrfFrom(page.text) };
  }

  it('signs an agency owner in and shows the sub-accounts list', async () => {
    const { agent } = await signIn(app, world.a.owner.email);
    const page = await agent.get('/agency/sub-accounts').expect(200);
    expect(page.text).to.contain(world.a.subs[0].name).and.contain(world.a.subs[1].name);
    expect(page.text).not.to.contain(world.b.subs[0].name);
  });

  it('refuses a wrong password with a clear message and no session user', async () => {
    const { agent, csrf } = await loginForm();
    const res = await agent.post('/login').type('form').send({ _csrf: csrf, email: world.a.owner.email, password: 'wrong-password' }).expect(401);
    expect(res.text).to.contain('The email or password is not correct.');
    expect(res.text).to.contain(`value="${world.a.owner.email}"`); // the form is kept
    await agent.get('/agency/sub-accounts').expect(302).expect('location', /\/login/);
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const { agent, csrf } = await loginForm();
    const res = await agent.post('/login').type('form').send({ _csrf: csrf, email: 'nobody@example.test', password: 'whatever-pass' }).expect(401);
    expect(res.text).to.contain('The email or password is not correct.');
  });

  it('asks for both fields when they are empty', async () => {
    const { agent, csrf } = await loginForm();
    const res = await agent.post('/login').type('form').send({ _csrf: csrf, email: '', password: '' }).expect(422);
    expect(res.text).to.contain('Enter your email.').and.contain('Enter your password.');
  });

  it('rejects a forged CSRF token and writes nothing', async () => {
    const { agent } = await signIn(app, world.a.owner.email);
    const before = await deps.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
    const res = await agent.post('/agency/sub-accounts').type('form').send({ _csrf: 'forged', name: 'Forged Co' }).expect(403);
    expect(res.text).to.contain('This form has expired or was not sent from Kontor');
    expect(res.text).not.to.match(/at .*\.ts:\d+/); // no stack trace
    const after = await deps.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
    expect(after[0]!.n).to.equal(before[0]!.n);
    const list = await agent.get('/agency/sub-accounts');
    expect(list.text).not.to.contain('Forged Co');
  });

  it('rate-limits failed logins per email with a clear message, even for the right password afterwards', async () => {
    const limited = createApp({ ...deps, config: { ...deps.config, loginRateLimit: 3 } });
    const { agent, csrf } = await loginForm(request.agent(limited));
    for (let i = 0; i < 3; i++) {
      await agent.post('/login').type('form').send({ _csrf: csrf, email: world.b.owner.email, password: 'bad-password' }).expect(401);
    }
    const res = await agent.post('/login').type('form').send({ _csrf: csrf, email: world.b.owner.email, password: PASSWORD }).expect(429);
    expect(res.text).to.contain('Too many failed sign-in attempts');
    // Another email from the same address is not locked out.
    await agent.post('/login').type('form').send({ _csrf: csrf, email: world.b.member.email, password: PASSWORD }).expect(302);
  });

  it('keeps the session in the database: a new app instance (a restart) still knows the user', async () => {
    const { agent } = await signIn(app, world.a.owner.email);
    expect(await countSessions()).to.be.greaterThan(0);
    const restarted = createApp(deps);
    const cookie = (await agent.get('/agency/sub-accounts')).request.cookies as unknown as string;
    const res = await request(restarted).get('/agency/sub-accounts').set('Cookie', cookie).expect(200);
    expect(res.text).to.contain(world.a.subs[0].name);
  });

  it('sends an expired session back to the login page', async () => {
    const { agent } = await signIn(app, world.a.owner.email);
    await deps.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) });
    await agent.get('/agency/sub-accounts').expect(302).expect('location', /\/login/);
  });

  it('signs out', async () => {
    const { agent, csrf } = await signIn(app, world.a.owner.email);
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(302).expect('location', '/login');
    await agent.get('/agency/sub-accounts').expect(302).expect('location', /\/login/);
  });

  it('refuses a 10 MB form body without a stack trace', async () => {
    const res = await request(app).post('/login').type('form').send(`email=${'a'.repeat(10 * 1024 * 1024)}`);
    expect(res.status).to.equal(413);
    expect(res.text).to.contain('too large');
  });

  describe('password change (current / new / confirm)', () => {
    const change = (agent: request.Agent, csrf: string, body: Record<string, string>) =>
      agent.post('/profile/password').type('form').send({ _csrf: csrf, ...body });
    const hashOf = async (email: string) => (await deps.db.select().from(users).where(eq(users.email, email)))[0]!.passwordHash;

    it('refuses a wrong current password, a mismatch and a short password, changing nothing', async () => {
      const email = world.a.subs[1].owner.email;
      const { agent, csrf } = await signIn(app, email);
      const before = await hashOf(email);
      let res = await change(agent, csrf, { currentPassword: 'not-it-at-all', newPassword: 'a-new-password-1', confirmPassword: 'a-new-password-1' }).expect(422);
      expect(res.text).to.contain('The current password is not correct.');
      res = await change(agent, csrf, { currentPassword: PASSWORD, newPassword: 'a-new-password-1', confirmPassword: 'a-new-password-2' }).expect(422);
      expect(res.text).to.contain('The two new passwords do not match.');
      res = await change(agent, csrf, { currentPassword: PASSWORD, newPassword: 'short', confirmPassword: 'short' }).expect(422);
      expect(res.text).to.contain('at least 10 characters');
      expect(await hashOf(email)).to.equal(before);
    });

    it('changes the password: the old one stops working, the new one works', async () => {
      const email = world.b.subs[1].owner.email;
      const { agent, csrf } = await signIn(app, email);
      await change(agent, csrf, { currentPassword: PASSWORD, newPassword: 'brand-new-password', confirmPassword: 'brand-new-password' }).expect(302);
      expect(await verifyPassword('brand-new-password', await hashOf(email))).to.equal(true);
      const { agent: fresh, csrf: c2 } = await loginForm();
      await fresh.post('/login').type('form').send({ _csrf: c2, email, password: PASSWORD }).expect(401);
      await signIn(app, email, 'brand-new-password');
    });
  });
});
