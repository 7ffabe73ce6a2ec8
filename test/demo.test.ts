import { expect } from 'chai';
import request from 'supertest';
import { DEMO_KEYS, DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from '../src/demo/seed';
import { createApp } from '../src/web/app';
import { resetData } from './support/db';
import { makeTestDeps, type TestDeps } from './support/deps';
import { bearer, signIn } from './support/http';

describe('demo world', () => {
  let deps: TestDeps;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
  });
  after(() => deps.close());

  it('seeds an empty database once; every printed login and key works', async () => {
    expect(await seedDemo(deps)).to.equal(true);
    expect(await seedDemo(deps)).to.equal(false);
    const app = createApp(deps);
    for (const login of DEMO_LOGINS) await signIn(app, login.email, DEMO_PASSWORD);
    const agency = await request(app).get('/api/v1/sub-accounts').set(bearer(DEMO_KEYS.atlas)).expect(200);
    expect(agency.body.data.map((s: { name: string }) => s.name)).to.have.members(['Cafe Lumen', 'Nova Dental']);
    expect((await request(app).get('/api/v1/me').set(bearer(DEMO_KEYS.platform)).expect(200)).body.scope).to.equal('platform');
    expect((await request(app).get('/api/v1/me').set(bearer(DEMO_KEYS.atlasClient)).expect(200)).body.scope).to.equal('sub-account');
    // Subscription billing to try at once: Atlas's packages for its clients, the platform's for agencies.
    const offered = (await request(app).get('/api/v1/packages').set(bearer(DEMO_KEYS.atlasClient)).expect(200)).body.data.map((p: { name: string }) => p.name);
    expect(offered).to.include.members(['Chatbot 20k', 'Chatbot 50k yearly', 'Extra representative']);
    const plans = (await request(app).get('/api/v1/packages?seller=platform').set(bearer(DEMO_KEYS.atlas)).expect(200)).body.data.map((p: { name: string }) => p.name);
    expect(plans).to.deep.equal(['Support desk 3', 'Support desk 10']);
  });
});
