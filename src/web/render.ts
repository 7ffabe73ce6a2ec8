import type { Request, Response } from 'express';
import { AppError, ValidationError } from '../lib/errors';
import { applyLanguage } from './language';
import { localize } from '../i18n/i18n';

/** Renders a view inside the one layout. */
export async function page(res: Response, view: string, locals: Record<string, unknown> = {}, status = 200): Promise<void> {
  if (!res.locals.t) applyLanguage(res.req, res);
  const all = { ...res.locals, ...locals };
  const body = withScrollingTables(await renderView(res, view, all));
  const html = await renderView(res, 'layout', { ...all, body });
  res.status(status).type('html').send(html);
}

/** A view's HTML alone (no layout), for pages that show another view inside their own. */
export function renderPartial(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return renderView(res, view, locals);
}

/**
 * Every table of a page in a box of its own that scrolls sideways: a wide table (a long package
 * name, many columns) then never pushes the page wider than a phone's screen. The box takes the
 * keyboard focus (tabindex 0) so that a keyboard user can scroll it too (WCAG 2.1.1; axe-core's
 * scrollable-region-focusable), with or without JavaScript.
 */
export function withScrollingTables(html: string): string {
  return html.replace(/<table\b/g, '<div class="table-scroll" tabindex="0"><table').replace(/<\/table>/g, '</table></div>');
}

function renderView(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => res.app.render(view, locals, (err, html) => (err ? reject(err) : resolve(html))));
}

export function flash(req: Request, message: string, type: 'success' | 'error' = 'success', secret?: string): void {
  req.session.flash = { type, message, ...(secret ? { secret } : {}) };
}

/**
 * A form POST: runs the action; on a validation error (or a refusal the user can act on, such as
 * insufficient credits) re-renders the form with what the user typed and the message, changing
 * nothing. Other errors (not found, forbidden, bugs) go to the error handler.
 */
export function formAction(opts: {
  view: string;
  locals: (req: Request, res: Response) => Promise<Record<string, unknown>>;
  action: (req: Request, res: Response) => Promise<void>;
}) {
  return async (req: Request, res: Response) => {
    try {
      await opts.action(req, res);
    } catch (err) {
      const formLevel = err instanceof AppError && [402, 409, 422].includes(err.status);
      if (!(err instanceof ValidationError) && !formLevel) throw err;
      // Messages are read here, in the reader's language: a view may print them as they come.
      if (!res.locals.t) applyLanguage(req, res);
      const t = req.t;
      const fields = Object.fromEntries(Object.entries(err instanceof ValidationError ? err.fields : {}).map(([k, v]) => [k, localize(t, v)]));
      const { _csrf: _ignored, password: _p, currentPassword: _c, newPassword: _n, confirmPassword: _cp, ...form } = (req.body ?? {}) as Record<string, unknown>;
      await page(res, opts.view, { ...(await opts.locals(req, res)), form, errors: fields, formError: fields._ ?? localize(t, (err as AppError).message, (err as AppError).details) }, (err as AppError).status);
    }
  };
}
