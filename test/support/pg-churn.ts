// A child process for test/jobs/connection-loss.test.ts: many small queries and transactions on
// the app's database handle while the test terminates this process's connections. It reports
// what happened to every query it started. Run: node --import tsx test/support/pg-churn.ts <url> <ms>
//
// Timeline, from the moment it prints "ready" (connected; the test starts terminating then, so a
// slow start on a loaded machine does not shift the windows): queries for <ms> while the test
// terminates connections, then 3 s more (the first second still counted as churn), then it waits
// for the queries in flight. postgres.js waits before reconnecting, longer after each failed
// connection (its backoff: (0.5-1) x min(3^retries / 100 s, 20 s)), so a query started at the
// end can take about 20 s to settle (seen: up to 20.5 s under load); one not settled 25 s after the
// last one started is counted as unsettled (the known gap, docs/operations.md: those never settle).
// The whole run is therefore bounded: <ms> + 3 s + 25 s, then at most 5 s to close.
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../db/client';
import { createLogger } from '../../src/lib/logger';
import { installProcessGuards } from '../../src/lib/process-guards';

const CALM_MS = 3000;
const SETTLE_GRACE_MS = 25_000;

const [url, ms] = process.argv.slice(2);
const churnMs = Number(ms);
const database = await openDatabase({ databaseUrl: url!, poolSize: 8 });
const counts = { ok: 0, failed: 0, started: 0, okAfterChurn: 0, unsettled: 0, unhandledRejections: 0, slowestMs: 0 };
// As the web and worker processes do (src/lib/process-guards.ts): the driver can reject a promise
// nobody holds (a transaction's own statement on a connection that closed); it is logged and the
// process goes on. Counted here.
const base = createLogger('error');
installProcessGuards({ ...base, error: (msg: string, data?: Record<string, unknown>) => {
  if (msg.startsWith('unhandled promise rejection')) counts.unhandledRejections++;
  else base.error(msg, data);
} } as typeof base, 'churn');
await database.db.execute(sql`select 1`);
process.stdout.write('ready\n');
const end = Date.now() + churnMs;
let churning = true;

async function loop(i: number) {
  while (Date.now() < end + CALM_MS) {
    counts.started++;
    counts.unsettled++;
    const started = Date.now();
    try {
      if (i % 2) await database.db.execute(sql`select ${i}::int as n`);
      else await database.db.transaction(async (tx) => { await tx.execute(sql`select 1`); await tx.execute(sql`select 2`); });
      counts.ok++;
      if (!churning) counts.okAfterChurn++;
    } catch {
      counts.failed++;
    } finally {
      counts.unsettled--;
      counts.slowestMs = Math.max(counts.slowestMs, Date.now() - started);
    }
    await new Promise((r) => setImmediate(r));
  }
}
setTimeout(() => (churning = false), churnMs + 1000);
const settled = Promise.all(Array.from({ length: 32 }, (_, i) => loop(i)));
// A query that never settles would hang here: report it (and how many) instead of waiting forever.
const hung = await Promise.race([settled.then(() => false), new Promise((r) => setTimeout(() => r(true), churnMs + CALM_MS + SETTLE_GRACE_MS))]);
process.stdout.write(JSON.stringify({ ...counts, hung }) + '\n');
await database.close().catch(() => {});
process.exit(0);
