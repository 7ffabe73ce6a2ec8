// The one place that reads process.env: everything else receives a typed Config.
import { createHash } from 'node:crypto';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().default('./data'),
  REDIS_URL: z.string().optional(),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only').default('kontor'),
  SESSION_SECRET: z.string().min(16).optional(),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().default('Kontor <no-reply@kontor.local>'),
  DEMO: bool.optional(),
  TEST_CLOCK: bool.optional(),
  TRUST_PROXY: bool.default(false),
  TRUST_HOST_HEADER: bool.default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
  LOGIN_RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  PASSWORD_HASH_COST: z.coerce.number().int().min(10).max(20).optional(),
  SANDBOX_URL: z.string().url().optional(),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  SECRET_KEYS: z.string().optional(),
  GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  USAGE_TOPUP_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(3_000),
  API_RATE_LIMITS: z.string().default(''),
  // 10 minutes: DEFAULT_JOB_TIMEOUT_MS in src/queue/queue.ts (config imports none of our layers).
  JOB_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(24 * 3_600_000).default(600_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(25_000),
  // Web Push (mobile push notices): `npx web-push generate-vapid-keys`; without them the channel is hidden.
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/, 'the URL-safe base64 public key web-push generate-vapid-keys prints').optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{40,50}$/, 'the URL-safe base64 private key web-push generate-vapid-keys prints').optional(),
  // Outgoing webhooks (docs/webhooks.md): strict = https only and public addresses only; always on in production.
  WEBHOOKS_STRICT: bool.optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(10_000),
  VAPID_SUBJECT: z.string().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'a mailto: address or an https: URL where the push services can reach the operator').optional(),
});

/** Route groups an API key's requests are limited by. */
export type RateGroup = 'usage' | 'read' | 'write';

