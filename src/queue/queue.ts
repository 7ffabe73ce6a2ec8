/**
 * The job layer: BullMQ on Redis when REDIS_URL is set, an in-process runner otherwise. Both
 * run the same processors, so a job behaves the same in the demo, in tests and in production.
 * Processors must be idempotent: a job may run again after a crash or a retry.
 */
import type { Logger } from '../lib/logger';

export type JobData = Record<string, unknown>;
/** What both queues give a processor beside its data: a logger whose lines carry the job's name, id and attempt. */
export interface JobContext {
  log: Logger;
  /**
   * Aborted when the attempt's deadline passes (see `Processor.timeoutMs`). The queue has then
   * failed the attempt and will retry it; a long loop may check it to stop early instead of
   * running on beside the retry.
   */
  signal?: AbortSignal;
}
/** `ctx` is absent when a processor is called directly (the CLI's `job run`, tests). */
export interface Processor {
  (data: JobData, ctx?: JobContext): Promise<unknown>;
  /**
   * This job's deadline per attempt, in place of the worker's default (`JOB_TIMEOUT_MS`): for
   * jobs that legitimately run long, such as the monthly sweeps over every account.
   */
  readonly timeoutMs?: number;
}
export type Processors = Record<string, Processor>;

export interface WorkOptions {
  concurrency?: number;
  /**
   * Deadline of one attempt of a job without its own `timeoutMs` (config `JOB_TIMEOUT_MS`).
   * Past it the attempt fails with a `JobTimeoutError` and is retried like any failure, so a job
   * whose work never settles (a query lost with its connection) neither stays running forever
   * nor holds up the worker's shutdown. The abandoned work is not stopped: processors are
   * idempotent, and `ctx.signal` tells it the attempt is over.
   */
  timeoutMs?: number;
}

/** The default of `WorkOptions.timeoutMs` (and of `JOB_TIMEOUT_MS` in config/index.ts). */
export const DEFAULT_JOB_TIMEOUT_MS = 10 * 60_000;

/** A job in progress on this process (the worker logs them when its shutdown deadline passes). */
export interface RunningJob {
  name: string;
  id: string | undefined;
  attempt: number;
  /** How long it has been running. */
  runningMs: number;
}

export interface EnqueueOptions {
  /**
   * Same jobId = same job: enqueueing it again while it is waiting, delayed or running does
   * nothing (on BullMQ also for a day after it completed). A job that failed for good (its retries used up) is replaced: enqueued again, it runs
   * again. That is how the tick re-dispatches what is still pending once a fault is gone.
   */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
}

export interface Queue {
  readonly kind: 'bullmq' | 'inline';
  enqueue(name: string, data: JobData, opts?: EnqueueOptions): Promise<void>;
  /** Starts consuming with these processors (the worker role). */
  work(processors: Processors, opts?: WorkOptions): Promise<void>;
  /** The jobs this process is running now. */
  running(): RunningJob[];
  /** Registers a repeating job (idempotent: one schedule per id however many processes call it). */
  schedule(id: string, name: string, everyMs: number, data?: JobData): Promise<void>;
  /** Resolves when the queue's backend answers (Redis PING); the in-process runner always does. */
  ping(): Promise<void>;
  /** Waits until no job is waiting or running (tests, CLI). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/**
 * Runs one attempt of a job against its deadline: settles as the processor does, or rejects with
 * a JobTimeoutError naming the job once `timeoutMs` has passed (and aborts `ctx.signal`).
 */
export async function runWithDeadline(
  job: { name: string; id: string | undefined; attempt: number },
  processor: Processor,
  data: JobData,
  log: Logger,
  timeoutMs: number,
): Promise<unknown> {
  const controller = new AbortController();
  // A processor that throws synchronously fails the attempt like one that rejects.
  const work = Promise.resolve().then(() => processor(data, { log, signal: controller.signal }));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new JobTimeoutError(`job ${job.name} (id ${job.id ?? '-'}, attempt ${job.attempt}) did not finish within ${timeoutMs} ms: attempt failed, its work abandoned`);
      controller.abort(err);
      reject(err);
      // Whether the abandoned work was stuck for good or only slow: said if it ever settles.
      const passed = Date.now();
      work.then(
        () => log.warn('job attempt finished after its deadline (it was failed and retried)', { lateByMs: Date.now() - passed }),
        (e: unknown) => log.warn('job attempt failed after its deadline (it was failed and retried)', { lateByMs: Date.now() - passed, err: e }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retry n waits base x 2^(n-1), at most a minute (BullMQ's exponential back-off, same base). */
export const backoffMs = (attempt: number, baseMs = 1000) => Math.min(60_000, baseMs * 2 ** (attempt - 1));
