import type { Logger } from '../lib/logger';
import { backoffMs, DEFAULT_JOB_TIMEOUT_MS, runWithDeadline, type EnqueueOptions, type JobData, type Processors, type Queue, type RunningJob, type WorkOptions } from './queue';

interface PendingJob {
  /** The jobId, or a number of this process's for jobs enqueued without one (for the logs). */
  id: string;
  name: string;
  data: JobData;
  attempt: number;
  attempts: number;
  jobId: string | undefined;
}

/** Runs jobs in this process, with the same retry and jobId semantics as the BullMQ queue. */
export class InlineQueue implements Queue {
  readonly kind = 'inline' as const;
  private processors: Processors | undefined;
  private readonly waiting: PendingJob[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly liveIds = new Set<string>();
  private readonly active = new Set<{ job: PendingJob; since: number }>();
  private concurrency = 1;
  private timeoutMs = DEFAULT_JOB_TIMEOUT_MS;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private sequence = 0;

  constructor(
    private readonly logger: Logger,
    /** First retry's delay (doubles each time); tests shorten it. */
    private readonly retryDelayMs = 1000,
  ) {}

  async enqueue(name: string, data: JobData, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) return;
    if (opts.jobId) {
      if (this.liveIds.has(opts.jobId)) return;
      this.liveIds.add(opts.jobId);
    }
    const job: PendingJob = { id: opts.jobId ?? `inline-${++this.sequence}`, name, data, attempt: 1, attempts: opts.attempts ?? 5, jobId: opts.jobId };
    this.later(job, opts.delayMs ?? 0);
  }

  async work(processors: Processors, opts: WorkOptions = {}): Promise<void> {
    this.processors = processors;
    this.concurrency = opts.concurrency ?? 2;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    this.pump();
  }

  running(): RunningJob[] {
    const now = Date.now();
    return [...this.active].map(({ job, since }) => ({ name: job.name, id: job.id, attempt: job.attempt, runningMs: now - since }));
  }

  async schedule(id: string, name: string, everyMs: number, data: JobData = {}): Promise<void> {
    const timer = setInterval(() => void this.enqueue(name, data, { jobId: `${id}:${Date.now()}` }), everyMs);
    timer.unref();
    this.timers.add(timer);
  }

  async ping(): Promise<void> {}

  async drain(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.delayed = 0; // the cleared timers will never fire
    this.waiting.length = 0;
    await this.drain();
  }

  private delayed = 0;

  private isIdle() {
    return this.active.size === 0 && this.waiting.length === 0 && this.delayed === 0;
  }

  private later(job: PendingJob, delayMs: number) {
    if (delayMs <= 0) {
      this.waiting.push(job);
      queueMicrotask(() => this.pump());
      return;
    }
    this.delayed++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.delayed--;
      if (this.closed) return this.settle();
      this.waiting.push(job);
      this.pump();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private pump() {
    if (!this.processors) return;
    while (this.active.size < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const entry = { job, since: Date.now() };
      this.active.add(entry);
      void this.run(job).finally(() => {
        this.active.delete(entry);
        this.pump();
        this.settle();
      });
    }
  }

  private settle() {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async run(job: PendingJob) {
    const processor = this.processors?.[job.name];
    const log = this.logger.child({ job: job.name, jobId: job.id, attempt: job.attempt });
    try {
      if (!processor) throw new Error(`no processor for job ${job.name}`);
      await runWithDeadline(job, processor, job.data, log, processor.timeoutMs ?? this.timeoutMs);
      if (job.jobId) this.liveIds.delete(job.jobId);
    } catch (err) {
      log.error('job failed', { err, willRetry: job.attempt < job.attempts && !this.closed });
      if (job.attempt < job.attempts && !this.closed) {
        this.later({ ...job, attempt: job.attempt + 1 }, backoffMs(job.attempt, this.retryDelayMs));
      } else if (job.jobId) {
        this.liveIds.delete(job.jobId);
      }
    }
  }
}
