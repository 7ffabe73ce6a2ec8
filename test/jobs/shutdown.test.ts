// How the web and worker processes stop (src/lib/shutdown.ts): in order, cleanly with exit 0, and
// never hanging: past the deadline they log what was still running and exit 1.
import { expect } from 'chai';
import { gracefulShutdown, type ShutdownStep } from '../../src/lib/shutdown';
import { capturingLogger } from '../support/logs';

function exitRecorder() {
  let resolve: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolve = r));
  return { exit: (code: number) => resolve(code), exited };
}

describe('graceful shutdown', () => {
  it('runs the steps in order and exits 0', async () => {
    const logs = capturingLogger('info');
    const { exit, exited } = exitRecorder();
    const ran: string[] = [];
    const step = (name: string): ShutdownStep => ({ name, run: async () => void ran.push(name) });
    const stop = gracefulShutdown({ logger: logs.logger, role: 'worker', timeoutMs: 1000, steps: [step('jobs'), step('database')], exit });
    await stop('SIGTERM');
    await stop('SIGTERM'); // a second signal changes nothing
    expect(await exited).to.equal(0);
    expect(ran).to.deep.equal(['jobs', 'database']);
    expect(logs.lines().map((l) => l.msg)).to.deep.equal(['worker stopping', 'worker stopped']);
  });

  it('a step that fails is logged, the next steps still run, and the exit code is 1', async () => {
    const logs = capturingLogger('info');
    const { exit, exited } = exitRecorder();
    const ran: string[] = [];
    const stop = gracefulShutdown({
      logger: logs.logger, role: 'web', timeoutMs: 1000, exit,
      steps: [{ name: 'usage', run: async () => { throw new Error('database gone'); } }, { name: 'database', run: async () => void ran.push('database') }],
    });
    void stop('SIGINT');
    expect(await exited).to.equal(1);
    expect(ran).to.deep.equal(['database']);
    const failed = logs.lines().find((l) => l.msg === 'web stop: usage failed');
    expect((failed!.err as { message: string }).message).to.equal('database gone');
  });

  it('gives up after its deadline when a step never ends: logs the step and what is still running, exits 1', async () => {
    const logs = capturingLogger('info');
    const { exit, exited } = exitRecorder();
    const started = Date.now();
    const stop = gracefulShutdown({
      logger: logs.logger, role: 'worker', timeoutMs: 300, exit,
      steps: [{ name: 'job queue (running jobs finish)', run: () => new Promise(() => {}) }, { name: 'database', run: async () => {} }],
      inProgress: () => ({ runningJobs: [{ name: 'mail.send', id: 'mail.eml_1', attempt: 1, runningMs: 12_345 }] }),
    });
    void stop('SIGTERM');
    expect(await exited).to.equal(1);
    expect(Date.now() - started).to.be.within(290, 2000);
    const line = logs.lines().find((l) => l.level === 'error')!;
    expect(line).to.deep.include({
      msg: 'worker did not stop within 300 ms: exiting with code 1',
      waitingFor: 'job queue (running jobs finish)',
      stepsLeft: ['database'],
      runningJobs: [{ name: 'mail.send', id: 'mail.eml_1', attempt: 1, runningMs: 12_345 }],
    });
  });
});
