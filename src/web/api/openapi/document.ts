// The OpenAPI 3.1 document of the JSON API (issue #19, DESIGN section 12), built from the route
// list (./routes.ts) with zod's own JSON Schema output: request schemas as the use cases read
// them (io: input), answers as the serializers write them (io: output). Served at
// GET /api/v1/openapi.json; the typed client (client/, types in client/schema.d.ts) is generated from it.
import { z } from 'zod';
import { tFor, type Lang } from '../../../i18n/i18n';
import { ErrorAnswer, RateLimited } from '../schemas';
import { apiRoutes, apiTags, type KeyScope, type RouteDoc } from './routes';
import { webhookSection } from './webhooks';

type Json = Record<string, unknown>;

/** Statuses any route may answer with the common error shape. */
export const COMMON_ERRORS = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500] as const;

const ERROR_TEXT: Record<number, string> = {
  400: 'Bad request (invalid_json, invalid_idempotency_key, bad_request)',
  401: 'No API key, or not a valid one (unauthenticated, invalid_api_key)',
  402: 'Payment refused or not enough funds (e.g. insufficient_funds, refund_failed, card_declined)',
  403: 'The key may not do this (wrong_scope, forbidden, billing_permission_required, module_required)',
  404: 'Not found, or not the caller\'s (not_found)',
  409: 'Conflict (idempotency_key_reused, idempotency_key_in_use, and state conflicts named by their code)',
  413: 'The body is over 100 KB (payload_too_large)',
  415: 'Unsupported body encoding (unsupported_encoding)',
  422: 'Validation failed (validation_failed, with one message per field in `fields`)',
  429: 'Too many requests: wait for Retry-After seconds (rate_limited)',
  500: 'Something failed on the server: quote the requestId (internal_error)',
};

/** A preprocessed field (blank-to-null, checkbox) may be left out: its input is optional. */
function optionalInput(schema: z.ZodType): boolean {
  const def = (schema as unknown as { _zod: { def: { type: string; in?: z.ZodType; innerType?: z.ZodType } } })._zod.def;
  if (def.type === 'pipe' && def.in) return (def.in as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'transform';
  if ((def.type === 'default' || def.type === 'optional') && def.innerType) return true;
  return false;
}

function convert(schema: z.ZodType, io: 'input' | 'output', defs: Json): Json {
  const out = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) => {
      const js = ctx.jsonSchema as Json;
      // An ISO date or time: the format says it; zod's long pattern only repeats it.
      if (js.format === 'date-time' || js.format === 'date') delete js.pattern;
      const def = (ctx.zodSchema as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType> } } })._zod.def;
      if (io === 'input' && def.type === 'object' && def.shape && Array.isArray(js.required)) {
        js.required = (js.required as string[]).filter((k) => !optionalInput(def.shape![k]!));
        if (!(js.required as string[]).length) delete js.required;
      }
    },
  }) as Json;
  delete out.$schema;
  const own = out.$defs as Json | undefined;
  delete out.$defs;
  const text = (v: unknown) => JSON.stringify(v).replaceAll('"#/$defs/', '"#/components/schemas/');
  if (own) for (const [k, v] of Object.entries(own)) defs[k] = JSON.parse(text(v));
  return JSON.parse(text(out)) as Json;
}

/** getSubAccountsByIdBalance for GET /sub-accounts/{id}/balance: stable, the key of its summary in the catalogs. */
export const operationIdOf = (route: Pick<RouteDoc, 'method' | 'path'>): string =>
  `${route.method}${route.path.replace(/\{(\w+)\}/g, 'By-$1').split(/[/-]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`;

const SCOPE_TEXT: Record<KeyScope, string> = { platform: 'platform', agency: 'agency', 'sub-account': 'sub-account' };

