// The typed client (client/index.ts, types generated from the OpenAPI document) drives a real flow
// through a started server on an ephemeral port: the compiler checks every path, body and answer
// against the document, and every answer is also checked against it at run time (ajv). The
// committed types must be what the current document generates: the document cannot drift.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { createKontorClient, type KontorClient } from '../../client';
import { generateClientTypes, SCHEMA_FILE } from '../../client/generate';
import { assertLedgerInvariant } from '../support/invariants';
import { answerMismatch } from '../support/openapi-check';
import { listen } from '../support/server';
import { worldAppPerTest } from '../support/world-app';

describe('Typed API client (openapi-fetch over the generated types)', function () {
  this.timeout(120_000);
  const t = worldAppPerTest();
  let server: Awaited<ReturnType<typeof listen>>;
  const problems: string[] = [];
  const client = (apiKey: string): KontorClient => {
    const c = createKontorClient({ baseUrl: `${server.base}/api/v1`, apiKey });
    c.use({
      async onResponse({ request, response }) {
        const type = response.headers.get('content-type') ?? undefined;
        const body = type?.startsWith('application/json') ? await response.clone().json() : await response.clone().text();
        const problem = answerMismatch(request.method, request.url, response.status, type, body);
        if (problem) problems.push(problem);
      },
    });
    return c;
  };

  beforeEach(async () => {
    server = await listen(t.app);
    problems.length = 0;
  });
  afterEach(async () => {
    await server.close();
    expect(problems, 'every answer matches the OpenAPI document').to.deep.equal([]);
  });

  it('the committed client types are what the current OpenAPI document generates (npm run api:client)', async () => {
    expect(await generateClientTypes(), 'client/schema.d.ts is stale: run `npm run api:client` and commit it').to.equal(readFileSync(SCHEMA_FILE, 'utf8'));
  });

  it('platform, agency and sub-account keys: credits, a package, a purchase retried with its key, usage, balance and history', async () => {
    const { w } = t;
    const platform = client(w.platformKey);
    const agency = client(w.a.key);
    const sub = client(w.a.subs[0].key);

    const me = await agency.GET('/me');
    expect(me.data).to.include({ scope: 'agency', agencyId: w.a.id });

    const seeded = await platform.POST('/agencies/{id}/adjustments', { params: { path: { id: w.a.id }, header: { 'Idempotency-Key': 'seed-1' } }, body: { credits: 10_000, reason: 'seed' } });
    expect(seeded.response.status).to.equal(201);

    const dept = await agency.POST('/departments', { body: { name: 'Sales', creditsPerRequest: 2 } });
    expect(dept.data?.name).to.equal('Sales');
    const pkg = await agency.POST('/packages', { body: { name: 'Credits 1000', type: 'credit', priceMinor: 19_990, currency: 'TRY', credits: 1000, published: true, departmentIds: [dept.data!.id] } });
    expect(pkg.response.status).to.equal(201);
    const listed = await sub.GET('/packages');
    expect(listed.data?.data.map((p) => p.id)).to.deep.equal([pkg.data!.id]);

    // A purchase retried with the same key is the first one, replayed.
    const buy = () => agency.POST('/sub-accounts/{id}/purchases', { params: { path: { id: w.a.subs[0].id }, header: { 'Idempotency-Key': 'buy-1' } }, body: { packageId: pkg.data!.id, payment: 'offline' } });
    const first = await buy();
    const again = await buy();
    expect(first.response.status).to.equal(201);
    expect(again.response.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.data).to.deep.equal(first.data);
    expect((await agency.GET('/sub-accounts/{id}/purchases', { params: { path: { id: w.a.subs[0].id } } })).data?.data).to.have.length(1);

    const used = await sub.POST('/usage', { body: { conversationId: 'conv-1', departmentId: dept.data!.id } });
    expect(used.response.status).to.equal(200);
    const balance = await sub.GET('/balance');
    expect(balance.data?.balance).to.equal(998);
    const history = await sub.GET('/credit-history');
    expect(history.data?.data.length).to.be.greaterThan(0);

    // Refusals come back typed as the documented error.
    const refused = await sub.POST('/departments', { body: { name: 'Nope', creditsPerRequest: 1 } });
    expect(refused.response.status).to.equal(403);
    expect(refused.error?.error).to.equal('wrong_scope');
    expect(refused.error?.requestId).to.be.a('string');
    await assertLedgerInvariant(t.deps.db);
  });
});
