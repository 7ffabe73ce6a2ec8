import { expect } from 'chai';
import { and, eq, sql } from 'drizzle-orm';
import request from 'supertest';
import { agencies, auditLog, outboxEmails, payments } from '../../db/schema';
import { applyLowBalanceRule } from '../../src/credits/low-balance';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { paymentRow } from '../support/payment-row';
import { csrfFrom, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

/** Every same-site page a signed-in user can reach by following links from `start` (GET only). */
async function crawl(agent: ReturnType<typeof request.agent>, start: string[], within: RegExp, limit = 60): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const queue = [...start];
  while (queue.length && seen.size < limit) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    const res = await agent.get(path);
    expect(res.status, `${path} answered ${res.status}`).to.be.oneOf([200, 302, 303]);
    seen.set(path, res.status === 200 ? res.text : '');
    if (res.status !== 200) continue;
    for (const [, href] of res.text.matchAll(/href="(\/[^"#]*)"/g)) {
      const clean = href!.replace(/&amp;/g, '&');
      if (within.test(clean) && !clean.startsWith('/assets') && !seen.has(clean)) queue.push(clean);
    }
  }
  return seen;
}

describe('white label: an agency\'s clients see the agency, never the platform', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());
  const agencyRow = async () => (await deps.db.select().from(agencies).where(eq(agencies.id, w.a.id)))[0]!;
  const brandForm = { brandDisplayName: 'Atlas Studio', brandLogoUrl: 'https://cdn.atlas.example/logo.png', brandColor: '#1A73E8', supportEmail: 'Help@Atlas.example', emailSenderName: 'Atlas Studio Billing', emailReplyTo: 'billing@atlas.example', portalDomain: 'Portal.Atlas.example' };

  it('without a brand set, a client\'s portal pages show the agency\'s name and never "Kontor"', async () => {
    const { agent } = await signIn(app, w.a.subs[0].owner.email);
    const pages = await crawl(agent, ['/portal', '/profile'], /^\/(portal|profile)/);
    expect(pages.size).to.be.greaterThan(5);
    for (const [path, html] of pages) {
      expect(html, path).to.not.contain('Kontor');
      if (html.startsWith('<!doctype')) expect(html, path).to.contain(`<strong>${w.a.name}</strong>`);
    }
  });

  it('an owner saves the brand; bad colour, email, logo address or domain keep the form with a message and write nothing', async () => {
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    const before = await agencyRow();
    const bad: [Record<string, string>, string, string][] = [
      [{ brandColor: 'blue' }, 'brandColor', 'Colour must be a hex colour such as #1a73e8.'],
      [{ brandColor: '#12345' }, 'brandColor', 'Colour must be a hex colour such as #1a73e8.'],
      [{ supportEmail: 'help-at-atlas' }, 'supportEmail', 'Support email must be a valid email address'],
      [{ emailReplyTo: 'nobody@' }, 'emailReplyTo', 'Reply-to address must be a valid email address'],
      [{ brandLogoUrl: 'http://cdn.atlas.example/logo.png' }, 'brandLogoUrl', 'Logo address must be an https:// address'],
      [{ brandLogoUrl: 'javascript:alert(1)' }, 'brandLogoUrl', 'Logo address must be an https:// address'],
      [{ portalDomain: 'https://portal.atlas.example/x' }, 'portalDomain', 'Portal domain must be a host name'],
      [{ emailSenderName: 'Atlas\r\nBcc: x@evil.example' }, 'emailSenderName', 'Sender name cannot contain line breaks'],
    ];
    for (const [change, field, message] of bad) {
      const res = await agent.post('/agency/settings/brand').type('form').send({ _csrf: csrf, brandForm: '1', ...brandForm, ...change }).expect(422);
      expect(res.text, field).to.contain(message);
      // The form keeps what was typed, the bad value included.
      expect(res.text, field).to.contain('value="Atlas Studio"').and.contain(`name="${field}"`);
      expect(res.text).to.match(new RegExp(`name="${field}"[^>]*aria-invalid=true`));
    }
    expect(await agencyRow()).to.deep.equal(before);

    await agent.post('/agency/settings/brand').type('form').send({ _csrf: csrf, brandForm: '1', ...brandForm }).expect(302);
    expect(await agencyRow()).to.deep.include({
      brandDisplayName: 'Atlas Studio', brandLogoUrl: 'https://cdn.atlas.example/logo.png', brandColor: '#1a73e8', supportEmail: 'help@atlas.example',
      emailSenderName: 'Atlas Studio Billing', emailReplyTo: 'billing@atlas.example', portalDomain: 'portal.atlas.example',
    });
    const audit = await deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'agency.brand_updated'), eq(auditLog.agencyId, w.a.id)));
    expect(audit).to.have.length(1);
    // Another agency cannot take the same portal domain.
    const b = await signIn(app, w.b.owner.email);
    const taken = await b.agent.post('/agency/settings/brand').type('form').send({ _csrf: b.csrf, portalDomain: 'portal.atlas.example' }).expect(422);
    expect(taken.text).to.contain('Another agency already uses this portal domain.');
    expect((await deps.db.select().from(agencies).where(eq(agencies.id, w.b.id)))[0]!.portalDomain).to.equal(null);
  });

  it('a member without the billing permission cannot change the brand', async () => {
    const { agent, csrf } = await signIn(app, w.a.member.email);
    const before = await agencyRow();
    await agent.post('/agency/settings/brand').type('form').send({ _csrf: csrf, brandDisplayName: 'Hijacked' }).expect(403);
    expect(await agencyRow()).to.deep.equal(before);
  });

  it('with the brand set, the portal shows its name, logo and colour, and still never "Kontor"', async () => {
    const { agent } = await signIn(app, w.a.subs[0].owner.email);
    const pages = await crawl(agent, ['/portal', '/profile'], /^\/(portal|profile)/);
    for (const [path, html] of pages) {
      expect(html, path).to.not.contain('Kontor');
      if (!html.startsWith('<!doctype')) continue;
      expect(html, path).to.contain('<strong>Atlas Studio</strong>').and.contain('· Atlas Studio</title>');
      expect(html, path).to.contain('src="https://cdn.atlas.example/logo.png"').and.contain('href="/brand/1a73e8.css"').and.contain('mailto:help@atlas.example');
    }
    // The CSP lets the logo's origin (only it) serve images.
    const res = await agent.get('/portal').expect(200);
    expect(res.headers['content-security-policy']).to.contain("img-src 'self' data: https://cdn.atlas.example;");
    const css = await request(app).get('/brand/1a73e8.css').expect(200).expect('content-type', /text\/css/);
    expect(css.text).to.contain('--pico-primary-background:#1a73e8');
    await request(app).get('/brand/zzz.css').expect(404);
    // The agency's own staff and the other agency's clients still see the platform's pages.
    const owner = await signIn(app, w.a.owner.email);
    expect((await owner.agent.get('/agency/sub-accounts').expect(200)).text).to.contain('<strong>Kontor</strong>');
    const other = await signIn(app, w.b.subs[0].owner.email);
    const otherPortal = (await other.agent.get('/portal').expect(200)).text;
    expect(otherPortal).to.contain(`<strong>${w.b.name}</strong>`).and.not.contain('Atlas Studio').and.not.contain('Kontor');
  });

  it('emails to a client carry the agency\'s sender name and reply-to, and never "Kontor"', async () => {
    deps.smtp.clear();
    const { agent, csrf } = await signIn(app, w.a.owner.email);
    await agent.post(`/agency/sub-accounts/${w.a.subs[0].id}/invitations`).type('form').send({ _csrf: csrf, email: 'new-person@client.example', role: 'member' }).expect(302);
    // A low-balance warning to the client (the rule runs inside the usage transaction).
    await deps.db.transaction((tx) => applyLowBalanceRule(tx, { id: 'none', agencyId: w.a.id, subAccountId: w.a.subs[0].id, balance: 5, threshold: 100, notified: false }, deps.clock.now()));
    const rows = await deps.db.select().from(outboxEmails).where(and(eq(outboxEmails.agencyId, w.a.id), sql`${outboxEmails.idempotencyKey} not like 'grant%'`));
    const toClient = rows.filter((r) => r.to.some((t) => t === 'new-person@client.example' || t === w.a.subs[0].owner.email));
    expect(toClient.length).to.be.at.least(2);
    for (const r of toClient) {
      expect(r.fromName, r.subject).to.equal('Atlas Studio Billing');
      expect(r.replyTo, r.subject).to.equal('billing@atlas.example');
      expect(`${r.subject}\n${r.text}\n${r.html ?? ''}`, r.subject).to.not.contain('Kontor');
    }
    const [mail] = await deps.smtp.waitFor(1);
    expect(mail!.raw).to.match(/^From: "?Atlas Studio Billing"? <no-reply@kontor\.local>/m).and.match(/^Reply-To: billing@atlas\.example/m);
    expect(mail!.subject).to.equal(`You are invited to ${w.a.subs[0].name} (Atlas Studio)`);
    // The invitation page is the agency's too.
    const link = /http:\/\/kontor\.test(\/invitations\/[\w-]+)/.exec(mail!.raw.replace(/=\r?\n/g, ''))![1]!;
    const page = await request(app).get(link).expect(200);
    expect(page.text).to.contain('Join Atlas Studio').and.not.contain('Kontor');
  });

  it('mail to the agency itself stays the platform\'s', async () => {
    await deps.db.transaction((tx) => applyLowBalanceRule(tx, { id: 'none', agencyId: w.a.id, subAccountId: null, balance: 5, threshold: 100, notified: false }, deps.clock.now()));
    const [row] = await deps.db.select().from(outboxEmails).where(and(eq(outboxEmails.agencyId, w.a.id), sql`${outboxEmails.subject} like '%pool%'`));
    expect(row!.fromName).to.equal(null);
    expect(row!.replyTo).to.equal(null);
  });

  it('a payment page of an agency\'s sale shows the agency, not the platform', async () => {
    const p = paymentRow({ sellerAgencyId: w.a.id, buyerAgencyId: w.a.id, buyerSubAccountId: w.a.subs[0].id, purpose: 'package_purchase', status: 'confirmed', confirmedAt: new Date() });
    await deps.db.insert(payments).values(p);
    const res = await request(app).get(`/payments/callback/${p.id}`);
    expect(res.text).to.contain('<strong>Atlas Studio</strong>').and.contain('· Atlas Studio</title>').and.not.contain('Kontor');
  });
});

