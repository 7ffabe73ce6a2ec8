// Runs pgbench with a custom script and returns its throughput and mean latency.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface PgbenchResult {
  tps: number;
  latencyMs: number;
  failed: number;
}

export async function pgbench(databaseUrl: string, script: string, opts: { clients: number; threads: number; seconds: number; vars?: Record<string, string | number> }): Promise<PgbenchResult> {
  const vars = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
  const args = ['-n', '-c', String(opts.clients), '-j', String(opts.threads), '-T', String(opts.seconds), '-f', script, ...vars, databaseUrl];
  const { stdout } = await promisify(execFile)('pgbench', args, { maxBuffer: 16 * 1024 * 1024 });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  return {
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyMs: num(/latency average = ([\d.]+) ms/),
    failed: num(/number of failed transactions: (\d+)/) || 0,
  };
}
