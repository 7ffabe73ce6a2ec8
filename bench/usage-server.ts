// src/server.ts with the usage recorder's `concurrency` option taken from
// BENCH_RECORDER_CONCURRENCY (createApp builds its recorder with the default, 1). An experiment
// knob for bench/usage.ts only; without that variable bench/usage.ts starts src/server.ts itself.
import { UsageRecorder } from '../src/usage/usage-recorder';

const concurrency = Number(process.env.BENCH_RECORDER_CONCURRENCY ?? 1);
const record = UsageRecorder.prototype.record;
UsageRecorder.prototype.record = function (this: UsageRecorder, ...args: Parameters<UsageRecorder['record']>) {
  (this as unknown as { opts: { concurrency?: number } }).opts.concurrency = concurrency;
  return record.apply(this, args);
};
await import('../src/server');
