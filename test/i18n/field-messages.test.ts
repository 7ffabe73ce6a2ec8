// Field messages of validation errors are catalog text in both languages (DESIGN section 11):
// zod's own English wording never reaches people; the API answers the same code and fields in
// either language, with the message of each field from that language's catalog.
import { expect } from 'chai';
import request from 'supertest';
import { z } from 'zod';
import { inCatalogs, localize, tFor } from '../../src/i18n/i18n';
import { fieldErrors } from '../../src/lib/validation';
import { apiRoutes } from '../../src/web/api/openapi/routes';
import { usageErrors } from '../../src/usage/usage-recorder';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer } from '../support/http';
import { createWorld, type World } from '../support/world';

/** Inputs that break a schema in many ways: nothing, and every known field given a wrong value. */
function badInputs(schema: z.ZodType): unknown[] {
  const shape = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  const wrong: unknown[] = [-1, 0, 1.5, 1e15, '', ' ', 'zz', 'x'.repeat(5000), 'not-a-date', {}, [], [1], true, null];
  return [undefined, null, 'text', [], {}, ...wrong.map((v) => Object.fromEntries(shape.map((k) => [k, v])))];
}

describe('i18n: field messages of validation errors', () => {
  it('every field message an API request body or query can get is in both catalogs', () => {
    const problems = new Set<string>();
    for (const route of apiRoutes) {
      for (const schema of [route.body, route.query].filter((s): s is z.ZodType => !!s)) {
        for (const input of badInputs(schema)) {
          let result;
          try {
            result = schema.safeParse(input);
          } catch {
            continue; // a transform that assumes earlier checks passed
          }
          if (result.success) continue;
          for (const [field, message] of Object.entries(fieldErrors(result.error.issues))) {
            if (!inCatalogs(message)) problems.add(`${route.method.toUpperCase()} ${route.path} ${field}: "${message}"`);
          }
        }
      }
    }
    expect([...problems]).to.deep.equal([]);
  });

  it("zod's own messages are catalog keys that name the field", () => {
    const result = z.object({ currency: z.enum(['TRY', 'USD']), name: z.string().min(3), n: z.number().int() }).safeParse({ currency: 'GBP', name: 'x' });
    const fields = fieldErrors(result.error!.issues);
    expect(localize(tFor('en'), fields.currency!)).to.equal('currency must be one of TRY, USD.');
    expect(localize(tFor('tr'), fields.currency!)).to.equal('currency şunlardan biri olmalıdır: TRY, USD.');
    expect(localize(tFor('en'), fields.name!)).to.equal('name must be at least 3 characters long.');
    expect(localize(tFor('tr'), fields.n!)).to.equal('n zorunludur.');
    for (const m of Object.values(fields)) expect(inCatalogs(m), m).to.equal(true);
    expect(inCatalogs('Some English sentence no catalog has.')).to.equal(false);
  });

  it('every refusal of the usage path is in both catalogs', () => {
    for (const refusal of Object.values(usageErrors)) {
      const { message } = refusal() as { message: string };
      expect(inCatalogs(message), message).to.equal(true);
    }
  });

  describe('through the API', () => {
    let deps: TestDeps;
    let w: World;
    before(async () => {
      await resetData();
      deps = await makeTestDeps();
      w = await createWorld(deps);
    });
    after(() => deps.close());

    it('the same bad request in English and Turkish: same code and fields, each message from its catalog', async () => {
      const app = createApp(deps);
      const send = (lang: string) => request(app).post('/api/v1/whatsapp-balance/top-ups').set(bearer(w.a.subs[0].key)).set('Idempotency-Key', `k-${lang}`).set('Accept-Language', lang).send({ amountMinor: 'ten', currency: 'GBP' }).expect(422);
      const [en, tr] = [await send('en'), await send('tr')];
      expect(en.body.error).to.equal('validation_failed');
      expect(tr.body.error).to.equal(en.body.error);
      expect(Object.keys(tr.body.fields).sort()).to.deep.equal(Object.keys(en.body.fields).sort()).and.include.members(['amountMinor', 'currency']);
      expect(en.body.fields.currency).to.equal('currency must be one of TRY, USD, EUR.');
      expect(tr.body.fields.currency).to.equal('currency şunlardan biri olmalıdır: TRY, USD, EUR.');
      for (const field of Object.keys(en.body.fields)) expect(tr.body.fields[field], field).to.not.equal(en.body.fields[field]);
      expect(tr.body.message).to.not.equal(en.body.message);
    });

    it("the usage path's refusals and a batch's field messages are in the caller's language", async () => {
      const app = createApp(deps);
      const one = (lang: string) => request(app).post('/api/v1/usage').set(bearer(w.a.subs[0].key)).set('Accept-Language', lang).send({ conversationId: `c-${lang}`, departmentId: 'dep_nope' });
      const [en, tr] = [await one('en'), await one('tr')];
      expect(en.status).to.equal(tr.status);
      expect(tr.body.error).to.equal(en.body.error).and.equal('department_not_found');
      expect(en.body.message).to.equal('Unknown department.');
      expect(tr.body.message).to.equal('Bilinmeyen departman.');
      const batch = await request(app).post('/api/v1/usage/batch').set(bearer(w.a.subs[0].key)).set('Accept-Language', 'tr-TR,tr;q=0.9').send({ events: [{ departmentId: 'dep_nope' }] }).expect(200);
      expect(batch.body.results[0]).to.deep.include({ error: 'validation_failed', message: 'Bu olay geçerli değil.' });
      expect(batch.body.results[0].fields.conversationId).to.equal('conversationId metin olmalıdır.');
    });
  });
});
