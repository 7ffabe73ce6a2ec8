// Idempotency-Key on every API POST (issue #19; docs/decisions.md "Idempotency keys"). The first
// request with a key runs; its answer (2xx and 4xx) is stored and every retry with the same key
// and the same request gets it back, with `Idempotent-Replayed: true`, for 24 hours. The same key
// with another request is `409 idempotency_key_reused`. A retry that arrives while the first
// still runs waits for its answer (up to WAIT_MS, then `409 idempotency_key_in_use`). A 5xx
// or 429 answer is not stored: the retry runs again. Use cases that took a key before (credit
// adjustments, WhatsApp debits, offline purchases) still apply it underneath.
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { idempotencyKeys } from '../../../db/schema';
import type { Deps } from '../../deps';
import { IDEMPOTENCY_KEEP_MS as KEEP_MS } from '../../api-keys/idempotency-keys';
import { AppError } from '../../lib/errors';

/** A first request still "running" after this long died with its process: a retry takes over. */
const ABANDONED_MS = 60_000;
const WAIT_MS = 10_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** JSON with object keys sorted: the same body in another key order is the same request. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function idempotency(deps: Pick<Deps, 'db' | 'clock'>): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined || req.actor?.kind !== 'api_key') return next();
    if (!KEY.test(key)) throw new AppError('invalid_idempotency_key', 400, 'Idempotency-Key must be 1 to 255 visible ASCII characters.');
    const apiKeyId = req.actor.id;
    const requestHash = createHash('sha256').update(`${req.method} ${req.originalUrl}\n${canonical(req.body)}`).digest('hex');
    const mine = and(eq(idempotencyKeys.apiKeyId, apiKeyId), eq(idempotencyKeys.key, key));
    const started = Date.now();
    for (;;) {
      const now = deps.clock.now();
      const [claimed] = await deps.db.insert(idempotencyKeys).values({ apiKeyId, key, requestHash, createdAt: now }).onConflictDoNothing().returning({ key: idempotencyKeys.key });
      if (claimed) return runAndStore(deps, req, res, next, mine);
      const [row] = await deps.db.select().from(idempotencyKeys).where(mine);
      if (!row) continue; // expired and removed meanwhile: claim it
      const age = now.getTime() - row.createdAt.getTime();
      if (age > KEEP_MS || (row.responseStatus === null && age > ABANDONED_MS)) {
        await deps.db.delete(idempotencyKeys).where(and(mine, eq(idempotencyKeys.createdAt, row.createdAt)));
        continue;
      }
      if (row.requestHash !== requestHash) {
        throw new AppError('idempotency_key_reused', 409, 'This Idempotency-Key was used for another request in the last 24 hours: use a new key for a new request.');
      }
      if (row.responseStatus !== null) {
        res.setHeader('Idempotent-Replayed', 'true');
        if (row.responseBody === null) return void res.status(row.responseStatus).end();
        return void res.status(row.responseStatus).json(row.responseBody);
      }
      if (Date.now() - started > WAIT_MS) throw new AppError('idempotency_key_in_use', 409, 'A request with this Idempotency-Key is still running: retry in a few seconds.');
      await sleep(50);
    }
  };
}

/** Runs the route; stores its answer when it is final (2xx, 4xx but 429), or frees the key. */
function runAndStore(deps: Pick<Deps, 'db'>, req: Request, res: Response, next: NextFunction, mine: ReturnType<typeof and>): void {
  let body: unknown = null;
  const json = res.json.bind(res);
  res.json = (b: unknown) => {
    body = b ?? null;
    return json(b);
  };
  res.on('finish', () => {
    const final = res.statusCode < 500 && res.statusCode !== 429;
    const write = final
      ? deps.db.update(idempotencyKeys).set({ responseStatus: res.statusCode, responseBody: body }).where(mine)
      : deps.db.delete(idempotencyKeys).where(mine);
    // The answer is sent already; a failed write frees nothing and a retry waits, then takes over.
    void Promise.resolve(write).catch((err: unknown) => req.log?.error({ err }, 'idempotency: the answer could not be stored'));
  });
  next();
}
