import type { DbOrTx, Listen } from '../../db/client';
import type { Actor } from '../auth/actor';
import { authenticateApiKeys, touchApiKeys } from './api-keys.usecases';

interface Waiter {
  resolve: (actor: Actor | null) => void;
  reject: (err: unknown) => void;
}

interface Entry {
  actor: Actor | null;
  until: number;
  refreshing: boolean;
}

/** Where the database announces changed API keys (migration 0009_api_key_notify). */
export const API_KEYS_CHANNEL = 'kontor_api_keys';

/**
 * Bearer authentication without a database round trip per request (the usage API is the hot
 * path). A key revoked through this process is dropped at once. Once `follow` listens to the
 * database's announcements, a key changed by any process is dropped as soon as the
 * announcement arrives, and an entry answers for at most `followedTtlMs` (a safety net: after
 * a lost connection the cache is emptied when listening resumes); before that, or without
 * notifications, for at most `ttlMs` (documented in docs/decisions.md). Lookups are coalesced:
 * the misses of one event-loop turn are read in one query. A key in use is re-read in the
 * background during the second half of its entry's life, so a busy key never waits for the
 * database; those re-reads wait up to `refreshDelayMs` and go out together (10,000 keys in use
 * come due within seconds of each other: one query per event-loop turn was hundreds a second
 * beside the usage batches, a handful this way).
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys used since the last flush: their last_used_at is written in one statement, not per request. */
  private used = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  /** Secrets to read in the next query, with whoever waits for them. */
  private queued = new Map<string, Waiter[]>();
  /** The running read loop, if any. */
  private reading: Promise<void> | null = null;
  /** Bumped by invalidateKey: a read that started before must not re-cache what was dropped. */
  private generation = 0;

  /** True while the announcements are being received. */
  private following = false;

  /** Keys in use due for a background re-read, gathered for `refreshDelayMs`. */
  private refreshes = new Set<string>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Queries made to read keys (misses and re-reads). */
  reads = 0;

  constructor(
    private readonly db: DbOrTx,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 50_000,
    /** Wall-clock milliseconds (the test clock does not apply: a key's validity is real time). */
    private readonly nowMs: () => number = Date.now,
    private readonly followedTtlMs = 60_000,
    private readonly refreshDelayMs = 250,
  ) {
    this.timer = setInterval(() => void this.flushUsage().catch(() => {}), 30_000);
    this.timer.unref();
  }

  /**
   * Listens to the database's announcements of changed keys. Each time listening starts (and
   * again after a reconnect) the cache is emptied: nothing missed meanwhile survives.
   */
  async follow(listen: Listen): Promise<void> {
    await listen(
      API_KEYS_CHANNEL,
      (keyId) => this.invalidateKey(keyId),
      () => {
        this.generation++;
        this.entries.clear();
        this.following = true;
      },
    );
  }

  private get lifeMs(): number {
    return this.following ? this.followedTtlMs : this.ttlMs;
  }

  async flushUsage(): Promise<void> {
    const ids = [...this.used];
    this.used = new Set();
    await touchApiKeys(this.db, ids, new Date());
  }

  /** The actor at once when the key is cached, else a promise (no microtask on the hot path). */
  authenticate(secret: string): Actor | null | Promise<Actor | null> {
    const found = this.lookup(secret);
    if (found instanceof Promise) {
      return found.then((actor) => {
        if (actor) this.used.add(actor.id);
        return actor;
      });
    }
    if (found) this.used.add(found.id);
    return found;
  }

  private lookup(secret: string): Actor | null | Promise<Actor | null> {
    const now = this.nowMs();
    const hit = this.entries.get(secret);
    if (hit && hit.until > now) {
      if (hit.actor && !hit.refreshing && hit.until - now < this.lifeMs / 2) {
        hit.refreshing = true;
        this.queueRefresh(secret);
      }
      return hit.actor;
    }
    return new Promise((resolve, reject) => this.enqueue(secret, { resolve, reject }));
  }

  private queueRefresh(secret: string) {
    this.refreshes.add(secret);
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => this.flushRefreshes(), this.refreshDelayMs);
    this.refreshTimer.unref();
  }

  /** Moves the gathered re-reads into the next query. */
  private flushRefreshes() {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const due = this.refreshes;
    this.refreshes = new Set();
    for (const secret of due) this.enqueue(secret, null);
  }

  private enqueue(secret: string, waiter: Waiter | null) {
    let waiters = this.queued.get(secret);
    if (!waiters) this.queued.set(secret, (waiters = []));
    if (waiter) waiters.push(waiter);
    this.reading ??= new Promise<void>((r) => setImmediate(r)).then(() => this.read());
  }

  /** Reads every queued secret in one query; secrets queued meanwhile go in the next one. */
  private async read() {
    while (this.queued.size > 0) {
      const batch = this.queued;
      this.queued = new Map();
      const generation = this.generation;
      const readAt = this.nowMs(); // an entry's life counts from before the read
      let found: Map<string, Actor | null>;
      try {
        this.reads++;
        found = await authenticateApiKeys(this.db, [...batch.keys()]);
      } catch (err) {
        // The request fails (500) as a direct read would; an entry being refreshed keeps
        // answering until it expires, and the next request after that reads again.
        for (const [secret, waiters] of batch) {
          const e = this.entries.get(secret);
          if (e) e.refreshing = false;
          for (const w of waiters) w.reject(err);
        }
        continue;
      }
      const until = readAt + this.lifeMs;
      const fresh = generation === this.generation;
      if (fresh && this.entries.size + found.size > this.maxEntries) this.entries.clear();
      for (const [secret, actor] of found) {
        // Unknown keys are cached briefly too, so a flood of bad keys cannot hammer the database.
        if (fresh) this.entries.set(secret, { actor, until: actor ? until : readAt + 1000, refreshing: false });
        else {
          const e = this.entries.get(secret);
          if (e) e.refreshing = false;
        }
      }
      for (const [secret, waiters] of batch) for (const w of waiters) w.resolve(found.get(secret) ?? null);
    }
    this.reading = null;
  }

  /** Resolves when no read is gathered, queued or running (tests; shutdown): gathered re-reads go at once. */
  async idle(): Promise<void> {
    if (this.refreshes.size > 0) this.flushRefreshes();
    while (this.reading) await this.reading;
  }

  invalidateKey(keyId: string): void {
    this.generation++;
    for (const [secret, e] of this.entries) if (e.actor?.id === keyId) this.entries.delete(secret);
  }
}
