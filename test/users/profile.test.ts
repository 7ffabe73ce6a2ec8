/**
 * The profile: name and language, online status (the page, team lists and the API, scoped to the
 * caller's tenant), and the email change confirmed by a link to the new address.
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { emailChanges, outboxEmails, users } from '../../db/schema';
import { sha256 } from '../../src/lib/tokens';
import type { TestDeps } from '../support/deps';
import { bearer, csrfFrom, signIn } from '../support/http';
import { PASSWORD, type World } from '../support/world';
import { worldAppPerTest, type WorldApp } from '../support/world-app';

describe('profile: details, online status and email change', () => {
  const ctx = worldAppPerTest({ start: new Date('2026-03-10T09:00:00Z') });
  let deps: TestDeps;
  let w: World;
  let app: WorldApp['app'];
  beforeEach(() => ({ deps, w, app } = ctx));
  const api = () => request(app);

  const userRow = async (id: string) => (await deps.db.select().from(users).where(eq(users.id, id)))[0]!;

  it('name and language are saved; "agency default" stores no choice', async () => {
    const { agent, csrf } = await signIn(app, w.a.member.email);
    await agent.post('/profile').type('form').send({ _csrf: csrf, name: 'Ayşe Yılmaz', locale: 'tr' }).expect(302);
    expect(await userRow(w.a.member.id)).to.include({ name: 'Ayşe Yılmaz', locale: 'tr' });
    const page = await agent.get('/profile').expect(200);
    expect(page.text).to.contain('<html lang="tr"').and.contain('Durumunuz').and.contain('Bildirim ayarlarını kaydet');
    await agent.post('/profile').type('form').send({ _csrf: csrf, name: 'Ayşe Yılmaz', locale: '' }).expect(302);
    expect((await userRow(w.a.member.id)).locale).to.equal(null);
    const bad = await agent.post('/profile').type('form').send({ _csrf: csrf, name: ' ', locale: 'de' }).expect(422);
    expect(bad.text).to.contain('Enter your name.').and.contain('Choose English, Turkish or the agency default.');
    expect((await userRow(w.a.member.id)).name).to.equal('Ayşe Yılmaz');
  });

  describe('online status', () => {
    it('is set on the profile and shown beside the person in the team list', async () => {
      const { agent, csrf } = await signIn(app, w.a.member.email);
      await agent.post('/profile/status').type('form').send({ _csrf: csrf, status: 'be_right_back' }).expect(302);
      expect((await userRow(w.a.member.id)).presence).to.equal('be_right_back');
      const owner = await signIn(app, w.a.owner.email);
      const team = await owner.agent.get('/agency/team').expect(200);
      expect(team.text).to.match(/member-a-\w+ <span class="presence presence-be_right_back"[^>]*data-status="be_right_back"><span class="presence-dot" aria-hidden="true"><\/span>Be Right Back<\/span><\/td>/);
      await agent.post('/profile/status').type('form').send({ _csrf: csrf, status: 'sleeping' }).expect(422);
      expect((await userRow(w.a.member.id)).presence).to.equal('be_right_back');
    });

    it('is read and set through the API within the key\'s tenant only', async () => {
      let res = await api().get('/api/v1/members').set(bearer(w.a.key)).expect(200);
      expect(res.body.data.map((m: { userId: string }) => m.userId)).to.have.members([w.a.owner.id, w.a.member.id]);
      expect(res.body.data[0]).to.include({ status: 'offline', statusChangedAt: null });

      res = await api().put(`/api/v1/members/${w.a.member.id}/status`).set(bearer(w.a.key)).send({ status: 'busy' }).expect(200);
      expect(res.body).to.include({ userId: w.a.member.id, status: 'busy', statusChangedAt: '2026-03-10T09:00:00.000Z' });
      expect((await api().get(`/api/v1/members/${w.a.member.id}`).set(bearer(w.a.key)).expect(200)).body.status).to.equal('busy');

      // Another agency's person, or one of its clients', is not found, and stays as it was.
      await api().put(`/api/v1/members/${w.b.owner.id}/status`).set(bearer(w.a.key)).send({ status: 'busy' }).expect(404);
      await api().get(`/api/v1/members/${w.b.owner.id}`).set(bearer(w.a.key)).expect(404);
      await api().put(`/api/v1/members/${w.a.subs[0].owner.id}/status`).set(bearer(w.a.key)).send({ status: 'busy' }).expect(404);
      expect((await userRow(w.b.owner.id)).presence).to.equal('offline');

      // An agency key reaches its own sub-account's people by naming it; never another agency's.
      res = await api().get(`/api/v1/members?subAccountId=${w.a.subs[0].id}`).set(bearer(w.a.key)).expect(200);
      expect(res.body.data.map((m: { userId: string }) => m.userId)).to.deep.equal([w.a.subs[0].owner.id]);
      await api().put(`/api/v1/members/${w.a.subs[0].owner.id}/status?subAccountId=${w.a.subs[0].id}`).set(bearer(w.a.key)).send({ status: 'online' }).expect(200);
      await api().get(`/api/v1/members?subAccountId=${w.b.subs[0].id}`).set(bearer(w.a.key)).expect(404);

      // A sub-account key: its own people only.
      res = await api().get('/api/v1/members').set(bearer(w.a.subs[0].key)).expect(200);
      expect(res.body.data).to.have.length(1);
      expect(res.body.data[0]).to.include({ userId: w.a.subs[0].owner.id, status: 'online' });
      await api().put(`/api/v1/members/${w.a.owner.id}/status`).set(bearer(w.a.subs[0].key)).send({ status: 'busy' }).expect(404);
      await api().get(`/api/v1/members?subAccountId=${w.a.subs[1].id}`).set(bearer(w.a.subs[0].key)).expect(404);

      // Bad input: a field message, nothing changed; the message in the caller's language.
      res = await api().put(`/api/v1/members/${w.a.member.id}/status`).set(bearer(w.a.key)).set('Accept-Language', 'tr').send({ status: 'away' }).expect(422);
      expect(res.body.error).to.equal('validation_failed');
      expect(res.body.fields.status).to.contain('Bir durum seçin');
      expect((await userRow(w.a.member.id)).presence).to.equal('busy');
    });
  });

  describe('email change', () => {
    /** The confirmation link of the email-change mail queued to that address. */
    const linkFrom = async (to: string) => {
      const mail = (await deps.db.select().from(outboxEmails)).find((m) => m.to.includes(to) && m.idempotencyKey.startsWith('email-change:'));
      return /\/profile\/email\/([\w-]+)/.exec(mail!.text)![1]!;
    };

    it('is confirmed by the link sent to the new address; the email is unchanged until then; the link works once', async () => {
      const me = w.a.member;
      const { agent, csrf } = await signIn(app, me.email);
      await agent.post('/profile/email').type('form').send({ _csrf: csrf, newEmail: 'New.Address@Example.test', password: PASSWORD }).expect(302);
      expect((await userRow(me.id)).email).to.equal(me.email);
      expect((await agent.get('/profile').expect(200)).text).to.contain('Waiting for confirmation: we sent a link to new.address@example.test.');
      const token = await linkFrom('new.address@example.test');
      const [stored] = await deps.db.select().from(emailChanges);
      expect(stored!.tokenHash).to.equal(sha256(token)).and.not.equal(token);
      await deps.queue.drain();
      expect((await deps.smtp.waitFor(1)).some((m) => m.to.includes('new.address@example.test') && m.subject === 'Confirm your new email address')).to.equal(true);

      // Opening the link changes nothing (a mail scanner may open it); the button does.
      const confirmPage = await request(app).get(`/profile/email/${token}`).expect(200);
      expect(confirmPage.text).to.contain(`from ${me.email} to new.address@example.test`);
      expect((await userRow(me.id)).email).to.equal(me.email);
      await agent.post(`/profile/email/${token}`).type('form').send({ _csrf: csrf }).expect(302);
      expect((await userRow(me.id)).email).to.equal('new.address@example.test');
      // The old address is told, and so is the person in the app.
      const told = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.subject, 'Your sign-in email was changed'));
      expect(told.map((m) => m.to)).to.deep.equal([[me.email]]);
      expect((await agent.get('/notifications').expect(200)).text).to.contain('Your sign-in email is now new.address@example.test.');

      // Used: the link is refused, twice over.
      await agent.get(`/profile/email/${token}`).expect(404);
      await agent.post(`/profile/email/${token}`).type('form').send({ _csrf: csrf }).expect(404);
      await signIn(app, 'new.address@example.test');
    });

    it('an expired link, a replaced link, a wrong password and a taken address change nothing', async () => {
      const me = w.a.member;
      const { agent, csrf } = await signIn(app, me.email);
      const ask = (newEmail: string, password = PASSWORD) => agent.post('/profile/email').type('form').send({ _csrf: csrf, newEmail, password });

      let res = await ask('someone@example.test', 'wrong-password-here').expect(422);
      expect(res.text).to.contain('The current password is not correct.');
      res = await ask(w.b.owner.email).expect(422);
      expect(res.text).to.contain('Another account uses this email address.');
      expect(await deps.db.select().from(emailChanges)).to.have.length(0);

      await ask('first@example.test').expect(302);
      const first = await linkFrom('first@example.test');
      await ask('second@example.test').expect(302);
      const second = await linkFrom('second@example.test');
      await agent.get(`/profile/email/${first}`).expect(404); // replaced by the newer request
      deps.testClock.set(new Date('2026-03-11T09:00:01Z')); // 24 hours and a second later
      const expired = await agent.post(`/profile/email/${second}`).type('form').send({ _csrf: csrf }).expect(404);
      expect(expired.text).to.contain('This link is not valid any more');
      expect((await userRow(me.id)).email).to.equal(me.email);
    });
  });

  it('a password change is told to the person (team and security)', async () => {
    const { agent } = await signIn(app, w.a.member.email);
    const page = await agent.get('/profile').expect(200);
    await agent.post('/profile/password').type('form').send({ _csrf: csrfFrom(page.text), currentPassword: PASSWORD, newPassword: 'a-much-better-passphrase-2026', confirmPassword: 'a-much-better-passphrase-2026' }).expect(302);
    expect(await deps.db.select().from(outboxEmails).where(eq(outboxEmails.subject, 'Your password was changed'))).to.have.length(1);
    expect((await agent.get('/notifications').expect(200)).text).to.contain('Password changed');
  });
});
