import type { DbOrTx } from '../../db/client';
import type { Actor } from '../auth/actor';
import { authenticateApiKey, touchApiKeys } from './api-keys.usecases';

/**
 * Bearer authentication without a database round trip per request (the usage API is the hot
 * path). Entries live `ttlMs`; a key revoked through this process is dropped at once, and other
 * processes stop accepting it within `ttlMs` (documented in docs/decisions.md).
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { actor: Actor | null; until: number }>();
  /** Keys used since the last flush: their last_used_at is written in one statement, not per request. */
  private used = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly db: DbOrTx, private readonly ttlMs = 5000, private readonly maxEntries = 50_000) {
    this.timer = setInterval(() => void this.flushUsage().catch(() => {}), 30_000);
    this.timer.unref();
  }

  async flushUsage(): Promise<void> {
    const ids = [...this.used];
    this.used = new Set();
    await touchApiKeys(this.db, ids, new Date());
  }

  async authenticate(secret: string): Promise<Actor | null> {
    const actor = await this.lookup(secret);
    if (actor) this.used.add(actor.id);
    return actor;
  }

  private async lookup(secret: string): Promise<Actor | null> {
    const now = Date.now();
    const hit = this.entries.get(secret);
    if (hit && hit.until > now) return hit.actor;
    const actor = await authenticateApiKey(this.db, secret, new Date(), { touch: false });
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    // Unknown keys are cached briefly too, so a flood of bad keys cannot hammer the database.
    this.entries.set(secret, { actor, until: now + (actor ? this.ttlMs : 1000) });
    return actor;
  }

  invalidateKey(keyId: string): void {
    for (const [secret, e] of this.entries) if (e.actor?.id === keyId) this.entries.delete(secret);
  }
}