describe('portal domain: the tenant from the Host header, only when the deployment trusts it', () => {
  const setup = async (trust: boolean) => {
    const deps = await makeTestDeps({ config: { TRUST_HOST_HEADER: trust ? 'true' : 'false' } });
    const w = await createWorld(deps);
    await deps.db.update(agencies).set({ portalDomain: `portal-${w.a.id.slice(-6)}.example`, brandDisplayName: 'Host Brand' }).where(eq(agencies.id, w.a.id));
    return { deps, w, host: `portal-${w.a.id.slice(-6)}.example`, app: createApp(deps) };
  };

  it('trusted: the sign-in page on an agency\'s portal domain is the agency\'s; other hosts are the platform\'s', async () => {
    await resetData();
    const { deps, app, host } = await setup(true);
    try {
      const branded = await request(app).get('/login').set('Host', host).expect(200);
      expect(branded.text).to.contain('<strong>Host Brand</strong>').and.not.contain('Kontor');
      const upper = await request(app).get('/login').set('Host', `${host.toUpperCase()}:8443`).expect(200);
      expect(upper.text).to.contain('<strong>Host Brand</strong>');
      const plain = await request(app).get('/login').set('Host', 'kontor.test').expect(200);
      expect(plain.text).to.contain('<strong>Kontor</strong>').and.not.contain('Host Brand');
    } finally {
      await deps.close();
    }
  });

  it('not trusted (the default): the Host header changes nothing', async () => {
    const { deps, app, host } = await setup(false);
    try {
      const res = await request(app).get('/login').set('Host', host).expect(200);
      expect(res.text).to.contain('<strong>Kontor</strong>').and.not.contain('Host Brand');
    } finally {
      await deps.close();
    }
  });
});

