import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import { eq } from 'drizzle-orm';
import { users } from '../../db/schema';
import type { Deps } from '../deps';
import { formatterFor } from '../i18n/format';
import { isLang, LANGUAGES, localize, pickLanguage, tFor } from '../i18n/i18n';

/**
 * Every request's language and formats (DESIGN section 11): req.lang, req.t, req.fmt, and the same
 * as res.locals for the views. A signed-in user reads their own choice, else their agency's
 * language, else their browser's; a visitor reads what they picked in the header switch (kept in
 * the session), else their browser's. API calls with a key have no user: Accept-Language decides.
 * Dates are shown in the seller's time zone (the agency's for its staff and clients).
 */
export function languageLocals() {
  return (req: Request, res: Response, next: NextFunction) => {
    applyLanguage(req, res);
    next();
  };
}

/** Sets the request's language locals; pages rendered before the middleware (gateway callbacks) call it themselves. */
export function applyLanguage(req: Request, res: Response, prefer?: string | null): void {
  const p = req.user;
  const lang = pickLanguage({ user: p?.user.locale ?? (p ? null : (req.session?.lang ?? prefer)), agency: p?.agencyLocale, acceptLanguage: req.get('accept-language') });
  req.lang = lang;
  req.t = tFor(lang);
  req.fmt = formatterFor(lang, p?.timeZone ?? DEFAULT_ZONE);
  res.locals.lang = lang;
  res.locals.t = req.t;
  res.locals.fmt = req.fmt;
  res.locals.languages = LANGUAGES;
  res.locals.localize = (message: string, params?: Record<string, unknown>) => localize(req.t, message, params);
}

/** A visitor's dates before anyone is known: the platform's default zone. */
const DEFAULT_ZONE = 'Europe/Istanbul';

/** Only a path of this site: never an open redirect to another origin. */
const localPath = (v: unknown) => (typeof v === 'string' && /^\/(?!\/)[^\\\s]*$/.test(v) ? v : '/');

/** POST /language: the header switch. A signed-in user's choice is their profile setting. */
export function languageRoutes(deps: Deps) {
  const r = Router();
  r.post('/language', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const lang = body.lang;
    if (isLang(lang)) {
      if (req.user) await deps.db.update(users).set({ locale: lang, updatedAt: deps.clock.now() }).where(eq(users.id, req.user.user.id));
      else req.session.lang = lang;
    }
    res.redirect(303, localPath(body.back));
  });
  return r;
}
