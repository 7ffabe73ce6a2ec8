import { createLogger, type Logger, type LogLevel } from '../../src/lib/logger';

/** A real (pino) logger whose lines are kept in memory instead of written to stderr. */
export function capturingLogger(level: LogLevel = 'debug'): { logger: Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void written.push(line) });
  return {
    logger,
    text: () => written.join(''),
    lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
