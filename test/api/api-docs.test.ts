import { expect } from 'chai';
import request from 'supertest';
import { worldAppPerTest } from '../support/world-app';

/** The API reference page is the OpenAPI document rendered: every operation, in the reader's language. */
describe('API reference page (/api/docs)', () => {
  const ctx = worldAppPerTest();

  it('lists every operation of the OpenAPI document, without a key, and links the document', async () => {
    const doc = (await request(ctx.app).get('/api/v1/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} /api/v1${path}`)).sort();
    const page = await request(ctx.app).get('/api/docs').expect(200).expect('content-type', /html/);
    const shown = [...page.text.matchAll(/data-operation="([^"]+)"/g)].map((m) => m[1]!.replace(/&#39;/g, "'")).sort();
    expect(shown).to.deep.equal(expected);
    expect(expected.length).to.be.greaterThan(90);
    expect(page.text).to.contain('href="/api/v1/openapi.json"').and.contain('<html lang="en"');
  });

  it('reads in Turkish for a Turkish reader', async () => {
    const page = await request(ctx.app).get('/api/docs').set('accept-language', 'tr').expect(200);
    expect(page.text).to.contain('<html lang="tr"').and.contain('API başvurusu').and.contain('Yanıtlar');
  });
});
