// The OpenAPI document (issue #19): public at /api/v1/openapi.json, every route of the Express
// router in it, clean under Redocly's recommended lint rules. (Every answer the tests receive is
// checked against it by test/support/openapi-check.ts.)
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { expect } from 'chai';
import type { Router } from 'express';
import request from 'supertest';
import { buildOpenApiDocument, operationIdOf } from '../../src/web/api/openapi/document';
import { apiRoutes } from '../../src/web/api/openapi/routes';
import { worldAppPerTest } from '../support/world-app';

interface Layer { route?: { path: string; methods: Record<string, boolean> }; handle: Router & { stack?: Layer[] }; match(path: string): boolean }

/** "/agencies/:id" and its methods, for every route under a router (sub-routers mounted without a path). */
function routesOf(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) return Object.keys(layer.route.methods).filter((m) => m !== '_all').map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path}`);
    if (layer.handle?.stack) return routesOf(layer.handle.stack, prefix);
    return [];
  });
}

describe('OpenAPI document', () => {
  const t = worldAppPerTest();

  it('is served without a key at /api/v1/openapi.json', async () => {
    const res = await request(t.app).get('/api/v1/openapi.json').expect(200).expect('Content-Type', /json/);
    expect(res.body.openapi).to.equal('3.1.0');
    expect(res.body.components.securitySchemes.apiKey).to.include({ type: 'http', scheme: 'bearer' });
  });

  it('has every route of the Express router, and no route the router lacks', () => {
    const app = t.app as unknown as { router: { stack: Layer[] } };
    const top = app.router.stack;
    const api = top.find((l) => l.handle?.stack && l.match('/api/v1/x') && !l.match('/x'));
    expect(api, 'the /api/v1 router').to.not.equal(undefined);
    const served = new Set([
      ...routesOf(api!.handle.stack!),
      ...routesOf(top.filter((l) => l.route?.path.startsWith('/api/v1/') && l.route.path !== '/api/v1/openapi.json')).map((r) => r.replace(' /api/v1', ' ')),
    ]);
    const doc = buildOpenApiDocument();
    const documented = new Set(Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)));
    expect([...served].filter((r) => !documented.has(r)), 'routes missing from the OpenAPI document (src/web/api/openapi/routes.ts)').to.deep.equal([]);
    expect([...documented].filter((r) => !served.has(r)), 'documented routes the router does not have').to.deep.equal([]);
    expect(served.size).to.be.greaterThan(90);
  });

  it('passes the recommended OpenAPI lint rules', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(buildOpenApiDocument()), absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).to.deep.equal([]);
    const warnings = problems.filter((p) => p.severity === 'warn').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(warnings).to.deep.equal([]);
  });

  it('summarises every operation in English and Turkish (locales/<lang>/apidocs.json, summary.<operationId>)', () => {
    const en = buildOpenApiDocument({ lang: 'en' }).paths as Record<string, Record<string, { operationId: string; summary: string }>>;
    const tr = buildOpenApiDocument({ lang: 'tr' }).paths as typeof en;
    const missing: string[] = [];
    for (const route of apiRoutes) {
      const id = operationIdOf(route);
      if (tr[route.path]?.[route.method]?.summary === route.summary) missing.push(`${id} (tr)`);
      if (en[route.path]?.[route.method]?.summary !== route.summary) missing.push(`${id} (en differs from routes.ts)`);
    }
    expect(missing, 'add summary.<operationId> to locales/en and locales/tr apidocs.json').to.deep.equal([]);
    expect(tr['/whatsapp-balance/debits']!.post!.summary).to.equal('WhatsApp bakiyesinden düş');
  });

  it('shows Idempotency-Key on every POST but the usage routes (whose conversations are their own key)', () => {
    const paths = buildOpenApiDocument().paths as Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    const withKey = Object.entries(paths).flatMap(([p, ops]) => Object.entries(ops).filter(([, op]) => op.parameters?.some((x) => x.in === 'header' && x.name === 'Idempotency-Key')).map(([m]) => `${m} ${p}`));
    const posts = Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => m === 'post').map((m) => `${m} ${p}`));
    expect(posts.filter((r) => !withKey.includes(r))).to.deep.equal(['post /usage', 'post /usage/batch']);
    expect(withKey.filter((r) => !r.startsWith('post '))).to.deep.equal([]);
  });
});
