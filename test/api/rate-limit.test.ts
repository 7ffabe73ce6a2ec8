// Rate limits per API key and route group: 429 with RateLimit-* and Retry-After past the limit,
// keys and groups counted apart, a new minute starts afresh, and (with Redis) two web processes
// share one count.
import { expect } from 'chai';
import request from 'supertest';
import { newId } from '../../src/lib/ids';
import { createApp, createWebContext } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { REDIS_URL, requireOrSkip } from '../support/env';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('API rate limits', () => {
  let deps: TestDeps;
  let w: World;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ config: { API_RATE_LIMITS: 'read=5,write=3,usage=4', QUEUE_PREFIX: `rl-${newId('t').slice(-8)}`, ...(REDIS_URL ? { REDIS_URL } : {}) } });
    w = await createWorld(deps);
  });
  afterEach(() => deps.close());

  it('answers 429 with the limit headers past the limit; other keys, other groups and the next minute are not affected', async () => {
    const app = createApp(deps);
    for (let i = 0; i < 5; i++) {
      const ok = await request(app).get('/api/v1/balance').set(bearer(w.a.key)).expect(200);
      expect(ok.headers['ratelimit-limit']).to.equal('5');
      expect(ok.headers['ratelimit-remaining']).to.equal(String(4 - i));
    }
    const refused = await request(app).get('/api/v1/balance').set(bearer(w.a.key)).expect(429);
    expect(refused.body).to.include({ error: 'rate_limited', limit: 5, requestId: refused.headers['x-request-id'] });
    expect(refused.body.requestId).to.be.a('string').with.length.greaterThan(0);
    expect(refused.headers['ratelimit-policy']).to.equal('"read";q=5;w=60');
    expect(refused.headers.ratelimit).to.match(/^"read";r=0;t=\d+$/);
    expect(refused.body.message).to.contain('5 per minute on read routes');
    const tr = await request(app).get('/api/v1/balance').set(bearer(w.a.key)).set('Accept-Language', 'tr').expect(429);
    expect(tr.body.message).to.contain('dakikada 5 istek');
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    expect(refused.headers['ratelimit-remaining']).to.equal('0');
    // Another key, and the write group of the same key, have their own counts.
    await request(app).get('/api/v1/balance').set(bearer(w.b.key)).expect(200);
    await request(app).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 10 }).expect(200);
    // Usage has its own generous group.
    for (let i = 0; i < 4; i++) {
      // No department: refused by the usage path itself, with the error shape and a request id.
      const r = await request(app).post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: `c${i}` });
      expect(r.status).to.be.within(400, 499).and.not.equal(429);
      expect(r.body.error).to.be.a('string');
      expect(r.body.requestId).to.equal(r.headers['x-request-id']);
    }
    const usageRefused = await request(app).post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c9' }).expect(429);
    expect(usageRefused.body).to.include({ error: 'rate_limited', limit: 4 });
    expect(usageRefused.body.requestId).to.be.a('string').with.length.greaterThan(0);
    expect(usageRefused.headers['ratelimit-policy']).to.equal('"usage";q=4;w=60');
    // A refused request is not counted, and the next minute starts afresh.
    deps.testClock.advance(60_000);
    await request(app).get('/api/v1/balance').set(bearer(w.a.key)).expect(200);
  });

  it('web pages and the sign-in are not limited by API keys', async () => {
    const app = createApp(deps);
    for (let i = 0; i < 8; i++) await request(app).get('/login').expect(200);
  });

  it('two web processes sharing Redis share one count per key', async function () {
    requireOrSkip(this, Boolean(REDIS_URL), 'Redis (REDIS_URL): the count is shared through it');
    const first = createWebContext(deps);
    const second = createWebContext(deps);
    const a = createApp(deps, first);
    const b = createApp(deps, second);
    await request(a).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 1 }).expect(200);
    await request(a).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 2 }).expect(200);
    await first.rateLimiter.flush();
    await request(b).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 3 }).expect(200);
    await second.rateLimiter.flush();
    // Three writes were admitted in all (the limit): the fourth is refused by either process.
    await request(b).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 4 }).expect(429);
    await first.rateLimiter.flush();
    await request(a).put('/api/v1/low-balance-threshold').set(bearer(w.a.key)).send({ threshold: 4 }).expect((r) => expect(r.status, 'the first process learnt the shared count').to.equal(429));
  });
});
