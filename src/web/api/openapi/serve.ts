import type { RequestHandler } from 'express';
import type { Deps } from '../../../deps';
import { buildOpenApiDocument } from './document';

/** GET /api/v1/openapi.json: built once per process, from the same schemas the API validates with. */
export function openApiDocument(deps: Pick<Deps, 'testClock'>): RequestHandler {
  let body: string | null = null;
  return (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument({ testClock: Boolean(deps.testClock) }));
    res.type('application/json').set('Cache-Control', 'public, max-age=300').send(body);
  };
}