export interface Config {
  env: 'development' | 'test' | 'production';
  isProduction: boolean;
  port: number;
  host: string;
  publicUrl: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  dataDir: string;
  redisUrl: string | undefined;
  /** Redis key prefix of the job queue: processes sharing it share the jobs. */
  queuePrefix: string;
  sessionSecret: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  demo: boolean;
  testClock: boolean;
  trustProxy: boolean;
  /**
   * Whether the Host header names the site: only behind a proxy that routes known host names to
   * this app (and rejects others). Then an agency's portal domain shows that agency's brand.
   */
  trustHostHeader: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Failed sign-ins per email and client address per 15 minutes. */
  loginRateLimit: number;
  /** Failed sign-ins per client address per 15 minutes, whatever the emails (offices share one address). */
  loginRateLimitPerAddress: number;
  /** log2 of scrypt's N: 15 (32 MiB per hash) in production, lower in tests to keep them fast. */
  passwordHashCost: number;
  /**
   * Where the offline gateway sandboxes are reached server-to-server (this app serves them outside
   * production). Null in production: sandboxes are never used there.
   */
  sandboxUrl: string | null;
  /** `npm run sandboxes` (the sandboxes alone, outside production) listens here. */
  sandboxPort: number;
  /**
   * Keys encrypting sellers' gateway secrets at rest: `id:base64-of-32-bytes`, comma separated,
   * the first one current (encrypts), the others only decrypt (rotation: docs/operations.md).
   */
  secretKeys: { id: string; key: Buffer }[];
  gatewayTimeoutMs: number;
  /**
   * How long a usage request waits for an automatic top-up it triggered. Past it the request
   * answers 402 topup_pending with Retry-After and the charge goes on; the retry is served.
   */
  usageTopupWaitMs: number;
  /** Requests per API key and minute, by route group (API_RATE_LIMITS="usage=600000,read=6000,write=1200", the defaults). */
  apiRateLimits: Record<RateGroup, number>;
  /**
   * Deadline of one attempt of a background job (the sweeps over every account have their own,
   * longer one: jobs/processors.ts). Past it the attempt fails and is retried with back-off.
   */
  jobTimeoutMs: number;
  /**
   * How long a web or worker process may take to stop on SIGTERM/SIGINT (finish requests and
   * jobs, close connections). Past it the process logs what was still running and exits 1.
   */
  shutdownTimeoutMs: number;
  /**
   * Web Push (VAPID, RFC 8292): the key pair that signs pushes and the operator's contact the push
   * services see. Null: no VAPID keys configured, so the push channel is hidden everywhere.
   */
  vapid: { publicKey: string; privateKey: string; subject: string } | null;
  /**
   * Outgoing webhooks. `strict`: endpoints must be https and every address their host resolves to
   * public (no private, loopback, link-local...), checked on each delivery; always true in
   * production, false by default elsewhere (a receiver on localhost). `timeoutMs`: per delivery.
   */
  webhooks: { strict: boolean; timeoutMs: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings in .env files mean "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && !e.SESSION_SECRET) throw new ConfigError('Invalid configuration:\n  SESSION_SECRET: required in production');
  if (isProduction && e.WEBHOOKS_STRICT === false) throw new ConfigError('Invalid configuration:\n  WEBHOOKS_STRICT: never false in production');
  if (isProduction && e.TEST_CLOCK) throw new ConfigError('Invalid configuration:\n  TEST_CLOCK: never allowed in production');
  return {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    sessionSecret: e.SESSION_SECRET ?? 'kontor-development-secret-not-for-production',
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    demo: e.DEMO ?? !isProduction,
    testClock: e.TEST_CLOCK ?? !isProduction,
    trustProxy: e.TRUST_PROXY,
    trustHostHeader: e.TRUST_HOST_HEADER,
    logLevel: e.LOG_LEVEL,
    loginRateLimit: e.LOGIN_RATE_LIMIT,
    loginRateLimitPerAddress: e.LOGIN_RATE_LIMIT_PER_ADDRESS,
    passwordHashCost: e.PASSWORD_HASH_COST ?? (e.NODE_ENV === 'test' ? 10 : 15),
    // Buyers' browsers follow sandbox links too, so by default it is the public URL.
    sandboxUrl: isProduction ? null : (e.SANDBOX_URL ?? e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    gatewayTimeoutMs: e.GATEWAY_TIMEOUT_MS,
    sandboxPort: e.SANDBOX_PORT,
    usageTopupWaitMs: e.USAGE_TOPUP_WAIT_MS,
    apiRateLimits: parseRateLimits(e.API_RATE_LIMITS),
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    webhooks: { strict: e.WEBHOOKS_STRICT ?? isProduction, timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    vapid: parseVapid(e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT),
    secretKeys: parseSecretKeys(e.SECRET_KEYS, isProduction, e.SESSION_SECRET ?? 'kontor-development-secret-not-for-production'),
  };
}

function parseVapid(publicKey: string | undefined, privateKey: string | undefined, subject: string | undefined): Config['vapid'] {
  if (!publicKey && !privateKey && !subject) return null;
  if (!publicKey || !privateKey || !subject) {
    throw new ConfigError('Invalid configuration:\n  VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT: set all three for mobile push, or none');
  }
  return { publicKey, privateKey, subject };
}

function parseSecretKeys(value: string | undefined, isProduction: boolean, sessionSecret: string): { id: string; key: Buffer }[] {
  if (!value) {
    if (isProduction) throw new ConfigError('Invalid configuration:\n  SECRET_KEYS: required in production (id:base64 of 32 random bytes)');
    // Outside production a key derived from the session secret keeps the demo one command.
    return [{ id: 'dev', key: createHash('sha256').update(`kontor-secret-box:${sessionSecret}`).digest() }];
  }
  const keys = value.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [id, b64] = part.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
      throw new ConfigError('Invalid configuration:\n  SECRET_KEYS: each entry must be id:base64 of exactly 32 bytes');
    }
    return { id, key };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError('Invalid configuration:\n  SECRET_KEYS: key ids must be unique');
  return keys;
}

/** API_RATE_LIMITS: "usage=600000,read=6000,write=1200" (requests per key and minute); unnamed groups keep their default. */
function parseRateLimits(value: string): Record<RateGroup, number> {
  const limits: Record<RateGroup, number> = { usage: 600_000, read: 6_000, write: 1_200 };
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!(k === 'usage' || k === 'read' || k === 'write') || !/^\d{1,9}$/.test(v ?? '') || Number(v) < 1) {
      throw new ConfigError(`Invalid configuration:\n  API_RATE_LIMITS: "${part}" must be usage=, read= or write= a whole number of requests per minute`);
    }
    limits[k] = Number(v);
  }
  return limits;
}
