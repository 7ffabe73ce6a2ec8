// Test-side environment: the only place tests read process.env (through loadConfig).
import { loadConfig, type Config } from '../../config';

export const DATABASE_URL = process.env.DATABASE_URL || undefined;
export const REDIS_URL = process.env.REDIS_URL || undefined;
export const IN_CI = process.env.CI === 'true';
/** A property test's seed to replay (REPORTS_SEED), else a fresh one printed in its failures. */
export const REPORTS_SEED = process.env.REPORTS_SEED ? Number(process.env.REPORTS_SEED) : undefined;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PUBLIC_URL: 'http://kontor.test', ...overrides });
}

/**
 * A suite that needs something a fresh machine may lack runs when it is there and is otherwise
 * reported as pending with the reason. In CI everything must be there: a missing piece fails.
 */
export function requireOrSkip(ctx: Mocha.Context, available: boolean, reason: string): void {
  if (available) return;
  if (IN_CI) throw new Error(`CI must provide this: ${reason}`);
  // The reason in the pending line of the report.
  const test = ctx.currentTest ?? ctx.test;
  if (test && !test.title.includes('(skipped:')) test.title += ` (skipped: needs ${reason})`;
  ctx.skip();
}
export const PATH = process.env.PATH;