function operation(route: RouteDoc, defs: Json, t: ReturnType<typeof tFor>): Json {
  const params: Json[] = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' }, description: 'Opaque id' }));
  if (route.query) {
    const q = convert(route.query, 'input', defs);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Json) ?? {})) {
      const s = schema as Json;
      params.push({ name, in: 'query', required: required.has(name), schema: s, ...(s.description ? { description: s.description } : {}) });
    }
  }
  if (route.method === 'post' && route.idempotent !== false) {
    params.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 }, description: t('apidocs:idempotencyKey') });
  }
  const responses: Json = {};
  for (const [status, schema] of Object.entries(route.answers)) {
    const n = Number(status);
    if (schema === null) responses[status] = { description: 'Done (no body)' };
    else if (schema === 'pdf') responses[status] = { description: 'The PDF', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } };
    else responses[status] = { description: n < 300 ? 'OK' : ERROR_TEXT[n] ?? 'Refused', content: { 'application/json': { schema: convert(schema, 'output', defs) } } };
  }
  for (const n of [...COMMON_ERRORS, ...(route.errors ?? [])]) {
    if (!responses[n]) responses[n] = { $ref: `#/components/responses/Error${n}` };
  }
  const scopes = route.scopes ?? (['platform', 'agency', 'sub-account'] as KeyScope[]);
  const who = t('apidocs:whoMayCall', { scopes: scopes.map((s) => SCOPE_TEXT[s]).join(', ') });
  return {
    operationId: operationIdOf(route),
    // In the reader's language: apidocs:summary.<operationId> (the English one is route.summary; a test holds them equal).
    summary: t(`apidocs:summary.${operationIdOf(route)}`, { defaultValue: route.summary }),
    description: [route.description && t(route.description), who, route.testOnly ? t('apidocs:testOnly') : undefined].filter(Boolean).join('\n\n'),
    tags: [route.tag],
    security: [{ apiKey: [] }],
    'x-key-scopes': scopes,
    ...(params.length ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(route.body, 'input', defs) } } } } : {}),
    responses,
  };
}

/** `testClock: false` (production) leaves out the routes that exist only outside production. */
export function buildOpenApiDocument(options: { serverUrl?: string; version?: string; testClock?: boolean; lang?: Lang } = {}): Json {
  const t = tFor(options.lang ?? 'en');
  const defs: Json = {};
  const paths: Record<string, Json> = {};
  for (const route of apiRoutes) {
    if (route.testOnly && options.testClock === false) continue;
    (paths[route.path] ??= {})[route.method] = operation(route, defs, t);
  }
  const errorSchema = convert(ErrorAnswer, 'output', defs);
  const errorResponses: Json = {};
  for (const n of [...COMMON_ERRORS, 402]) errorResponses[`Error${n}`] = { description: ERROR_TEXT[n], content: { 'application/json': { schema: errorSchema } } };
  errorResponses.Error429 = {
    description: ERROR_TEXT[429],
    headers: {
      'Retry-After': { description: t('apidocs:header.retryAfter'), schema: { type: 'integer' } },
      'RateLimit-Limit': { description: t('apidocs:header.limit'), schema: { type: 'integer' } },
      'RateLimit-Remaining': { description: t('apidocs:header.remaining'), schema: { type: 'integer' } },
      'RateLimit-Reset': { description: t('apidocs:header.reset'), schema: { type: 'integer' } },
      'RateLimit-Policy': { description: t('apidocs:header.policy'), schema: { type: 'string' } },
      RateLimit: { description: t('apidocs:header.rateLimit'), schema: { type: 'string' } },
    },
    content: { 'application/json': { schema: convert(RateLimited, 'output', defs) } },
  };
  const tags = apiTags.map((name) => ({ name, description: t(`apidocs:tag.${name}`) }));
  const webhooks = webhookSection(convert, defs, t);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kontor API',
      version: options.version ?? '1',
      description: t('apidocs:info'),
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: options.serverUrl ?? '/api/v1' }],
    security: [{ apiKey: [] }],
    tags,
    paths,
    webhooks,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: t('apidocs:securityScheme') } },
      schemas: defs,
      responses: errorResponses,
    },
  };
}
