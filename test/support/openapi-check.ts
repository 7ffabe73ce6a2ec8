// Every answer a test receives from /api/v1 (through supertest) is checked against the OpenAPI
// document (issue #19): its status must be documented for the route, and its body must match the
// documented schema (ajv, JSON Schema 2020-12 with formats). A mismatch fails the test that made
// the request. Loaded by test/setup.ts for every test file.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Test } from 'supertest';
import { buildOpenApiDocument } from '../../src/web/api/openapi/document';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

let state: { doc: Json; ajv: Ajv2020; templates: { method: string; path: string; re: RegExp }[]; cache: Map<string, ValidateFunction> } | null = null;

function load() {
  if (state) return state;
  const doc = buildOpenApiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi.json', ...doc });
  const templates = Object.entries(doc.paths as Json).flatMap(([path, ops]) =>
    Object.keys(ops as Json).map((method) => ({ method, path, params: (path.match(/\{/g) ?? []).length, re: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`) })),
  );
  // A literal segment wins over a parameter (/invoices/upcoming before /invoices/{id}).
  templates.sort((a, b) => a.params - b.params);
  state = { doc, ajv, templates, cache: new Map() };
  return state;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Why an answer does not match the document, or null when it does. */
export function answerMismatch(method: string, url: string, status: number, contentType: string | undefined, body: unknown): string | null {
  const u = new URL(url, 'http://x');
  if (!u.pathname.startsWith('/api/v1/') || u.pathname === '/api/v1/openapi.json') return null;
  const s = load();
  const path = u.pathname.slice('/api/v1'.length);
  const m = method.toLowerCase();
  const route = s.templates.find((t) => t.method === m && t.re.test(path));
  const where = `${method.toUpperCase()} ${u.pathname} → ${status}`;
  let ref: string;
  if (!route) {
    // No such route: the router answers the common error shape (404, 401 before it, ...).
    if (status < 400) return `${where}: this route is not in the OpenAPI document`;
    ref = 'openapi.json#/components/schemas/Error';
  } else {
    const responses = s.doc.paths[route.path][m].responses as Json;
    let response = responses[String(status)] as Json | undefined;
    if (!response) return `${where}: status ${status} is not documented for ${m.toUpperCase()} ${route.path} (documented: ${Object.keys(responses).join(', ')})`;
    let base = `openapi.json#/${pointer('paths', route.path, m, 'responses', String(status))}`;
    if (response.$ref) {
      const name = String(response.$ref).split('/').pop()!;
      response = s.doc.components.responses[name] as Json;
      base = `openapi.json#/${pointer('components', 'responses', name)}`;
    }
    if (!response.content) return body === undefined || body === '' || (typeof body === 'object' && body !== null && Object.keys(body).length === 0) ? null : `${where}: documented without a body, but it has one`;
    const type = Object.keys(response.content)[0]!;
    if (!contentType?.startsWith(type)) return `${where}: answered ${contentType ?? 'no content type'}, documented ${type}`;
    if (type !== 'application/json') return null;
    ref = `${base}/${pointer('content', type, 'schema')}`;
  }
  let validate = s.cache.get(ref);
  if (!validate) s.cache.set(ref, (validate = s.ajv.compile({ $ref: ref })));
  if (validate(body)) return null;
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  return `${where}: the answer does not match the OpenAPI document:\n  ${errors.join('\n  ')}\n  body: ${JSON.stringify(body).slice(0, 600)}`;
}

type Res = { status: number; headers: Record<string, string>; body: unknown };
type AssertFn = (this: Test, resError: unknown, res: Res | undefined, fn?: (err: unknown, res: unknown) => void) => void;
const proto = Test.prototype as unknown as { assert: AssertFn; method: string; url: string };
const original = proto.assert;
proto.assert = function (this: Test & { method: string; url: string }, resError, res, fn) {
  if (res) {
    const problem = answerMismatch(this.method, this.url, res.status, res.headers['content-type'], res.body);
    if (problem) {
      if (fn) return void fn.call(this, new Error(problem), res);
      throw new Error(problem);
    }
  }
  original.call(this, resError, res, fn);
};
