import { expect } from 'chai';
import request from 'supertest';
import { NESTPAY_SANDBOX_3D_PASSWORD, nestpaySandboxCards } from '../../sandboxes/nestpay';
import { DEMO_KEYS, DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from '../../src/demo/seed';
import { createApp } from '../../src/web/app';
import { moveTo, tick } from '../support/billing';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { decode, formIn } from '../support/html-form';
import { bearer, signIn } from '../support/http';

/** Every prefix newId() hands out for something a person could name instead. */
const ID = /\b(sub|agy|pur|pay|inv|pkg|bpk|ofv|top|pln|slt|dep|usr|key|chg|bsb|ord|eml|mem|gwa|lot|adr|pm|sbs|ntf|wtp|wle)_[0-9a-z]{6,}/g;

/**
 * What a person reads on a page: its text and the attributes a browser shows (a visible input's
 * value, titles, alt text, placeholders, labels for assistive technology). Not the hrefs, form
 * actions, hidden inputs or option values, and not the <code data-dev> blocks shown on purpose to
 * developers (an id to paste into an API call). A plain <code> is still read: wrapping an id in it
 * does not make it a name.
 */
export function visibleText(html: string): string {
  const shown = (tag: string) =>
    [...tag.matchAll(/\s(value|title|alt|placeholder|aria-label)="([^"]*)"/g)]
      .filter(([, name]) => name !== 'value' || (/^<input/i.test(tag) && !/type="(hidden|checkbox|radio)"/i.test(tag)))
      .map(([, , v]) => ` ${v} `)
      .join('') || ' ';
  return decode(
    html
      .replace(/<(script|style|template)\b[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<code\b[^>]*\bdata-dev\b[^>]*>[\s\S]*?<\/code>/gi, ' ')
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<option\b[^>]*>/gi, ' ')
      .replace(/<[^>]+>/g, shown),
  );
}

describe('no page shows an internal id where a name exists (demo world crawl)', function () {
  this.timeout(240_000);
  let deps: TestDeps;
  let app: ReturnType<typeof createApp>;
  const api = () => request(app);
  const hits: string[] = [];
  const check = (where: string, html: string) => {
    for (const m of visibleText(html).matchAll(ID)) {
      const text = visibleText(html);
      hits.push(`${where}: ${m[0]} in "…${text.slice(Math.max(0, m.index - 60), m.index + 40).replace(/\s+/g, ' ')}…"`);
    }
  };
  const path = (url: string) => {
    const u = new URL(url, 'http://kontor.test');
    return u.pathname + u.search;
  };

  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    app = createApp(deps);
    expect(await seedDemo(deps)).to.equal(true);

    // Histories that are not empty: an adjustment, a subscription, a purchase paid at the bank,
    // and an invoice cut for the month.
    const subs = (await api().get('/api/v1/sub-accounts').set(bearer(DEMO_KEYS.atlas)).expect(200)).body.data as { id: string; name: string }[];
    const lumen = subs.find((s) => s.name === 'Cafe Lumen')!;
    await api().post(`/api/v1/sub-accounts/${lumen.id}/adjustments`).set(bearer(DEMO_KEYS.atlas)).send({ credits: 250, reason: 'goodwill', note: 'Opening gift' }).expect(201);
    const offered = (await api().get('/api/v1/packages').set(bearer(DEMO_KEYS.atlasClient)).expect(200)).body.data as { id: string; name: string }[];
    await api().post('/api/v1/subscriptions').set(bearer(DEMO_KEYS.atlasClient)).send({ packageId: offered.find((p) => p.name === 'Chatbot 20k')!.id }).expect(201);
    const plans = (await api().get('/api/v1/packages?seller=platform').set(bearer(DEMO_KEYS.atlas)).expect(200)).body.data as { id: string; name: string }[];
    await api().post('/api/v1/subscriptions').set(bearer(DEMO_KEYS.atlas)).send({ packageId: plans.find((p) => p.name === 'Support desk 3')!.id }).expect(201);
    const pack = (await api().post('/api/v1/packages').set(bearer(DEMO_KEYS.atlas)).send({ name: 'Starter credits', type: 'credit', credits: 1000, priceMinor: 14_950, currency: 'TRY', published: true }).expect(201)).body as { id: string };

    const client = await signIn(app, 'owner@lumen.test', DEMO_PASSWORD);
    const buy = await client.agent.post(`/portal/packages/${pack.id}/buy`).type('form').send({ _csrf: client.csrf }).expect(302);
    const go = await client.agent.get(path(buy.headers.location as string)).expect(200);
    check('payment start', go.text);
    const start = formIn(go.text, 'gateway-form');
    const gate = await request(app).post(path(start.action)).type('form').send(start.fields).expect(200);
    check('NestPay card page', gate.text);
    expect(visibleText(gate.text), 'the bank names the merchant').to.contain('Atlas Digital');
    const card = formIn(gate.text, 'card-form');
    const pwd = await request(app).post(path(card.action)).type('form').send({ pan: nestpaySandboxCards[0]!.pan, expMonth: '12', expYear: '30', cvv: '000' }).expect(200);
    check('NestPay 3D page', pwd.text);
    expect(visibleText(pwd.text)).to.contain('Atlas Digital');
    const pw = formIn(pwd.text, 'password-form');
    const back = formIn((await request(app).post(path(pw.action)).type('form').send({ password: NESTPAY_SANDBOX_3D_PASSWORD }).expect(200)).text, 'post-back-form');
    const result = await client.agent.post(path(back.action)).type('form').send(back.fields);
    expect(result.status, result.text).to.equal(200);
    check('payment result', result.text);
    expect(visibleText(result.text)).to.contain('Starter credits');

    await moveTo(deps, '2026-04-01', 6);
    await tick(deps);
  });
  after(() => deps.close());

  for (const login of DEMO_LOGINS) {
    it(`${login.email}: every page reachable from the navigation names things`, async () => {
      const { agent } = await signIn(app, login.email, DEMO_PASSWORD);
      const home = await agent.get('/').redirects(3).expect(200);
      const queue: string[] = [];
      const seen = new Set<string>();
      const perPath = new Map<string, number>();
      const enqueue = (html: string, from: string) => {
        for (const m of html.matchAll(/<a\b[^>]*\shref="([^"#]*)(?:#[^"]*)?"/gi)) {
          const raw = decode(m[1]!);
          if (!raw || /^(mailto|tel|javascript):/i.test(raw)) continue;
          const u = new URL(raw, `http://kontor.test${from}`);
          if (u.host !== 'kontor.test' || /\.(csv|pdf|svg|css|js)$/.test(u.pathname) || u.pathname.startsWith('/assets')) continue;
          const p = u.pathname + u.search;
          // Filters and pages of one list: a few of each are enough.
          const n = perPath.get(u.pathname) ?? 0;
          if (seen.has(p) || n >= 3) continue;
          seen.add(p);
          perPath.set(u.pathname, n + 1);
          queue.push(p);
        }
      };
      check(`${login.email} /`, home.text);
      enqueue(home.text, '/');
      let visited = 0;
      while (queue.length > 0 && visited < 150) {
        const p = queue.shift()!;
        visited++;
        const res = await agent.get(p);
        if (res.status >= 300 && res.status < 400) {
          const to = path(res.headers.location as string);
          if (!seen.has(to) && to.startsWith('/')) {
            seen.add(to);
            queue.push(to);
          }
          continue;
        }
        expect(res.status, `${login.email} GET ${p}`).to.be.below(500);
        if (!String(res.headers['content-type']).includes('html')) continue;
        check(`${login.email} ${p}`, res.text);
        enqueue(res.text, p);
      }
      expect(visited, 'pages crawled').to.be.greaterThan(login.email.startsWith('staff') ? 3 : 5);
    });
  }

  it('found no id on any page', () => {
    expect(hits, hits.join('\n')).to.deep.equal([]);
  });
});
