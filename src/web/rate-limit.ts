// Rate limits per API key and route group (issue #19; docs/decisions.md "API rate limits").
// Fixed one-minute windows. Every process counts locally and decides at once (no await on the
// request path: the usage hot path pays a Map lookup); when Redis is configured, a flusher adds
// the local counts to one shared counter per key, group and window every FLUSH_MS and learns the
// total of all processes. A key can therefore exceed its limit by what other processes admitted
// in the last FLUSH_MS, never more.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config, RateGroup } from '../../config';
import type { Logger } from '../lib/logger';
import { sharedRedis } from '../lib/redis';
import { msg } from '../lib/message';
import { localize, pickLanguage, tFor } from '../i18n/i18n';

const WINDOW_MS = 60_000;
const FLUSH_MS = 200;

interface Counter {
  /** Admitted here and not yet added to the shared counter. */
  local: number;
  /** The shared total (all processes) as last learnt, including this process's flushed counts. */
  shared: number;
  /** Being added to the shared counter right now: counted until Redis answers. */
  sending: number;
}

/** What the limiter needs of a Redis client. */
interface RedisLike {
  multi(): { incrBy(key: string, n: number): unknown; pExpire(key: string, ms: number): unknown; exec(): Promise<unknown> };
}
/** The process's shared connection (limits stay per process while it is down). */
const redisFor = (url: string, logger: Logger): Promise<RedisLike> => sharedRedis(url, logger) as unknown as Promise<RedisLike>;

export class RateLimiter {
  private windows = new Map<string, Counter>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    readonly limits: Record<RateGroup, number>,
    private readonly now: () => number,
    private readonly shared?: { url: string; prefix: string; logger: Logger },
  ) {}

  /** Counts one request of `key` in `group`; says whether it is admitted and what is left. */
  hit(key: string, group: RateGroup): { ok: boolean; limit: number; remaining: number; resetSeconds: number } {
    const limit = this.limits[group];
    const t = this.now();
    const window = Math.floor(t / WINDOW_MS);
    const id = `${group}:${key}:${window}`;
    let c = this.windows.get(id);
    if (!c) {
      c = { local: 0, shared: 0, sending: 0 };
      this.windows.set(id, c);
      if (this.windows.size > 50_000) this.prune(window);
    }
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - t) / 1000));
    const used = c.shared + c.sending + c.local;
    if (used >= limit) return { ok: false, limit, remaining: 0, resetSeconds };
    c.local += 1;
    if (this.shared && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return { ok: true, limit, remaining: limit - used - 1, resetSeconds };
  }

  /** Adds the local counts to the shared counters and learns the totals (tests call it directly). */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    this.timer = undefined;
    if (!this.shared) return;
    // Every counter of the current window: the ones with local counts add them, the others
    // (INCRBY 0) learn what the other processes admitted.
    const current = Math.floor(this.now() / WINDOW_MS);
    const pending = [...this.windows].filter(([id, c]) => c.local > 0 || Number(id.slice(id.lastIndexOf(':') + 1)) === current);
    if (pending.length === 0) return;
    let redis: RedisLike;
    try {
      redis = await redisFor(this.shared.url, this.shared.logger);
    } catch {
      return; // counted locally meanwhile; retried with the next admitted request
    }
    const multi = redis.multi();
    const sent = pending.map(([id, c]) => {
      const n = c.local;
      c.local = 0;
      c.sending += n;
      multi.incrBy(`${this.shared!.prefix}:rl:${id}`, n);
      multi.pExpire(`${this.shared!.prefix}:rl:${id}`, 2 * WINDOW_MS);
      return { c, n };
    });
    try {
      const replies = (await multi.exec()) as unknown[];
      sent.forEach(({ c, n }, i) => {
        c.shared = Math.max(c.shared, Number(replies[i * 2]));
        c.sending -= n;
      });
    } catch (err) {
      // Not counted in Redis: keep them local so that they are not forgotten.
      for (const { c, n } of sent) {
        c.sending -= n;
        c.local += n;
      }
      this.shared.logger.warn('rate-limit counts not shared this time', { error: String(err) });
    }
  }

  private prune(currentWindow: number): void {
    for (const id of this.windows.keys()) {
      if (Number(id.slice(id.lastIndexOf(':') + 1)) < currentWindow) this.windows.delete(id);
    }
  }

  /**
   * Express middleware for one group (or by method: reads and writes), for API-key requests.
   * Headers: `RateLimit-Limit`, `-Remaining`, `-Reset` (IETF draft 6, what most clients read) and
   * `RateLimit-Policy` + `RateLimit` (draft 8, the policy named by the group); a refusal adds
   * `Retry-After` and answers the API's error shape with a request id.
   */
  middleware(group: RateGroup | 'by-method'): RequestHandler {
    const policies = Object.fromEntries((Object.keys(this.limits) as RateGroup[]).map((g) => [g, `"${g}";q=${this.limits[g]};w=${WINDOW_MS / 1000}`])) as Record<RateGroup, string>;
    return (req: Request, res: Response, next: NextFunction) => {
      const keyId = req.actor?.kind === 'api_key' ? req.actor.id : undefined;
      if (!keyId) return next();
      const g: RateGroup = group !== 'by-method' ? group : req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';
      const r = this.hit(keyId, g);
      res.setHeader('RateLimit-Limit', String(r.limit));
      res.setHeader('RateLimit-Remaining', String(r.remaining));
      res.setHeader('RateLimit-Reset', String(r.resetSeconds));
      res.setHeader('RateLimit-Policy', policies[g]);
      res.setHeader('RateLimit', `"${g}";r=${r.remaining};t=${r.resetSeconds}`);
      if (r.ok) return next();
      res.setHeader('Retry-After', String(r.resetSeconds));
      res.status(429).json({
        error: 'rate_limited',
        message: localize(tFor(pickLanguage({ acceptLanguage: req.get('accept-language') })), msg('errors:rateLimited', { limit: r.limit, group: `errors:rateGroup.${g}`, seconds: r.resetSeconds })),
        limit: r.limit,
        retryAfterSeconds: r.resetSeconds,
        requestId: String(req.id),
      });
    };
  }
}

export function createRateLimiter(config: Pick<Config, 'apiRateLimits' | 'redisUrl' | 'queuePrefix'>, logger: Logger, now: () => number): RateLimiter {
  return new RateLimiter(config.apiRateLimits, now, config.redisUrl ? { url: config.redisUrl, prefix: config.queuePrefix, logger } : undefined);
}
