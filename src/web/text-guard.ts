// Text that Postgres cannot store (a NUL character) or that is not Unicode at all (an unpaired
// UTF-16 surrogate, which the driver would silently turn into U+FFFD) is refused at the edge,
// before any use case sees it. Without this, one NUL in one client's usage event failed the
// shared group-commit statement and every other tenant's request batched with it.
import { isUtf8 } from 'node:buffer';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../lib/errors';
import { msg } from '../lib/message';

/** True when the text can be stored and shown as sent: no NUL, no unpaired surrogate. */
export function isCleanText(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/** The path (`events.3.conversationId`) of the first string in a parsed value that is not clean, or null. */
export function findUncleanText(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return isCleanText(value) ? null : path || '_';
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findUncleanText(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (bad) return bad;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const here = path ? `${path}.${k}` : k;
    if (!isCleanText(k)) return here;
    const bad = findUncleanText(v, here, depth + 1);
    if (bad) return bad;
  }
  return null;
}

export const invalidText = (field: string) =>
  new AppError(
    'invalid_text', 400,
    field === 'path'
      ? 'This address contains a NUL character or broken Unicode; check the link you followed.'
      : msg('errors:invalidText', { field }),
    { field },
  );

/** Raw bytes (a webhook body kept as sent): refused when they hold a NUL byte or are not UTF-8. */
export function assertCleanBytes(bytes: Buffer, field = 'body'): void {
  if (bytes.includes(0) || !isUtf8(bytes)) throw invalidText(field);
}

function decodedPathHasNul(rawPath: string): boolean {
  if (!rawPath.includes('%')) return false;
  for (const segment of rawPath.split('/')) {
    if (!segment.includes('%')) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return true; // not UTF-8 once decoded: nothing legitimate sends that
    }
    if (!isCleanText(decoded)) return true;
  }
  return false;
}

/**
 * Before routing: the URL's path segments and query. Mounted first, so a `%00` in an id never
 * reaches a route (where it would be compared with a database column).
 */
export function guardUrlText(req: Request, _res: Response, next: NextFunction): void {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  if (decodedPathHasNul(rawPath)) throw invalidText('path');
  if (q >= 0) {
    const bad = findUncleanText(req.query);
    if (bad) throw invalidText(bad);
  }
  next();
}

/** After a body parser: every string (and key) of the parsed body. */
export function guardBodyText(req: Request, _res: Response, next: NextFunction): void {
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) {
    const bad = findUncleanText(req.body);
    if (bad) throw invalidText(bad);
  }
  next();
}
