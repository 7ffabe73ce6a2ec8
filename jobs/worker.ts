// Worker entry (Procfile "worker"): consumes the BullMQ queue with every processor and keeps the
// repeating scheduler registered. Each attempt of a job has a deadline (JOB_TIMEOUT_MS; longer for
// the sweeps). Stops gracefully: running jobs finish, then connections close.
import { loadConfig } from '../config';
import { installProcessGuards } from '../src/lib/process-guards';
import { startRuntime } from '../src/runtime';
import { createProcessors, TICK_EVERY_MS, TICK_JOB } from './processors';

const config = loadConfig();
const runtime = await startRuntime(config);
const { deps } = runtime;
installProcessGuards(deps.logger, 'worker');
if (deps.queue.kind !== 'bullmq') {
  deps.logger.warn('REDIS_URL is not set: the web process runs jobs in-process, a separate worker is not needed');
}
await deps.queue.work(createProcessors(deps), { concurrency: 4, timeoutMs: config.jobTimeoutMs });
await deps.queue.schedule('tick', TICK_JOB, TICK_EVERY_MS);
deps.logger.info('worker started', { queue: deps.queue.kind, jobTimeoutMs: config.jobTimeoutMs });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    deps.logger.info('worker stopping', { signal });
    await runtime.close();
    process.exit(0);
  });
}
