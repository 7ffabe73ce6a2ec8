import type { Logger } from '../lib/logger';
import { BullmqQueue } from './bullmq-queue';
import { InlineQueue } from './inline-queue';
import type { Queue } from './queue';

export * from './queue';
export { InlineQueue, BullmqQueue };

export function createQueue(opts: { redisUrl?: string | undefined; logger: Logger; prefix?: string }): Queue {
  return opts.redisUrl ? new BullmqQueue(opts.redisUrl, opts.logger, opts.prefix) : new InlineQueue(opts.logger);
}
