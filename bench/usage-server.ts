// src/server.ts with the usage recorder's `lanes` option taken from BENCH_RECORDER_LANES
// (createApp builds its recorder with the default). An experiment knob for bench/usage.ts only;
// without that variable bench/usage.ts starts src/server.ts itself.
import { UsageRecorder } from '../src/usage/usage-recorder';

const lanes = Number(process.env.BENCH_RECORDER_LANES ?? 4);
const record = UsageRecorder.prototype.record;
let patched = false;
UsageRecorder.prototype.record = function (this: UsageRecorder, ...args: Parameters<UsageRecorder['record']>) {
  if (!patched) {
    patched = true;
    const self = this as unknown as { lanes: { pending: unknown[]; busy: boolean }[] };
    while (self.lanes.length < lanes) self.lanes.push({ pending: [], busy: false });
    self.lanes.length = lanes;
  }
  return record.apply(this, args);
};
await import('../src/server');
