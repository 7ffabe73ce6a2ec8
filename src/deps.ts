import type { Config } from '../config';
import type { Db } from '../db/client';
import type { Clock, TestClock } from './lib/clock';
import type { Logger } from './lib/logger';
import type { Mailer } from './mail/mailer';
import type { Queue } from './queue';

/** What use cases, the web app and the jobs are built from. Tests pass their own. */
export interface Deps {
  config: Config;
  db: Db;
  clock: Clock;
  /** Present when the test clock is enabled (never in production). */
  testClock?: TestClock | undefined;
  queue: Queue;
  mailer: Mailer;
  logger: Logger;
}
