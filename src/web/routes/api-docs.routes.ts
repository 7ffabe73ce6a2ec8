import { Router } from 'express';
import type { Deps } from '../../deps';
import type { Lang } from '../../i18n/i18n';
import { buildOpenApiDocument } from '../api/openapi/document';
import { page } from '../render';

type Json = Record<string, unknown>;

export interface DocOperation {
  method: string;
  path: string;
  summary: string;
  description: string;
  parameters: { name: string; in: string; required: boolean; description: string }[];
  body: string | null;
  answers: { status: string; description: string }[];
  anchor: string;
}

/**
 * The API reference read by people (GET /api/docs): the OpenAPI document itself, rendered by the
 * server in the reader's language, so it never differs from /api/v1/openapi.json and needs no
 * script or third-party bundle. Public, like the document.
 */
export function apiDocsRoutes(deps: Pick<Deps, 'testClock'>) {
  const r = Router();
  const cache = new Map<Lang, { tags: { name: string; description: string; operations: DocOperation[] }[] }>();
  r.get('/api/docs', async (req, res) => {
    let view = cache.get(req.lang);
    if (!view) cache.set(req.lang, (view = docView(buildOpenApiDocument({ testClock: Boolean(deps.testClock), lang: req.lang }))));
    await page(res, 'api-docs', { title: req.t('apidocs:page.title'), ...view });
  });
  return r;
}

function docView(doc: Json) {
  const refName = (s: unknown) => {
    const ref = (s as { $ref?: string } | undefined)?.$ref;
    return ref ? ref.split('/').pop()! : null;
  };
  const byTag = new Map<string, DocOperation[]>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const responses = op.responses as Record<string, Json>;
      const body = (op.requestBody as Json | undefined)?.content as Record<string, { schema?: unknown }> | undefined;
      const o: DocOperation = {
        method: method.toUpperCase(),
        path: `/api/v1${path}`,
        summary: String(op.summary ?? ''),
        description: String(op.description ?? ''),
        parameters: ((op.parameters as Json[] | undefined) ?? []).map((p) => ({ name: String(p.name), in: String(p.in), required: Boolean(p.required), description: String(p.description ?? '') })),
        body: body ? (refName(body['application/json']?.schema) ?? 'object') : null,
        answers: Object.entries(responses).filter(([, a]) => !('$ref' in a)).map(([status, a]) => ({ status, description: String(a.description ?? '') })),
        anchor: `${method}-${path.replace(/[^a-zA-Z0-9]+/g, '-')}`,
      };
      const tag = ((op.tags as string[] | undefined) ?? ['Other'])[0]!;
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag)!).push(o);
    }
  }
  const tags = (doc.tags as { name: string; description: string }[]).filter((t) => byTag.has(t.name)).map((t) => ({ ...t, operations: byTag.get(t.name)! }));
  return { tags };
}
