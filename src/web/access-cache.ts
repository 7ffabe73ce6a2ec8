import type { Listen } from '../../db/client';
import type { Deps } from '../deps';
import { loadPrincipal, type SessionPrincipal } from '../users/users.usecases';

/** Where the database announces changes to what the cache holds (db/functions/access_notify.sql). */
export const ACCESS_CHANNEL = 'kontor_access';

interface Entry {
  value: unknown;
  until: number;
  tags: string[];
}

/**
 * What every signed-in page reads before its route, cached per process: the session's row
 * (src/web/session-store.ts), who its user is (user, memberships, their agencies and sub-accounts)
 * and whether an account may be served (its suspension flags and usage counts). Correctness first:
 * - Nothing is cached until this process listens to the database's announcements (channel
 *   `kontor_access`); every row change those answers are read from is announced at commit by
 *   triggers (migrations 0030 and 0036), so a removed membership or a suspension written by any process
 *   drops the entries it touches in every process as soon as the announcement arrives.
 * - Each time listening (re)starts, everything is dropped: nothing missed while disconnected survives.
 * - An entry answers for at most `ttlMs` (a safety net for a connection lost unnoticed).
 * - A read that started before any announcement is not cached (it may hold what was just changed).
 * Entries carry tags (`u:<user>`, `a:<agency>`, `s:<sub-account>`, `x:<account>`, `sid:<session id>`
 * for the session rows: src/web/session-store.ts); an announcement drops the entries with its tag,
 * `*` drops all.
 */
export class AccessCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byTag = new Map<string, Set<string>>();
  private generation = 0;
  private following = false;
  /** Reads made (misses), for tests and the benchmark. */
  reads = 0;

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 20_000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Listens to the announcements; from the first (re)subscription on, answers may be cached. */
  async follow(listen: Listen): Promise<void> {
    await listen(
      ACCESS_CHANNEL,
      (payload) => this.invalidate(payload),
      () => {
        this.clear();
        this.following = true;
      },
    );
  }

  /** Stops caching (the announcements are no longer trusted) and drops everything. */
  stopFollowing(): void {
    this.following = false;
    this.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops the entries tagged `tag` (`*`: all). */
  invalidate(tag: string): void {
    this.generation++;
    if (tag === '*' || tag === '') return this.clear();
    const keys = this.byTag.get(tag);
    if (!keys) return;
    this.byTag.delete(tag);
    for (const k of keys) this.drop(k);
  }

  /**
   * The cached answer for `key`, else `load()`'s, cached under `tagsOf(value)` when it is safe to
   * (`tagsOf` answering null: that value is never cached, say a row not found, whose insertion
   * nobody announces).
   */
  async get<T>(key: string, load: () => Promise<T>, tagsOf: (value: T) => string[] | null): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.following && hit.until > this.nowMs()) return hit.value as T;
    const generation = this.generation;
    this.reads++;
    const value = await load();
    if (this.following && generation === this.generation) {
      const tags = tagsOf(value);
      if (tags) this.put(key, value, tags);
    }
    return value;
  }

  private put(key: string, value: unknown, tags: string[]): void {
    this.drop(key);
    if (this.entries.size >= this.maxEntries) this.clear();
    this.entries.set(key, { value, until: this.nowMs() + this.ttlMs, tags });
    for (const t of tags) {
      let set = this.byTag.get(t);
      if (!set) this.byTag.set(t, (set = new Set()));
      set.add(key);
    }
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    for (const t of e.tags) {
      const set = this.byTag.get(t);
      set?.delete(key);
      if (set?.size === 0) this.byTag.delete(t);
    }
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
    this.byTag.clear();
  }
}

/** A session's user with its active membership (`loadPrincipal`), through the cache. */
export async function principalOf(deps: Pick<Deps, 'db'>, cache: AccessCache, userId: string, membershipId: string | undefined): Promise<SessionPrincipal | null> {
  const p = await cache.get(
    `p:${userId}|${membershipId ?? ''}`,
    () => loadPrincipal(deps.db, userId, membershipId),
    (v) => [`u:${userId}`, ...(v?.memberships ?? []).flatMap((m) => [m.agencyId ? `a:${m.agencyId}` : null, m.subAccountId ? `s:${m.subAccountId}` : null].filter((t): t is string => t !== null))],
  );
  // Each request gets its own copy: nothing a request does to its principal reaches another.
  return p && structuredClone(p);
}
