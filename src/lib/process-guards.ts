// What a long-running process (web, worker) does with errors nobody caught. A promise rejected
// without a handler is a failed operation whose caller let go (a lost database connection, say):
// logged, and the process goes on. An uncaught exception leaves the process in an unknown state:
// logged, then the process exits non-zero so that its supervisor (the Procfile's process manager,
// systemd's Restart=, a container restart policy: docs/operations.md) starts a fresh one.
import type { Logger } from './logger';

const describe = (err: unknown) => (err instanceof Error ? { error: err.message, stack: err.stack } : { error: String(err) });

export function installProcessGuards(logger: Logger, role: string, exit: (code: number) => void = (c) => process.exit(c)): void {
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled promise rejection (the process goes on)', { role, ...describe(reason) });
  });
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception: exiting so that the supervisor restarts this process', { role, ...describe(err) });
    // Let stderr flush before leaving.
    setTimeout(() => exit(1), 50).unref();
    process.exitCode = 1;
  });
}
