/**
 * A seller's collection schedules (issue 18): read and saved through the API and the settings
 * form; bad input (not whole numbers, out of range, repeated, too many) is a clear error and
 * nothing is written.
 */
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Express } from 'express';
import request from 'supertest';
import { auditLog, collectionSettings } from '../../db/schema';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('collections: the seller\'s reminder and card-retry schedules', function () {
  this.timeout(90_000);
  let deps: TestDeps;
  let w: World;
  let app: Express;
  const put = (key: string, body: unknown) => request(app).put('/api/v1/collection-settings').set(bearer(key)).send(body as object);

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    app = createApp(deps);
  });
  afterEach(async () => deps.close());

  it('answers the defaults until a seller saves its own; the platform and each agency have their own', async () => {
    const defaults = { reminderDays: [-3, 0, 3, 7], retryDays: [1, 3, 5], custom: false, cardRetriesPossible: false };
    expect((await request(app).get('/api/v1/collection-settings').set(bearer(w.a.key)).expect(200)).body).to.deep.equal(defaults);
    const saved = (await put(w.a.key, { reminderDays: [7, -5, 0, +14], retryDays: [2, 1] }).expect(200)).body;
    expect(saved).to.deep.include({ reminderDays: [-5, 0, 7, 14], retryDays: [1, 2], custom: true });
    expect((await request(app).get('/api/v1/collection-settings').set(bearer(w.b.key)).expect(200)).body).to.deep.equal(defaults);
    expect((await request(app).get('/api/v1/collection-settings').set(bearer(w.platformKey)).expect(200)).body).to.deep.equal(defaults);
    await put(w.platformKey, { reminderDays: [-1], retryDays: [] }).expect(200);
    expect((await request(app).get('/api/v1/collection-settings').set(bearer(w.a.key)).expect(200)).body.reminderDays).to.deep.equal([-5, 0, 7, 14]);
    const [audit] = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'collections.settings_changed')).limit(1);
    expect(audit!.data).to.deep.include({ before: { reminderDays: [-3, 0, 3, 7], retryDays: [1, 3, 5] } });
    // A client sells nothing: it has no schedule.
    expect((await request(app).get('/api/v1/collection-settings').set(bearer(w.a.subs[0].key)).expect(403)).body.error).to.equal('wrong_scope');
  });

  it('refuses bad input with a message per field and writes nothing', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ reminderDays: [1.5], retryDays: [1] }, 'reminderDays', /whole numbers/],
      [{ reminderDays: ['3'], retryDays: [1] }, 'reminderDays', /whole numbers/],
      [{ reminderDays: [-61], retryDays: [1] }, 'reminderDays', /between -60 and 60/],
      [{ reminderDays: [61], retryDays: [1] }, 'reminderDays', /between -60 and 60/],
      [{ reminderDays: [3, 0, 3], retryDays: [1] }, 'reminderDays', /Reminder day 3 is listed twice/],
      [{ reminderDays: [1, 2, 3, 4, 5, 6, 7, 8, 9], retryDays: [1] }, 'reminderDays', /At most 8 reminder days/],
      [{ reminderDays: [0], retryDays: [0] }, 'retryDays', /between 1 and 60/],
      [{ reminderDays: [0], retryDays: [61] }, 'retryDays', /between 1 and 60/],
      [{ reminderDays: [0], retryDays: [2, 2] }, 'retryDays', /Card retry day 2 is listed twice/],
      [{ reminderDays: [0], retryDays: [1, 2, 3, 4, 5, 6, 7] }, 'retryDays', /At most 6 card retry days/],
      [{ reminderDays: '0,3', retryDays: [1] }, 'reminderDays', /list of whole numbers/],
      [{ reminderDays: [0] }, 'retryDays', /list of whole numbers/],
      [{ reminderDays: [0], retryDays: [1], extra: true }, '_', /./],
    ];
    for (const [body, field, message] of cases) {
      const res = await put(w.a.key, body).expect(422);
      expect(res.body.error, JSON.stringify(body)).to.equal('validation_failed');
      expect(res.body.fields[field] ?? res.body.message, JSON.stringify(body)).to.match(message);
    }
    const tr = await put(w.a.key, { reminderDays: [99], retryDays: [1] }).set('Accept-Language', 'tr').expect(422);
    expect(tr.body.fields.reminderDays).to.equal('Hatırlatma günleri -60 ile 60 arasında olmalıdır.');
    expect(await deps.db.select().from(collectionSettings)).to.deep.equal([]);
    // Only an admin with the billing permission saves; a member cannot.
    const member = await signIn(app, w.a.member.email);
    await member.agent.get('/agency/settings/collections').expect(403);
  });

  it('the settings form: linked from the agency settings, saves "-3, 0, 3, 7" text, keeps what was typed with the message on bad input', async () => {
    const owner = await signIn(app, w.a.owner.email);
    expect((await owner.agent.get('/agency/settings').expect(200)).text).to.contain('href="/agency/settings/collections"');
    const form = (await owner.agent.get('/agency/settings/collections').expect(200)).text;
    expect(form).to.contain('value="-3, 0, 3, 7"').and.contain('value="1, 3, 5"').and.contain('data-testid="collections-defaults"');
    const bad = await owner.agent.post('/agency/settings/collections').type('form').send({ _csrf: owner.csrf, reminderDays: '-3, soon, 7', retryDays: '1, 3' }).expect(422);
    expect(bad.text).to.contain('Reminder days must be whole numbers').and.contain('value="-3, soon, 7"');
    expect(await deps.db.select().from(collectionSettings)).to.deep.equal([]);
    const ok = await owner.agent.post('/agency/settings/collections').type('form').send({ _csrf: owner.csrf, reminderDays: '-5; 0 +10', retryDays: '' }).expect(302);
    expect(ok.headers.location).to.equal('/agency/settings/collections');
    const after = (await owner.agent.get('/agency/settings/collections').expect(200)).text;
    expect(after).to.contain('value="-5, 0, 10"').and.contain('value=""').and.contain('Schedules saved.');
    // The platform's own form, from its settings menu.
    const admin = await signIn(app, w.platformAdmin.email);
    const platformPage = (await admin.agent.get('/platform/settings/collections').expect(200)).text;
    expect(platformPage).to.contain('href="/platform/settings/collections"').and.contain('value="-3, 0, 3, 7"');
  });
});
