import type { RequestHandler } from 'express';
import type { Deps } from '../../../deps';
import { pickLanguage, type Lang } from '../../../i18n/i18n';
import { buildOpenApiDocument } from './document';

/** GET /api/v1/openapi.json, its descriptions in the language of Accept-Language: built once per language and process, from the same schemas the API validates with. */
export function openApiDocument(deps: Pick<Deps, 'testClock'>): RequestHandler {
  const bodies = new Map<Lang, string>();
  return (req, res) => {
    const lang = pickLanguage({ acceptLanguage: req.get('accept-language') });
    let body = bodies.get(lang);
    if (!body) bodies.set(lang, (body = JSON.stringify(buildOpenApiDocument({ testClock: Boolean(deps.testClock), lang }))));
    res.type('application/json').set({ 'Cache-Control': 'public, max-age=300', Vary: 'Accept-Language', 'Content-Language': lang }).send(body);
  };
}
