// Every request carries an id: the caller's `X-Request-Id` when it is a sane token (a proxy or a
// client correlating its own logs), a fresh UUID otherwise. It is sent back in `X-Request-Id`,
// bound to every log line of the request (req.log) and shown on error pages and JSON errors.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { pinoHttp, startTime, stdSerializers, type HttpLogger } from 'pino-http';
import type { Deps } from '../deps';
import { scrubUrl, serializers, wrapPino, type Logger } from '../lib/logger';

const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,200}$/;
/** A request slower than this is logged (warn) with its timing. */
export const SLOW_REQUEST_MS = 2000;
// Requests whose failure the error handler has already logged (with the error and its stack).
const logged = new WeakSet<ServerResponse>();

function newRequestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * The id alone, for every request and first of all: the usage hot path gets nothing more (pino-http
 * costs about 10 us per request in child loggers and listeners, measured against this).
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.id = newRequestId(req, res);
  // Every answer, JSON and PDF included (helmet covers only pages): never sniffed as HTML. Set
  // here, in the one layer every request passes first, rather than in a layer of its own.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

/**
 * pino-http for everything after the usage routes: req.log carries the request id. Successful
 * requests are not logged (the access log is the proxy's job); slow ones and failures nobody
 * logged are.
 */
export function httpLogger(deps: Deps): HttpLogger {
  return pinoHttp({
    logger: deps.logger.pino,
    // requestId (mounted first) has chosen the id already: reuse it, never make a second one.
    genReqId: (req, res) => (req as Request).id ?? newRequestId(req, res),
    // pino-http's child logger would otherwise replace our err serializer (which scrubs secrets).
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => {
        const serialized = stdSerializers.req(req);
        return { ...serialized, url: scrubUrl(serialized.url) };
      },
      res: stdSerializers.res,
      err: serializers.err,
    },
    // req.log binds only the id; the request itself is on the one line written when it ends.
    quietReqLogger: true,
    quietResLogger: true,
    customSuccessObject: (req, _res, val: object) => ({ req, ...val }),
    customErrorObject: (req, _res, _err, val: object) => ({ req, ...val }),
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    customLogLevel: (_req, res, err) => {
      if (logged.has(res)) return 'silent';
      if (err || res.statusCode >= 500) return 'error';
      return Date.now() - res[startTime] > SLOW_REQUEST_MS ? 'warn' : 'silent';
    },
  });
}

/** The request's logger: pino-http's req.log, or (on the usage routes) one bound to the request id. */
export function requestLogger(deps: Deps, req: Request): Logger {
  const bound = (req as { log?: Request['log'] }).log;
  return bound ? wrapPino(bound) : deps.logger.child({ reqId: req.id });
}

/** The error handler logged this response's failure: pino-http need not log it again. */
export function markLogged(res: Response): void {
  logged.add(res);
}
