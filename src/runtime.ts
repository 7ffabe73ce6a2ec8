// The composition root: builds the dependencies from the configuration. server.ts, the worker
// and the CLI all start here; tests build their own Deps.
import path from 'node:path';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db/client';
import { runMigrations } from '../db/migrate';
import { untilConnected } from '../db/reconnect';
import { ensurePlatform } from './bootstrap/platform';
import { refundHandlers, settlementHandlers } from './composition';
import { loadTestClock } from './clock/test-clock.usecases';
import type { Deps } from './deps';
import { systemClock, TestClock } from './lib/clock';
import { createLogger, type Logger } from './lib/logger';
import type { ShutdownStep } from './lib/shutdown';
import { createMailer } from './mail/mailer';
import { createQueue } from './queue';

export interface Runtime {
  deps: Deps;
  database: Database;
  /** What close() does, step by step (a process's stop names the step it is waiting for). */
  closeSteps: ShutdownStep[];
  close(): Promise<void>;
}

export async function startRuntime(
  config: Config,
  opts: { migrate?: boolean; bootstrap?: boolean; logger?: Logger } = {},
): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: path.join(config.dataDir, 'pglite'),
    poolSize: config.databasePoolSize,
  });
  // Start-up queries survive a connection dropped under them (a database restarting, backends
  // terminated): retried for up to a minute, other errors fail at once (db/reconnect.ts).
  const onRetry = (err: unknown, attempt: number, delayMs: number) =>
    logger.warn('database connection lost during start-up: retrying', { attempt, delayMs, error: String(err) });
  // Idempotent steps may also be abandoned and retried when they do not settle at all.
  const retrying = { onRetry, attemptTimeoutMs: 15_000 };
  // PGlite is migrated at start-up; Postgres by the release step (npm run kontor -- migrate).
  if (opts.migrate ?? database.driver === 'pglite') await untilConnected(() => runMigrations(database), { onRetry });
  if (opts.bootstrap ?? true) await untilConnected(() => ensurePlatform(database.db), retrying);

  let testClock: TestClock | undefined;
  let clockTimer: NodeJS.Timeout | undefined;
  if (config.testClock) {
    testClock = new TestClock();
    await untilConnected(() => loadTestClock(database.db, testClock!), retrying);
    // Other processes may move the clock: follow it (one tiny query a second).
    clockTimer = setInterval(() => void loadTestClock(database.db, testClock!).catch(() => {}), 1000);
    clockTimer.unref();
  }
  const deps: Deps = {
    config,
    db: database.db,
    rawSql: database.raw,
    listen: database.listen,
    clock: testClock ?? systemClock,
    testClock,
    queue: createQueue({ redisUrl: config.redisUrl, logger, prefix: config.queuePrefix }),
    mailer: createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, mailDir: path.join(config.dataDir, 'mail') }),
    logger,
    settlement: settlementHandlers,
    refundHandlers,
  };
  const closeSteps: ShutdownStep[] = [
    {
      name: 'job queue (running jobs finish)',
      run: async () => {
        if (clockTimer) clearInterval(clockTimer);
        await deps.queue.close();
      },
    },
    { name: 'mailer', run: async () => deps.mailer.close() },
    { name: 'database', run: () => database.close() },
  ];
  return {
    deps,
    database,
    closeSteps,
    async close() {
      for (const step of closeSteps) await step.run();
    },
  };
}
