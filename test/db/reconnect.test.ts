// Start-up queries survive a connection dropped under them (db/reconnect.ts): the soak test once
// saw a restarted worker exit because its first query (the platform row) met a terminated backend.
// A real worker starting while its connections are terminated: test/jobs/connection-loss.test.ts.
import { expect } from 'chai';
import { isLostConnection, untilConnected } from '../../db/reconnect';

const lost = (code: string) => Object.assign(new Error(`lost (${code})`), { code });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err as Error);
const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: select 1'), { cause });

describe('start-up queries and lost connections', () => {
  it('knows a lost connection from a wrong statement, wrapped or not', () => {
    for (const code of ['CONNECTION_ENDED', 'CONNECTION_CLOSED', 'ECONNRESET', 'ECONNREFUSED', '57P01', '08006']) {
      expect(isLostConnection(lost(code)), code).to.equal(true);
      expect(isLostConnection(wrapped(lost(code))), `wrapped ${code}`).to.equal(true);
    }
    for (const code of ['42601', '23505', '28P01', '42P01']) expect(isLostConnection(wrapped(lost(code))), code).to.equal(false);
    expect(isLostConnection(new Error('plain'))).to.equal(false);
    expect(isLostConnection(undefined)).to.equal(false);
  });

  it('retries a lost connection with growing delays, and answers what the work answers', async () => {
    const delays: number[] = [];
    let calls = 0;
    const out = await untilConnected(
      async () => {
        calls++;
        if (calls < 4) throw wrapped(lost('ECONNRESET'));
        return 'done';
      },
      { sleep: async (ms) => void delays.push(ms), firstDelayMs: 100, maxDelayMs: 300 },
    );
    expect(out).to.equal('done');
    expect(calls).to.equal(4);
    expect(delays).to.deep.equal([100, 200, 300]);
  });

  it('fails at once on any other error, and gives up at its deadline', async () => {
    let calls = 0;
    const bad = untilConnected(async () => {
      calls++;
      throw wrapped(lost('42601'));
    }, { sleep: async () => {} });
    expect((await failure(bad)).message).to.contain('Failed query');
    expect(calls).to.equal(1);

    let t = 0;
    calls = 0;
    const down = untilConnected(async () => {
      calls++;
      throw lost('ECONNREFUSED');
    }, { now: () => t, sleep: async (ms) => void (t += ms), deadlineMs: 1_000, firstDelayMs: 100 });
    expect((await failure(down)).message).to.contain('ECONNREFUSED');
    expect(calls).to.equal(4); // after 100 + 200 + 400 ms; the next 800 ms wait would pass the deadline
  });
});

describe('start-up work that never settles', () => {
  it('is abandoned after attemptTimeoutMs and tried again', async () => {
    let calls = 0;
    const out = await untilConnected(
      () => {
        calls++;
        return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('second');
      },
      { attemptTimeoutMs: 20, sleep: async () => {} },
    );
    expect(out).to.equal('second');
    expect(calls).to.equal(2);
  });
});
