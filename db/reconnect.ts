// Start-up work that must not die of a dropped connection. A process starting while Postgres
// restarts, or while an operator (or the soak test) terminates backends, sees its first queries
// fail with a lost connection; jobs retry through the queue, but a process's own start-up steps
// have nobody to retry them. They go through `untilConnected`: a lost or refused connection is
// retried with back-off until a deadline, any other error (a bad migration, a wrong password)
// fails at once, as it should.

/** SQLSTATE classes and codes that mean "the connection went away", not "the statement is wrong". */
const LOST_SQLSTATE = /^(08|57P0[123])/;
/** Codes postgres.js and Node's sockets give a connection that closed, failed or timed out. */
const LOST_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

/** True when `err` (or what it wraps: drizzle puts the driver's error in `cause`) is a lost connection. */
export function isLostConnection(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (LOST_CODES.has(code) || LOST_SQLSTATE.test(code))) return true;
  }
  return false;
}

export interface UntilConnectedOptions {
  /** Give up (rethrow the last error) after this long. */
  deadlineMs?: number;
  /**
   * An attempt that has not settled after this long counts as lost and is retried: postgres.js
   * can leave a query on a terminated connection unsettled for good (docs/operations.md). Only
   * for idempotent work; off by default.
   */
  attemptTimeoutMs?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export async function untilConnected<T>(work: () => Promise<T>, opts: UntilConnectedOptions = {}): Promise<T> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (opts.deadlineMs ?? 60_000);
  let delay = opts.firstDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await (opts.attemptTimeoutMs ? withinMs(work(), opts.attemptTimeoutMs) : work());
    } catch (err) {
      if (!isLostConnection(err) || now() + delay > deadline) throw err;
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5_000);
    }
  }
}

/** `p`, or a lost-connection error once `ms` have passed (the work itself is abandoned, not cancelled). */
function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer from the database within ${ms} ms`), { code: 'CONNECT_TIMEOUT' })), ms);
  });
  p.catch(() => {}); // an abandoned attempt that fails later is not an unhandled rejection
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
