import { Queue as BullQueue, Worker, createNodeRedisClient } from 'bullmq';
import { createClient } from 'redis';
import type { Logger } from '../lib/logger';
import { DEFAULT_JOB_TIMEOUT_MS, runWithDeadline, type EnqueueOptions, type JobData, type Processors, type Queue, type RunningJob, type WorkOptions } from './queue';

const QUEUE_NAME = 'kontor';
/** What the readiness probe asks of the queue's Redis client. */
interface Pingable {
  readonly isReady: boolean;
  ping(): Promise<unknown>;
}

/** BullMQ on Redis, through the node-redis client (the `redis` package). */
export class BullmqQueue implements Queue {
  readonly kind = 'bullmq' as const;
  private readonly queue: BullQueue;
  private worker: Worker | undefined;
  /** The attempts running in this process, by a sequence number of ours. */
  private readonly inProgress = new Map<number, { name: string; id: string | undefined; attempt: number; since: number }>();
  private sequence = 0;
  /** The queue's own Redis client, asked PING by the readiness probe. */
  private readonly redis: Pingable;

  constructor(
    private readonly redisUrl: string,
    private readonly logger: Logger,
    private readonly prefix = 'kontor',
    /** First retry's delay (doubles each time); tests shorten it. */
    private readonly retryDelayMs = 1000,
  ) {
    const client = this.client();
    this.redis = client;
    this.queue = new BullQueue(QUEUE_NAME, { connection: createNodeRedisClient(client), prefix });
    // An EventEmitter's 'error' without a listener is thrown: a Redis hiccup would end the process.
    this.queue.on('error', (err) => this.logger.error('job queue error (Redis)', { error: String(err) }));
  }

  private client() {
    const client = createClient({ url: this.redisUrl });
    // node-redis reconnects by itself; its 'error' events must be listened to or they are thrown.
    client.on('error', (err: unknown) => this.logger.warn('Redis connection error (reconnecting)', { error: String(err) }));
    return client;
  }

  async ping(): Promise<void> {
    // While disconnected node-redis would queue the command until it reconnects: answer now.
    if (!this.redis.isReady) throw new Error('Redis is not connected');
    await this.redis.ping();
  }

  async enqueue(name: string, data: JobData, opts: EnqueueOptions = {}): Promise<void> {
    // BullMQ reserves ':' in custom ids (its key separator).
    const jobId = opts.jobId?.replaceAll(':', '.');
    if (jobId) {
      // BullMQ keeps a failed job (removeOnFail: 7 days) and ignores an add with its id: the
      // tick's re-dispatch of a pending email would never run. A failed job is replaced.
      const existing = await this.queue.getJob(jobId);
      if (existing && (await existing.isFailed())) await existing.remove().catch(() => {}); // another process replaced it first
    }
    await this.queue.add(name, data, {
      ...(jobId ? { jobId } : {}),
      delay: opts.delayMs ?? 0,
      attempts: opts.attempts ?? 5,
      backoff: { type: 'exponential', delay: this.retryDelayMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async work(processors: Processors, opts: WorkOptions = {}): Promise<void> {
    const defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    this.worker = new Worker(
      QUEUE_NAME,
      async (job) => {
        const processor = processors[job.name];
        if (!processor) throw new Error(`no processor for job ${job.name}`);
        const attempt = { name: job.name, id: job.id, attempt: job.attemptsMade + 1 };
        const key = ++this.sequence;
        this.inProgress.set(key, { ...attempt, since: Date.now() });
        try {
          // BullMQ renews the job's lock for as long as this promise is pending: without a
          // deadline a processor that never settles would keep its job active forever.
          return await runWithDeadline(attempt, processor, job.data as JobData, this.logger.child({ job: job.name, jobId: job.id, attempt: attempt.attempt }), processor.timeoutMs ?? defaultTimeoutMs);
        } finally {
          this.inProgress.delete(key);
        }
      },
      { connection: createNodeRedisClient(this.client()), prefix: this.prefix, concurrency: opts.concurrency ?? 4 },
    );
    this.worker.on('error', (err) => this.logger.error('job worker error', { error: String(err) }));
    // By now attemptsMade counts the attempt that failed.
    this.worker.on('failed', (job, err) =>
      this.logger
        .child({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade })
        .error('job failed', { err, willRetry: job ? job.attemptsMade < (job.opts.attempts ?? 1) : false }),
    );
    await this.worker.waitUntilReady();
  }

  running(): RunningJob[] {
    const now = Date.now();
    return [...this.inProgress.values()].map(({ since, ...job }) => ({ ...job, runningMs: now - since }));
  }

  async schedule(id: string, name: string, everyMs: number, data: JobData = {}): Promise<void> {
    await this.queue.upsertJobScheduler(id, { every: everyMs }, { name, data });
  }

  async drain(): Promise<void> {
    // Polls BullMQ's own counts: idle means nothing waiting, delayed or active.
    for (;;) {
      const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(c).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  /** Tests: remove everything under this prefix. */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }
}
