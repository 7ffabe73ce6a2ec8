// The web app manifest (issue #17): the portal installs on a phone under the agency's brand.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { agencies } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('web app manifest', () => {
  let deps: TestDeps;
  let w: World;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    await deps.db.update(agencies).set({ brandDisplayName: 'Acme Mesaj', brandLogoUrl: 'https://cdn.example.com/acme.png', brandColor: '#aa3300', locale: 'tr' }).where(eq(agencies.id, w.a.id));
  });
  after(() => deps.close());

  it("a signed-in client gets its agency's name, logo and colour, in its language; pages link it", async () => {
    const app = createApp(deps);
    const { agent } = await signIn(app, w.a.subs[0].owner.email);
    const page = await agent.get('/portal').redirects(3).expect(200);
    expect(page.text).to.contain('<link rel="manifest" href="/manifest.webmanifest" crossorigin="use-credentials">');
    const res = await agent.get('/manifest.webmanifest').expect(200).expect('content-type', /application\/manifest\+json/);
    const m = JSON.parse(res.text) as Record<string, unknown>;
    expect(m).to.include({ name: 'Acme Mesaj', lang: 'tr', display: 'standalone', start_url: '/', theme_color: '#aa3300' });
    expect(m.icons).to.deep.equal([{ src: 'https://cdn.example.com/acme.png', sizes: 'any', purpose: 'any' }]);
    expect(res.text).to.not.contain('Kontor');
  });

  it('without a session it is the platform brand', async () => {
    const res = await request(createApp(deps)).get('/manifest.webmanifest').expect(200);
    expect(JSON.parse(res.text)).to.include({ name: 'Kontor' });
  });
});
