// Readiness: can this process serve? Postgres must answer `select 1` and, when the job queue is
// BullMQ, Redis must answer PING. Each check gives up after a short timeout so that a probe never
// hangs on a dead connection. Liveness (/healthz) asks nothing: a process waiting for its database
// is alive and must not be restarted for it.
import { sql } from 'drizzle-orm';
import type { Deps } from '../deps';

export type CheckState = 'ok' | 'down' | 'not_configured';
export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckState; redis: CheckState };
}

export const READINESS_TIMEOUT_MS = 1000;

export async function checkReadiness(deps: Pick<Deps, 'db' | 'queue'>, timeoutMs = READINESS_TIMEOUT_MS): Promise<Readiness> {
  const [postgres, redis] = await Promise.all([
    answers(() => deps.db.execute(sql`select 1`), timeoutMs),
    deps.queue.kind === 'bullmq' ? answers(() => deps.queue.ping(), timeoutMs) : ('not_configured' as const),
  ]);
  return { ready: postgres === 'ok' && redis !== 'down', checks: { postgres, redis } };
}

async function answers(check: () => Promise<unknown>, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok' as const, () => 'down' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
