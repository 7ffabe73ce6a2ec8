// Worker entry (Procfile "worker"): consumes the BullMQ queue with every processor and keeps the
// repeating scheduler registered. Each attempt of a job has a deadline (JOB_TIMEOUT_MS; longer for
// the sweeps). Stops gracefully: running jobs finish, then connections close; if that takes more
// than SHUTDOWN_TIMEOUT_MS it logs the jobs still running and exits 1 (src/lib/shutdown.ts).
import { loadConfig } from '../config';
import { createLogger } from '../src/lib/logger';
import { installProcessGuards } from '../src/lib/process-guards';
import { stopOnSignals } from '../src/lib/shutdown';
import { startRuntime } from '../src/runtime';
import { WEBHOOK_DELIVERY_EVERY_MS, WEBHOOK_DELIVERY_JOB } from '../src/webhooks/deliver';
import { PUSH_SWEEP_EVERY_MS, PUSH_SWEEP_JOB } from '../src/notifications/push';
import { createProcessors, TICK_EVERY_MS, TICK_JOB } from './processors';

const config = loadConfig();
// Guards first: a connection dropped during start-up can reject a statement nobody awaits.
const logger = createLogger(config.logLevel);
installProcessGuards(logger, 'worker');
const runtime = await startRuntime(config, { logger });
const { deps } = runtime;
if (deps.queue.kind !== 'bullmq') {
  deps.logger.warn('REDIS_URL is not set: the web process runs jobs in-process, a separate worker is not needed');
}
await deps.queue.work(createProcessors(deps), { concurrency: 4, timeoutMs: config.jobTimeoutMs });
await deps.queue.schedule('tick', TICK_JOB, TICK_EVERY_MS);
await deps.queue.schedule('webhooks', WEBHOOK_DELIVERY_JOB, WEBHOOK_DELIVERY_EVERY_MS);
// Mobile push only with VAPID keys: otherwise there is nothing to send (src/notifications/push.ts).
if (deps.config.vapid) await deps.queue.schedule('push', PUSH_SWEEP_JOB, PUSH_SWEEP_EVERY_MS);
deps.logger.info('worker started', { queue: deps.queue.kind, jobTimeoutMs: config.jobTimeoutMs });

stopOnSignals({
  logger: deps.logger,
  role: 'worker',
  timeoutMs: config.shutdownTimeoutMs,
  steps: runtime.closeSteps,
  inProgress: () => ({ runningJobs: deps.queue.running() }),
});
