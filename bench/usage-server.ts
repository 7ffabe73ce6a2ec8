// src/server.ts with the usage recorder's batches in flight taken from BENCH_RECORDER_IN_FLIGHT
// (createApp builds its recorder with the default). An experiment knob for bench/usage.ts only;
// without that variable bench/usage.ts starts src/server.ts itself.
import { UsageRecorder } from '../src/usage/usage-recorder';

UsageRecorder.defaultMaxInFlight = Number(process.env.BENCH_RECORDER_IN_FLIGHT ?? UsageRecorder.defaultMaxInFlight);
await import('../src/server');
