import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyCache } from '../api-keys/key-cache';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole, requireScope } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { localize } from '../i18n/i18n';
import { applyLanguage } from './language';
import type { Role, Scope } from '../../db/schema';
import { page } from './render';
import { scrubUrl } from '../lib/logger';
import { markLogged, requestLogger } from './request-log';
import { requestBrand, useBrand } from './brand';
import { PLATFORM_BRAND } from '../branding/brand';

/** Pages: a signed-in user in the given scope (and role). Anonymous users go to the login page. */
export function requireUser(scope?: Scope, role?: Role) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.user) {
      const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
      return res.redirect(`/login${back}`);
    }
    req.actor = req.user.actor;
    if (scope) requireScope(req.actor, scope);
    if (role) requireRole(req.actor, role);
    next();
  };
}

export function billingOnly(req: Request, _res: Response, next: NextFunction) {
  requireBilling(actorOf(req));
  next();
}

export function actorOf(req: Request): Actor {
  if (!req.actor) throw errors.unauthenticated();
  return req.actor;
}

/** API: `Authorization: Bearer kt_...`. */
export function apiAuth(keyCache: ApiKeyCache) {
  const accept = (req: Request, next: NextFunction, actor: Actor | null) => {
    if (!actor) throw new AppError('invalid_api_key', 401, 'This API key is not valid or has been revoked.');
    req.actor = actor;
    next();
  };
  // Synchronous when the key is cached (the usage hot path); a promise only when it is read.
  return (req: Request, _res: Response, next: NextFunction): void | Promise<void> => {
    const header = req.headers.authorization;
    if (!header) throw new AppError('unauthenticated', 401, 'Send an API key: Authorization: Bearer <key>.');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthenticated', 401, 'The Authorization header must be "Bearer <key>".');
    const found = keyCache.authenticate(match[1]!);
    if (found instanceof Promise) return found.then((actor) => accept(req, next, actor));
    accept(req, next, found);
  };
}

export function requireKeyScope(scope: Scope) {
  return (req: Request, _res: Response, next: NextFunction) => {
    requireScope(actorOf(req), scope);
    next();
  };
}

const wantsJson = (req: Request) =>
  req.originalUrl.startsWith('/api/') || req.originalUrl.startsWith('/webhooks/') || req.accepts(['html', 'json']) === 'json';

/** Maps anything thrown to a stable code and status; never leaks a stack trace. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; code?: string; status?: number; expose?: boolean };
  if (e?.type === 'entity.too.large') return new AppError('payload_too_large', 413, 'The request body is too large (100 KB at most).');
  if (e?.type === 'entity.parse.failed') return new AppError('invalid_json', 400, 'The request body is not valid JSON.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError('unsupported_encoding', 415, 'Unsupported body encoding.');
  if (e?.code === 'EBADCSRFTOKEN') return new AppError('csrf_invalid', 403, 'This form has expired or was not sent from this site. Reload the page and try again.');
  if (e?.status === 404) return errors.notFound('Page');
  // Express and its parsers mark the client's mistakes (a malformed URL, say) with a 4xx status.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new AppError('bad_request', e.status, 'The request could not be read. Check the address and try again.');
  return new AppError('internal_error', 500, 'Something went wrong on our side. It has been logged; please try again.');
}

export function errorHandler(deps: Deps) {
  // Express recognises error handlers by their four parameters.
  return async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appErr = toAppError(err);
    const requestId = String(req.id);
    const log = requestLogger(deps, req);
    if (appErr.status >= 500) {
      // The body helps to reproduce a failure; the logger redacts credentials and card data in it.
      log.error('request failed', { method: req.method, path: scrubUrl(req.originalUrl), body: req.body as unknown, err });
      markLogged(res);
    }
    if (res.headersSent) return;
    // The API and early errors have no language set yet: the same rule as every page (for the API,
    // Accept-Language decides; codes never change).
    if (!req.t) applyLanguage(req, res);
    const t = req.t;
    if (wantsJson(req)) {
      const body: Record<string, unknown> = { error: appErr.code, message: localize(t, appErr.message, appErr.details) };
      if (appErr.details) Object.assign(body, appErr.details);
      const fields = appErr.details?.fields as Record<string, string> | undefined;
      if (fields) body.fields = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, localize(t, v)]));
      body.requestId = requestId;
      res.status(appErr.status).json(body);
      return;
    }
    if (appErr.code === 'unauthenticated') return res.redirect('/login');
    // An error raised before the page locals were set (a CSRF refusal, a malformed URL) still
    // renders the normal page: the layout finds every local it reads.
    const defaults: Record<string, unknown> = { principal: req.user ?? null, csrfToken: '', currentPath: req.path, testClock: null, form: {}, errors: {}, flash: null };
    for (const [k, v] of Object.entries(defaults)) if (!(k in res.locals)) res.locals[k] = v;
    // A client's error page is under its agency's brand too (an early error has none set yet).
    if (!res.locals.brand) useBrand(res, await requestBrand(deps, req).catch(() => PLATFORM_BRAND));
    try {
      await page(res, 'error', { title: t('common:error.title'), error: appErr, requestId }, appErr.status);
    } catch (renderErr) {
      log.error('error page failed', { err: renderErr });
      res.status(appErr.status).type('text').send(`${localize(t, appErr.message, appErr.details)}\n${t('common:error.reference')}: ${requestId}`);
    }
  };
}
