import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { agencies, users } from '../../db/schema';
import { formatterFor } from '../../src/i18n/format';
import { fromAcceptLanguage, localize, pickLanguage, tFor } from '../../src/i18n/i18n';
import { csrfFrom, signIn } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('i18n: choosing the language and formatting for it', () => {
  it('picks the user\'s choice, else the agency\'s, else the browser\'s, else English', () => {
    expect(pickLanguage({ user: 'tr', agency: 'en', acceptLanguage: 'en' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: 'tr', acceptLanguage: 'en' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'de-DE,tr;q=0.8,en;q=0.5' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'en;q=0.2, tr-TR;q=0.9' })).to.equal('tr');
    expect(pickLanguage({ user: null, agency: null, acceptLanguage: 'tr;q=0, fr' })).to.equal('en');
    expect(pickLanguage({ user: 'xx', agency: undefined, acceptLanguage: undefined })).to.equal('en');
    expect(fromAcceptLanguage('*')).to.equal(null);
  });

  it('formats money, numbers and dates for the language, dates in the seller\'s zone', () => {
    const tr = formatterFor('tr', 'Europe/Istanbul'), en = formatterFor('en', 'America/New_York');
    expect(tr.money(108387, 'TRY')).to.equal('TRY 1.083,87');
    expect(en.money(108387, 'TRY')).to.equal('TRY 1,083.87');
    expect(tr.number(1234567)).to.equal('1.234.567');
    // 02:30 UTC on the 1st is still the 30th of November in New York, already the 1st in Istanbul.
    const d = new Date('2026-12-01T02:30:00Z');
    expect(tr.date(d)).to.equal('1 Ara 2026');
    expect(en.date(d)).to.equal('30 Nov 2026');
    expect(tr.dateTime(d)).to.equal('1 Ara 2026 05:30');
    expect(tr.day('2026-12-31')).to.equal('31 Ara 2026');
    expect(tr.month('2026-08')).to.equal('Ağustos 2026');
  });

  it('translates keys and fixed sentences, and leaves unknown text as written', () => {
    expect(localize(tFor('tr'), 'nav:signOut')).to.equal('Çıkış yap');
    expect(localize(tFor('en'), 'nav:signOut')).to.equal('Sign out');
    expect(localize(tFor('tr'), 'A sentence no catalog holds.')).to.equal('A sentence no catalog holds.');
  });

  describe('in the app', () => {
    const ctx = worldAppPerTest();

    it('shows an agency\'s users its language until they choose their own in the header', async () => {
      await ctx.deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, ctx.w.a.id));
      const { agent } = await signIn(ctx.app, ctx.w.a.owner.email);
      let page = await agent.get('/agency/sub-accounts').expect(200);
      expect(page.text).to.contain('<html lang="tr"').and.contain('Çıkış yap');
      await agent.post('/language').type('form').send({ _csrf: csrfFrom(page.text), lang: 'en', back: '/agency/sub-accounts' }).expect(303).expect('location', '/agency/sub-accounts');
      page = await agent.get('/agency/sub-accounts').expect(200);
      expect(page.text).to.contain('<html lang="en"').and.contain('Sign out');
      const [u] = await ctx.deps.db.select({ locale: users.locale }).from(users).where(eq(users.id, ctx.w.a.owner.id));
      expect(u!.locale).to.equal('en');
    });

    it('lets a visitor switch the sign-in page, and never redirects off the site', async () => {
      const agent = request.agent(ctx.app);
      const login = await agent.get('/login').set('accept-language', 'tr-TR,tr;q=0.9').expect(200);
      expect(login.text).to.contain('<html lang="tr"');
      await agent.post('/language').type('form').send({ _csrf: csrfFrom(login.text), lang: 'en', back: '//evil.test/x' }).expect(303).expect('location', '/');
      const again = await agent.get('/login').set('accept-language', 'tr').expect(200);
      expect(again.text).to.contain('<html lang="en"');
    });

    it('answers API errors in the Accept-Language, with the same code', async () => {
      const en = await request(ctx.app).get('/api/v1/sub-accounts').set('authorization', 'Bearer nope').expect(401);
      const tr = await request(ctx.app).get('/api/v1/sub-accounts').set('authorization', 'Bearer nope').set('accept-language', 'tr').expect(401);
      expect(tr.body.error).to.equal(en.body.error);
      expect(en.body.message).to.be.a('string');
    });
  });
});
