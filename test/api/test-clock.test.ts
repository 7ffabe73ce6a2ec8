import { expect } from 'chai';
import request from 'supertest';
import { TestClock } from '../../src/lib/clock';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';
import { loadTestClock } from '../../src/clock/test-clock.usecases';

describe('test clock API', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  before(async () => {
    await resetData();
    deps = await makeTestDeps({ start: new Date('2026-01-31T10:00:00Z') });
    w = await createWorld(deps);
    app = createApp(deps);
  });
  after(() => deps.close());

  it('sets and advances time with a platform key, persisted for other processes', async () => {
    let res = await request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: '2026-02-27T09:00:00Z' }).expect(200);
    expect(res.body).to.deep.equal({ now: '2026-02-27T09:00:00.000Z', frozen: true });
    res = await request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ advanceDays: 3 }).expect(200);
    expect(res.body.now).to.equal('2026-03-02T09:00:00.000Z');
    expect(deps.clock.now().toISOString()).to.equal('2026-03-02T09:00:00.000Z');
    // Another process loading the shared state sees the same time.
    const other = new TestClock();
    await loadTestClock(deps.db, other);
    expect(other.now().toISOString()).to.equal('2026-03-02T09:00:00.000Z');
    res = await request(app).get('/api/v1/test-clock').set(bearer(w.platformKey)).expect(200);
    expect(res.body.now).to.equal('2026-03-02T09:00:00.000Z');
  });

  it('refuses other scopes, bad input and moving backwards, and leaves time alone', async () => {
    const before = deps.clock.now().toISOString();
    expect((await request(app).post('/api/v1/test-clock').set(bearer(w.a.key)).send({ advanceDays: 1 }).expect(403)).body.error).to.equal('wrong_scope');
    expect((await request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ advanceDays: 1.5 }).expect(422)).body.error).to.equal('validation_failed');
    expect((await request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: 'tomorrow' }).expect(422)).body.error).to.equal('validation_failed');
    expect((await request(app).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ now: '2020-01-01T00:00:00Z' }).expect(400)).body.error).to.equal('clock_backwards');
    expect(deps.clock.now().toISOString()).to.equal(before);
  });

  it('does not exist in production (404)', async () => {
    const prod = createApp({ ...deps, testClock: undefined, config: { ...deps.config, isProduction: true, testClock: false } });
    const res = await request(prod).post('/api/v1/test-clock').set(bearer(w.platformKey)).send({ advanceDays: 1 }).expect(404);
    expect(res.body.error).to.equal('not_found');
  });
});
