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
}
/** `ctx` is absent when a processor is called directly (the CLI's `job run`, tests). */
export type Processor = (data: JobData, ctx?: JobContext) => Promise<unknown>;
export type Processors = Record<string, Processor>;

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
  work(processors: Processors, opts?: { concurrency?: number }): Promise<void>;
  /** Registers a repeating job (idempotent: one schedule per id however many processes call it). */
  schedule(id: string, name: string, everyMs: number, data?: JobData): Promise<void>;
  /** Resolves when the queue's backend answers (Redis PING); the in-process runner always does. */
  ping(): Promise<void>;
  /** Waits until no job is waiting or running (tests, CLI). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Retry n waits base x 2^(n-1), at most a minute (BullMQ's exponential back-off, same base). */
export const backoffMs = (attempt: number, baseMs = 1000) => Math.min(60_000, baseMs * 2 ** (attempt - 1));
