// How long an API caller's Idempotency-Key is remembered (src/web/api/idempotency.ts), and the
// tick's clean-up of older ones.
import { lt } from 'drizzle-orm';
import { idempotencyKeys } from '../../db/schema';
import type { Deps } from '../deps';

export const IDEMPOTENCY_KEEP_MS = 24 * 3600_000;

/** Forgets keys older than 24 hours (the tick). */
export async function pruneIdempotencyKeys(deps: Pick<Deps, 'db' | 'clock'>): Promise<number> {
  const rows = await deps.db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, new Date(deps.clock.now().getTime() - IDEMPOTENCY_KEEP_MS))).returning({ key: idempotencyKeys.key });
  return rows.length;
}
