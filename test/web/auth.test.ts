import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { auditLog, sessions, signInFailures, users } from '../../db/schema';
import { verifyPassword } from '../../src/lib/password';
import { createApp } from '../../src/web/app';
import { newId } from '../../src/lib/ids';
import { resetData } from '../support/db';
import { REDIS_URL, requireOrSkip } from '../support/env';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, csrfFrom, signIn } from '../support/http';
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
  const sessionsOf = async (userId: string) =>
    (await deps.db.select({ n: sql<number>`count(*)::int` }).from(sessions).where(sql`${sessions.sess}->'passport'->>'user' = ${userId}`))[0]!.n;

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
    expect(res.text).to.contain('This form has expired or was not sent from this site');
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

  it('limits failed sign-ins per client address across all emails, shared by every web process', async () => {
    // Two app instances stand for two web processes behind a proxy that passes the client address.
    const config = { ...deps.config, trustProxy: true, loginRateLimit: 10, loginRateLimitPerAddress: 4 };
    const one = createApp({ ...deps, config });
    const two = createApp({ ...deps, config });
    const from = (addr: string, agent: request.Agent, csrf: string, email: string, password: string) =>
      agent.post('/login').set('X-Forwarded-For', addr).type('form').send({ _csrf: csrf, email, password });
    const a = await loginForm(request.agent(one));
    const b = await loginForm(request.agent(two));
    const emails = [world.a.owner.email, world.a.member.email, 'nobody-1@example.test', 'nobody-2@example.test'];
    await from('203.0.113.7', a.agent, a.csrf, emails[0]!, 'wrong-password-1').expect(401);
    await from('203.0.113.7', b.agent, b.csrf, emails[1]!, 'wrong-password-2').expect(401);
    await from('203.0.113.7', a.agent, a.csrf, emails[2]!, 'wrong-password-3').expect(401);
    await from('203.0.113.7', b.agent, b.csrf, emails[3]!, 'wrong-password-4').expect(401);
    // A fifth email, with its right password, from the same address: refused, and not signed in.
    const res = await from('203.0.113.7', a.agent, a.csrf, world.b.owner.email, PASSWORD).expect(429);
    expect(res.text).to.contain('Too many failed sign-in attempts from your network. Wait 15 minutes, then try again.');
    expect(res.text).to.contain(`value="${world.b.owner.email}"`);
    await a.agent.get('/agency/sub-accounts').expect(302).expect('location', /\/login/);
    await from('203.0.113.7', b.agent, b.csrf, world.b.owner.email, PASSWORD).expect(429);
    // Another address is not limited.
    const c = await loginForm(request.agent(two));
    await from('203.0.113.8', c.agent, c.csrf, world.b.owner.email, PASSWORD).expect(302);
    await c.agent.get('/agency/sub-accounts').expect(200);
  });

  it('does not count successful sign-ins against the address', async () => {
    const config = { ...deps.config, trustProxy: true, loginRateLimitPerAddress: 2 };
    const limited = createApp({ ...deps, config });
    for (let i = 0; i < 4; i++) {
      const { agent, csrf } = await loginForm(request.agent(limited));
      await agent.post('/login').set('X-Forwarded-For', '203.0.113.20').type('form').send({ _csrf: csrf, email: world.a.owner.email, password: PASSWORD }).expect(302);
    }
  });

  it('with Redis configured, the sign-in limits live there, shared by every web process (nothing in the database)', async function () {
    requireOrSkip(this, Boolean(REDIS_URL), 'REDIS_URL (a Redis server)');
    const config = { ...deps.config, trustProxy: true, loginRateLimit: 10, loginRateLimitPerAddress: 3, redisUrl: REDIS_URL, queuePrefix: `kontor-test-${newId('rl')}` };
    const one = createApp({ ...deps, config });
    const two = createApp({ ...deps, config });
    const before = await deps.db.select({ n: sql<number>`count(*)::int` }).from(signInFailures);
    // Each attempt from a fresh browser of the same network, through either process.
    const attempt = async (via: ReturnType<typeof createApp>, email: string, password: string) => {
      const { agent, csrf } = await loginForm(request.agent(via));
      return agent.post('/login').set('X-Forwarded-For', '203.0.113.30').type('form').send({ _csrf: csrf, email, password });
    };
    // A success is taken back; three failures through two processes reach the address's limit.
    expect((await attempt(one, world.a.owner.email, PASSWORD)).status).to.equal(302);
    expect((await attempt(two, 'nobody-1@example.test', 'wrong-1')).status).to.equal(401);
    expect((await attempt(one, 'nobody-2@example.test', 'wrong-2')).status).to.equal(401);
    expect((await attempt(two, 'nobody-3@example.test', 'wrong-3')).status).to.equal(401);
    const refused = await attempt(one, world.b.owner.email, PASSWORD);
    expect(refused.status).to.equal(429);
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 900);
    expect(refused.text).to.contain('Too many failed sign-in attempts from your network');
    const after = await deps.db.select({ n: sql<number>`count(*)::int` }).from(signInFailures);
    expect(after[0]!.n).to.equal(before[0]!.n);
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

  describe('choosing a password when accepting an invitation', () => {
    async function invitationLink(email: string) {
      deps.smtp.clear();
      await request(app).post('/api/v1/invitations').set(bearer(world.a.key)).send({ email, role: 'member', subAccountId: world.a.subs[0].id }).expect(201);
      const [mail] = await deps.smtp.waitFor(1);
      return /http:\/\/kontor\.test(\/invitations\/[\w-]+)/.exec(mail!.raw.replace(/=\r?\n/g, ''))![1]!;
    }

    it('refuses a common password and one made of the name or email, keeping the name typed, creating no user', async () => {
      const email = 'dorothea.brooke@example.test';
      const link = await invitationLink(email);
      const agent = request.agent(app);
      const csrf = csrfFrom((await agent.get(link).expect(200)).text);
      const attempts: [string, string][] = [
        ['1qaz2wsx3edc', 'This password is one of the most common ones'],
        ['Dorothea-2026!', 'Do not use your email address or your name in your password.'],
        ['middlemarch-brooke', 'Do not use your email address or your name in your password.'],
      ];
      for (const [password, message] of attempts) {
        const res = await agent.post(link).type('form').send({ _csrf: csrf, name: 'Dorothea Casaubon', password, confirmPassword: password }).expect(422);
        expect(res.text).to.contain(message);
        expect(res.text).to.contain('value="Dorothea Casaubon"'); // the name is kept
        expect(res.text).not.to.contain(password); // the password is not
      }
      expect(await deps.db.select().from(users).where(eq(users.email, email))).to.have.length(0);
      // A password of their own is accepted, and the link is used up.
      await agent.post(link).type('form').send({ _csrf: csrf, name: 'Dorothea Casaubon', password: 'lydgate-rosamond-1832', confirmPassword: 'lydgate-rosamond-1832' }).expect(302);
      await agent.get(link).expect(404);
    });
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

    it('signs the user out of every other session and keeps the current one; other users stay signed in', async () => {
      const email = world.b.owner.email;
      const here = await signIn(app, email);
      const elsewhere = await signIn(app, email);
      const colleague = await signIn(app, world.b.member.email);
      await change(here.agent, here.csrf, { currentPassword: PASSWORD, newPassword: 'a-fresh-password', confirmPassword: 'a-fresh-password' }).expect(302);
      const profile = await here.agent.get('/profile').expect(200);
      expect(profile.text).to.contain('Your password was changed.');
      await here.agent.get('/agency/sub-accounts').expect(200);
      await elsewhere.agent.get('/agency/sub-accounts').expect(302).expect('location', /\/login/);
      await colleague.agent.get('/agency/sub-accounts').expect(200);
      // Only the session the change was made in is left for this user.
      const userId = (await deps.db.select().from(users).where(eq(users.email, email)))[0]!.id;
      expect(await sessionsOf(userId)).to.equal(1);
    });

    it('leaves every session signed in when the change is refused', async () => {
      const email = world.a.member.email;
      const here = await signIn(app, email);
      const elsewhere = await signIn(app, email);
      await change(here.agent, here.csrf, { currentPassword: 'not-my-password', newPassword: 'another-password', confirmPassword: 'another-password' }).expect(422);
      await change(here.agent, here.csrf, { currentPassword: PASSWORD, newPassword: '1234567890', confirmPassword: '1234567890' }).expect(422);
      await elsewhere.agent.get('/agency/sub-accounts').expect(200);
      await here.agent.get('/agency/sub-accounts').expect(200);
    });

    it('refuses one of the 10,000 most common passwords, in any letter case, changing nothing', async () => {
      const email = world.a.subs[1].owner.email;
      const { agent, csrf } = await signIn(app, email);
      const before = await hashOf(email);
      for (const common of ['password123', 'QWERTYUIOP', 'basketball']) {
        const res = await change(agent, csrf, { currentPassword: PASSWORD, newPassword: common, confirmPassword: common }).expect(422);
        expect(res.text).to.contain('This password is one of the most common ones');
        expect(res.text).not.to.contain(`value="${common}"`); // a password is never written back into the page
      }
      expect(await hashOf(email)).to.equal(before);
    });

    it('refuses a password that contains the user\'s own email or name, changing nothing', async () => {
      const email = world.a.subs[0].owner.email; // client-a1-<tag>@example.test, named client-a1-<tag>
      const local = email.split('@')[0]!;
      const { agent, csrf } = await signIn(app, email);
      const before = await hashOf(email);
      for (const personal of [email, `${local.toUpperCase()}!`, `my-${local.replace(/-/g, '')}-pw`]) {
        const res = await change(agent, csrf, { currentPassword: PASSWORD, newPassword: personal, confirmPassword: personal }).expect(422);
        expect(res.text).to.contain('Do not use your email address or your name in your password.');
      }
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
