// One definition per background job: its name, a zod schema of its payload and its handler.
// Enqueueing checks the payload against the schema (a caller cannot queue what the handler will
// not read); running parses it again (a payload from an older release or a hand-edited queue fails
// the job visibly instead of running it on wrong data). Definitions live beside their use case;
// jobs/processors.ts lists them all.
import { z } from 'zod';
import type { Deps } from '../deps';
import type { EnqueueOptions, JobContext, JobData, Processors, Queue } from './queue';

export interface JobDefinition<P extends z.ZodType<JobData> = z.ZodType<JobData>> {
  readonly name: string;
  readonly payload: P;
  readonly handle: (deps: Deps, data: z.output<P>, ctx?: JobContext) => Promise<unknown>;
  /**
   * Deadline of one attempt when the worker's default (`JOB_TIMEOUT_MS`, 10 minutes) is too short
   * for this job: past it the attempt fails and is retried (src/queue/queue.ts, WorkOptions).
   */
  readonly timeoutMs?: number;
}

export function defineJob<P extends z.ZodType<JobData>>(def: JobDefinition<P>): JobDefinition<P> {
  return def;
}

/** A job without a payload (the periodic ones). */
export const noPayload = z.object({}).passthrough();

/** Enqueues a job; its payload must match the definition. */
export async function enqueueJob<P extends z.ZodType<JobData>>(queue: Queue, job: JobDefinition<P>, data: z.input<P>, opts?: EnqueueOptions): Promise<void> {
  await queue.enqueue(job.name, job.payload.parse(data) as JobData, opts);
}

/** The queues' processors, by name, from the definitions. */
export function processorsOf(deps: Deps, jobs: readonly JobDefinition[]): Processors {
  const out: Processors = {};
  for (const job of jobs) {
    if (out[job.name]) throw new Error(`two jobs are named ${job.name}`);
    const run = async (data: JobData, ctx?: JobContext) => {
      const parsed = job.payload.safeParse(data);
      if (!parsed.success) throw new Error(`job ${job.name}: payload does not match its schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '_'}: ${i.message}`).join('; ')}`);
      return job.handle(deps, parsed.data, ctx);
    };
    out[job.name] = job.timeoutMs === undefined ? run : Object.assign(run, { timeoutMs: job.timeoutMs });
  }
  return out;
}
