import type { Config } from '../config';
import type { Db, Listen, RawSql } from '../db/client';
import type { Clock, TestClock } from './lib/clock';
import type { Logger } from './lib/logger';
import type { Mailer } from './mail/mailer';
import type { RefundHandler } from './payments/refunds';
import type { SettlementHandlers } from './payments/settlement';
import type { Queue } from './queue';

/** What use cases, the web app and the jobs are built from. Tests pass their own. */
export interface Deps {
  config: Config;
  db: Db;
  /** Postgres only: the raw client under `db`, for the usage hot path's prepared statements. */
  rawSql?: RawSql | undefined;
  /** LISTEN/NOTIFY on the database (other processes' changes, e.g. a revoked API key). */
  listen?: Listen | undefined;
  clock: Clock;
  /** Present when the test clock is enabled (never in production). */
  testClock?: TestClock | undefined;
  queue: Queue;
  mailer: Mailer;
  logger: Logger;
  /** What each payment purpose's domain does once a payment settles (src/composition.ts). */
  settlement: SettlementHandlers;
  /** What domains do in a payment refund's transaction (billing: credit notes; src/composition.ts). */
  refundHandlers?: readonly RefundHandler[] | undefined;
}
