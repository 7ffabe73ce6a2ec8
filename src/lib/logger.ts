// Structured logs: pino, one JSON line per event on stderr (stdout is kept for CLI output that
// scripts capture). The rest of the code logs through the small `Logger` below, message first
// and fields second (`logger.error('job failed', { job })`), which is pino underneath; pino
// itself is there for libraries that take it (pino-http).
import { pino, stdSerializers, type DestinationStream, type Logger as Pino, type LoggerOptions } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, data?: LogFields): void;
  info(msg: string, data?: LogFields): void;
  warn(msg: string, data?: LogFields): void;
  error(msg: string, data?: LogFields): void;
  /** A logger whose every line also carries these fields (a request id, a job's name and attempt). */
  child(bindings: LogFields): Logger;
  /** The pino logger underneath. */
  readonly pino: Pino;
}

/**
 * Fields never written, whatever object they are found in: credentials, session cookies, API
 * keys, sellers' gateway secrets, card data, and postgres.js's query parameters (which can hold
 * any of these).
 */
const SENSITIVE_KEYS = [
  'authorization', 'cookie', 'set-cookie', 'x-api-key',
  'password', 'currentPassword', 'newPassword', 'confirmPassword',
  'key', 'apiKey', 'api_key', 'token', 'secret', 'secrets', 'secretKey', 'apiPassword', 'webhookSecret',
  'client_secret', 'storekey', 'sessionSecret', '_csrf',
  'pan', 'cardNumber', 'card_number', 'cv2', 'cvc', 'cvv', 'expiry', 'expireMonth', 'expireYear',
  'exp_month', 'exp_year', 'Ecom_Payment_Card_ExpDate_Month', 'Ecom_Payment_Card_ExpDate_Year',
  'cardUserKey', 'cardToken',
  'parameters',
];
const sensitive = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));
const CENSOR = '[Redacted]';

const pathOf = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);
/**
 * pino's own redaction, applied after the serializers (pino-http's `req` and `res`): these keys
 * at the top of a line, one level down (`body.password`) and in a request's headers and query.
 */
export const REDACT_PATHS = SENSITIVE_KEYS.flatMap((k) => [
  pathOf(k).replace(/^\./, ''), `*${pathOf(k)}`, `req.headers${pathOf(k)}`, `req.query${pathOf(k)}`, `res.headers${pathOf(k)}`,
]);

/** Query parameters with a sensitive name, in a URL that is logged whole. */
const SENSITIVE_PARAM = new RegExp(`([?&](?:${SENSITIVE_KEYS.map((k) => k.replace(/[^\w-]/g, '')).join('|')})=)[^&#]*`, 'gi');
export const scrubUrl = (url: string) => scrubText(url.replace(SENSITIVE_PARAM, `$1${CENSOR}`));

// API keys and bearer credentials inside free text (an error message, a stack, a URL).
const SECRET_TEXT = /\bkt_[A-Za-z0-9_]+|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
function scrubText(s: string): string {
  if (!s.includes('kt_') && !/Bearer|Basic/i.test(s)) return s;
  return s.replace(SECRET_TEXT, (m) => (m.startsWith('kt_') ? `kt_${CENSOR}` : `${m.slice(0, m.search(/\s/))} ${CENSOR}`));
}

/**
 * Redacts sensitive keys at any depth and secrets inside strings: what pino's path-based
 * redaction cannot reach (a request body's nested fields, a key quoted in a message).
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (depth > 8) return '[Truncated]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  // Errors go through the err serializer (below); other class instances (dates) stay as they are.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(value)) out[k] = sensitive.has(k.toLowerCase()) ? CENSOR : scrub(v, depth + 1);
  return out;
}

export const serializers = {
  // pino's err serializer returns its own prototype's object: spread into a plain one to scrub it.
  err: (err: Error) => scrub({ ...stdSerializers.err(err) }),
};

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers,
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrub(obj) as LogFields,
    },
  };
}

// One synchronous writer on stderr for the process: lines are written before a crash exits.
let stderr: DestinationStream | undefined;

/** A logger at this level writing to stderr (or to `destination`: tests capture lines with it). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return wrapPino(pino(loggerOptions(level), destination ?? (stderr ??= pino.destination({ fd: 2, sync: true }))));
}

/** The message-first `Logger` over a pino logger (pino takes the fields first). */
export function wrapPino(p: Pino): Logger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, data?: LogFields) => {
    if (data) p[level](data, scrubText(msg));
    else p[level](scrubText(msg));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => wrapPino(p.child(b)), pino: p };
}
