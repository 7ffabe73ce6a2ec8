// The agency and platform consoles in Turkish (DESIGN section 11): an agency owner whose agency
// speaks Turkish, and platform staff who chose Türkçe, read every page of their scope in Turkish.
// No English text of the consoles' catalogs is left on a page, no key leaks as a key, and the
// money and numbers are written the Turkish way.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { agencies, subAccounts, users } from '../../db/schema';
import { readCatalogs } from '../../src/i18n/i18n';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

/** The namespaces of the consoles, and the words they share in common.console. */
const NAMESPACES = ['agency', 'platform', 'catalog', 'offers', 'dashboard', 'team', 'paymentSystems'];

function flatten(o: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (v && typeof v === 'object') Object.assign(out, flatten(v, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = String(v);
  }
  return out;
}

/**
 * The English texts a Turkish page must not show: every catalog text of the consoles whose Turkish
 * differs, cut at its {{params}} into the fixed pieces a page would show, longer than 3 characters.
 * A piece that Turkish text itself uses (a brand, an address such as sandbox-api.iyzipay.com) is
 * not English left behind, and is skipped.
 */
function englishPieces(): string[] {
  const catalogs = readCatalogs();
  const en: Record<string, string> = {}, tr: Record<string, string> = {};
  for (const ns of NAMESPACES) {
    Object.assign(en, flatten(catalogs.en[ns], `${ns}:`));
    Object.assign(tr, flatten(catalogs.tr[ns], `${ns}:`));
  }
  Object.assign(en, flatten(catalogs.en.common!.console, 'common:console.'));
  Object.assign(tr, flatten(catalogs.tr.common!.console, 'common:console.'));
  const turkish = Object.values(tr).join('\n');
  const pieces = new Set<string>();
  for (const [key, text] of Object.entries(en)) {
    if (tr[key] === undefined || tr[key] === text) continue;
    for (const piece of text.split(/\{\{[^}]*\}\}/)) {
      const p = piece.trim().replace(/^[\s:;,.()/+-]+|[\s:;,(/+-]+$/g, '');
      if (p.length > 3 && !wordIn(p).test(turkish)) pieces.add(p);
    }
  }
  return [...pieces];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The piece as words of their own: "Plan" is not found inside "Planlar". */
const wordIn = (piece: string) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(piece)}(?![\\p{L}\\p{N}])`, 'u');

/** What people read on a page: its text and the attributes read aloud or shown (no code, no scripts). */
function visibleText(html: string): string {
  // The read-only preview of a client's portal shows the portal's own page, whose texts are the
  // portal's catalogs, not the consoles'.
  const body = html.slice(html.indexOf('<body')).replace(/<section class="portal-preview"[\s\S]*<\/main>/, ' ');
  const attrs = [...body.matchAll(/\b(?:placeholder|title|aria-label|alt|data-confirm|data-series-label)="([^"]*)"/g)].map((m) => m[1]);
  const text = body
    .replace(/<script\b[\s\S]*?<\/script>/g, ' ')
    .replace(/<style\b[\s\S]*?<\/style>/g, ' ')
    .replace(/<code\b[\s\S]*?<\/code>/g, ' ')
    .replace(/<[^>]*>/g, '\n');
  return [text, ...attrs].join('\n').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

describe('i18n: the agency and platform consoles in Turkish', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let packageId: string;
  const pieces = englishPieces();
  const api = () => request(app);

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
    // Turkish names, as a Turkish agency has: the page's own words are then the catalogs' only.
    await deps.db.update(agencies).set({ locale: 'tr', name: 'Anadolu Dijital' }).where(eq(agencies.id, w.a.id));
    await deps.db.update(subAccounts).set({ name: 'Ege Kafe' }).where(eq(subAccounts.id, w.a.subs[0].id));
    await deps.db.update(subAccounts).set({ name: 'Boğaziçi Oto' }).where(eq(subAccounts.id, w.a.subs[1].id));
    await deps.db.update(agencies).set({ name: 'Marmara Medya' }).where(eq(agencies.id, w.b.id));
    // People too: "owner-a-..." would read as the English role "owner".
    const people: [{ id: string; email: string }, string, string][] = [
      [w.platformAdmin, 'Mehmet Demir', 'mehmet@kontor.test'], [w.a.owner, 'Ayşe Yılmaz', 'ayse@anadolu.test'], [w.a.member, 'Can Öztürk', 'can@anadolu.test'],
      [w.a.subs[0].owner, 'Zeynep Kaya', 'zeynep@egekafe.test'], [w.a.subs[1].owner, 'Emre Şahin', 'emre@bogazicioto.test'],
    ];
    for (const [u, name, email] of people) {
      await deps.db.update(users).set({ name, email }).where(eq(users.id, u.id));
      u.email = email;
    }
    await deps.db.update(users).set({ locale: 'tr' }).where(eq(users.id, w.platformAdmin.id));

    // Enough on every page that its tables, states and notices show.
    await api().post('/api/v1/topup-packages').set(bearer(w.platformKey)).send({ credits: 2000, priceMinor: 108387, currency: 'TRY' }).expect(201);
    await api().put('/api/v1/chatbot-slot-price').set(bearer(w.platformKey)).send({ priceMinor: 50000, currency: 'TRY' }).expect(200);
    await api().post('/api/v1/plans').set(bearer(w.platformKey)).send({ code: 'altin', name: 'Altın', resellingModule: true, currency: 'TRY', priceMinor: 99000, includedChatbots: 2, monthlyCredits: 5000 }).expect(201);
    await api().post(`/api/v1/agencies/${w.a.id}/adjustments`).set(bearer(w.platformKey)).send({ credits: 500, reason: 'başlangıç' }).expect(201);
    await api().put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 1000 }).expect(200);
    const dept = (await api().post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Satış', creditsPerRequest: 2 }).expect(201)).body.id as string;
    await api().put(`/api/v1/sub-accounts/${w.a.subs[0].id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dept] }).expect(200);
    packageId = (await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'credit_pack', name: 'Kredi 2 bin', priceMinor: 4990, currency: 'TRY', credits: 2000, published: true }).expect(201)).body.id;
    await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'prepaid_subscription', name: 'Aylık abonelik', priceMinor: 29900, currency: 'TRY', credits: 300, termMonths: 6, chatbots: 1, published: false }).expect(201);
    const monthly = (await api().post('/api/v1/offers').set(bearer(w.a.key)).send({ kind: 'package', name: 'Sohbet 20 bin', priceMinor: 150_000, currency: 'TRY', billing: 'monthly', chatbotSessions: 20_000, representatives: 3, published: true }).expect(201)).body.id;
    await api().post('/api/v1/subscriptions').set(bearer(w.a.subs[1].key)).send({ packageId: monthly }).expect(201);
    // Paid offline while the pool cannot cover it: it waits for credits on the home page.
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/purchases`).set(bearer(w.a.key)).send({ packageId, payment: 'offline' }).expect(201);
    await api().post(`/api/v1/sub-accounts/${w.a.subs[0].id}/adjustments`).set(bearer(w.a.key)).send({ credits: 300, reason: 'hoş geldiniz' }).expect(201);
  });
  after(() => deps.close());

  /** Reads a page and holds it to Turkish: 200, lang="tr", no English of the consoles, no raw key. */
  async function expectTurkish(agent: ReturnType<typeof request.agent>, path: string): Promise<string> {
    const res = await agent.get(path);
    expect(res.status, path).to.equal(200);
    expect(res.text, path).to.contain('<html lang="tr"');
    const text = visibleText(res.text);
    const left = pieces.filter((p) => wordIn(p).test(text));
    expect(left, `English left on ${path}`).to.deep.equal([]);
    expect(text.match(/\b(?:agency|platform|catalog|offers|dashboard|team|paymentSystems|common):[a-zA-Z]/g) ?? [], `a key shown as a key on ${path}`).to.deep.equal([]);
    return text;
  }

  it('an agency owner whose agency speaks Turkish reads every page of the agency in Turkish', async () => {
    const { agent } = await signIn(app, w.a.owner.email);
    const sub = w.a.subs[0].id;
    const pages = [
      '/agency', '/agency/sub-accounts', `/agency/sub-accounts/${sub}`, `/agency/sub-accounts/${sub}/portal`, '/agency/purchases', '/agency/departments',
      '/agency/packages', '/agency/packages?view=buyers', `/agency/packages/${packageId}/edit`, '/agency/store', '/agency/settings', '/agency/team',
      '/agency/api-keys', '/agency/payment-systems', '/agency/payments', '/agency/whatsapp',
    ];
    const texts: Record<string, string> = {};
    for (const path of pages) texts[path] = await expectTurkish(agent, path);
    // Turkish numbers and money, and Turkish words where the English ones were.
    expect(texts['/agency']).to.contain('200 kredi').and.contain('1.000 kredilik uyarı sınırınızın altında').and.contain('TRY 1.500,00');
    expect(texts['/agency/sub-accounts']).to.contain('Yeni alt hesap');
    expect(texts[`/agency/sub-accounts/${sub}`]).to.contain('300 kredi').and.contain('Satış (konuşma başına 2)');
    expect(texts['/agency/store']).to.contain('2.000 kredi').and.contain('TRY 1.083,87');
    expect(texts['/agency/purchases']).to.contain('ödendi');
  });

  it('platform staff who chose Türkçe read every page of the platform in Turkish', async () => {
    const { agent } = await signIn(app, w.platformAdmin.email);
    const pages = ['/platform', '/platform/agencies', `/platform/agencies/${w.a.id}`, '/platform/catalog', '/platform/catalog?view=buyers', '/platform/team', '/platform/api-keys', '/platform/payment-systems', '/platform/payments'];
    const texts: Record<string, string> = {};
    for (const path of pages) texts[path] = await expectTurkish(agent, path);
    expect(texts['/platform/catalog']).to.contain('TRY 1.083,87').and.contain('5.000').and.contain('Ajans planları');
    expect(texts['/platform/agencies']).to.contain('Anadolu Dijital').and.contain('evet');
  });

  it('the same pages still read in English for an English reader', async () => {
    const { agent } = await signIn(app, w.b.owner.email);
    const home = await agent.get('/agency/sub-accounts').expect(200);
    expect(home.text).to.contain('<html lang="en"').and.contain('New sub-account').and.contain('Credit pool:');
  });
});