describe('test clock banner: platform staff only, as a date in the platform\'s zone', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-03-10T09:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());

  it('platform staff see "10 Mar 2026, 12:00" (Europe/Istanbul), never the ISO string', async () => {
    const { agent } = await signIn(app, w.platformAdmin.email);
    const html = (await agent.get('/platform/agencies').expect(200)).text;
    const banner = /<p class="test-clock"[^>]*>([\s\S]*?)<\/p>/.exec(html)![1]!.replace(/<[^>]+>/g, '');
    expect(banner).to.equal('Test clock: 10 Mar 2026, 12:00 GMT+3 (Europe/Istanbul)');
    expect(banner).to.not.contain('2026-03-10T');
  });

  it('agency staff and clients never see it', async () => {
    for (const [email, path] of [[w.a.owner.email, '/agency/sub-accounts'], [w.a.subs[0].owner.email, '/portal'], [w.a.subs[0].owner.email, '/portal/credits']] as const) {
      const { agent } = await signIn(app, email);
      const html = (await agent.get(path).expect(200)).text;
      expect(html, path).to.not.contain('Test clock').and.not.contain('test-clock');
    }
    const login = await request(app).get('/login').expect(200);
    expect(login.text).to.not.contain('Test clock');
    expect(csrfFrom(login.text)).to.be.a('string');
  });
});
