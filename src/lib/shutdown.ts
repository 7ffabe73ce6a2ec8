// How a long-running process (web, worker) stops on SIGTERM/SIGINT: its steps run in order
// (stop taking work, let the running work finish, close connections), then it exits 0. A step
// that fails is logged and the next one still runs; the exit code is then 1. The whole stop has
// a deadline (SHUTDOWN_TIMEOUT_MS): past it the process logs the step it was waiting for and
// what was still running, and exits 1. Stopping never hangs, and a supervisor sees a stop that
// was not clean (docs/operations.md).
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

export interface ShutdownOptions {
  logger: Logger;
  role: string;
  timeoutMs: number;
  steps: ShutdownStep[];
  /** What is still in progress, logged when the deadline passes (running jobs, open connections). */
  inProgress?: () => Record<string, unknown>;
  exit?: (code: number) => void;
}

/** Returns the stop itself (for tests): the first call stops the process, later ones are ignored. */
export function gracefulShutdown(opts: ShutdownOptions): (signal: string) => Promise<void> {
  const { logger, role, timeoutMs, steps } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  return async (signal) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info(`${role} stopping`, { signal, timeoutMs });
    let current = 0;
    let done = false;
    // Not unref'd: a step waiting on a promise that nothing will ever settle (no socket, no
    // timer left) would otherwise let the process end with code 0 as if the stop were clean.
    const deadline = setTimeout(() => {
      if (done) return;
      done = true;
      let still: Record<string, unknown>;
      try {
        still = opts.inProgress?.() ?? {};
      } catch (err) {
        still = { inProgressError: String(err) };
      }
      logger.error(`${role} did not stop within ${timeoutMs} ms: exiting with code 1`, {
        role, signal, waitingFor: steps[current]?.name, stepsLeft: steps.slice(current + 1).map((s) => s.name), ...still,
      });
      exit(1);
    }, timeoutMs);
    let failed = false;
    for (; current < steps.length && !done; current++) {
      const step = steps[current]!;
      try {
        await step.run();
      } catch (err) {
        failed = true;
        logger.error(`${role} stop: ${step.name} failed`, { role, err });
      }
    }
    if (done) return; // the deadline passed meanwhile and exited
    done = true;
    clearTimeout(deadline);
    logger.info(`${role} stopped`, { signal, ms: Date.now() - started, clean: !failed });
    exit(failed ? 1 : 0);
  };
}

/** Stops the process with `gracefulShutdown` on SIGTERM and SIGINT (a second signal changes nothing). */
export function stopOnSignals(opts: ShutdownOptions): void {
  const stop = gracefulShutdown(opts);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));
}
