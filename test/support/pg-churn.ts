// A child process for test/jobs/connection-loss.test.ts: many small queries and transactions on
// the app's database handle while the test terminates this process's connections. It reports
// what happened to every query it started. Run: node --import tsx test/support/pg-churn.ts <url> <ms>
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../db/client';
import { createLogger } from '../../src/lib/logger';
import { installProcessGuards } from '../../src/lib/process-guards';

const [url, ms] = process.argv.slice(2);
const database = await openDatabase({ databaseUrl: url!, poolSize: 8 });
const counts = { ok: 0, failed: 0, started: 0, okAfterChurn: 0, unsettled: 0, unhandledRejections: 0 };
// As the web and worker processes do (src/lib/process-guards.ts): the driver can reject a promise
// nobody holds (a transaction's own statement on a connection that closed); it is logged and the
// process goes on. Counted here.
const base = createLogger('error');
installProcessGuards({ ...base, error: (msg: string, data?: Record<string, unknown>) => {
  if (msg.startsWith('unhandled promise rejection')) counts.unhandledRejections++;
  else base.error(msg, data);
} } as typeof base, 'churn');
const end = Date.now() + Number(ms);
let churning = true;

async function loop(i: number) {
  while (Date.now() < end + 3000) {
    counts.started++;
    counts.unsettled++;
    try {
      if (i % 2) await database.db.execute(sql`select ${i}::int as n`);
      else await database.db.transaction(async (tx) => { await tx.execute(sql`select 1`); await tx.execute(sql`select 2`); });
      counts.ok++;
      if (!churning) counts.okAfterChurn++;
    } catch {
      counts.failed++;
    } finally {
      counts.unsettled--;
    }
    await new Promise((r) => setImmediate(r));
  }
}
setTimeout(() => (churning = false), Number(ms) + 1000);
const settled = Promise.all(Array.from({ length: 32 }, (_, i) => loop(i)));
// A query that never settles would hang here: report it (and how many) instead of waiting forever.
const hung = await Promise.race([settled.then(() => false), new Promise((r) => setTimeout(() => r(true), Number(ms) + 20_000))]);
process.stdout.write(JSON.stringify({ ...counts, hung }) + '\n');
await database.close().catch(() => {});
process.exit(0);
