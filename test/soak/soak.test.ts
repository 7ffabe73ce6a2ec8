// Issue #20, "Many processes at once": the short form of the soak test (bench/soak.ts) in CI.
// Three web processes and two workers on the run's Postgres server and Redis, mixed traffic
// while processes are SIGKILLed and database connections terminated, then every check of the
// script. It must not pass for lack of traffic: the figures it prints are held to minimums.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { DATABASE_URL, PATH, REDIS_URL, requireOrSkip } from '../support/env';

interface SoakResult {
  ok: boolean;
  usageOk: number;
  purchases: number;
  topupsCharged: number;
  webKills: number;
  workerKills: number;
  terminatedBackends: number;
  monthEnds: number;
  invoices: number;
  emails: number;
  webhooks: number;
  failed: string[];
}

describe('soak: three web processes and two workers under traffic, kills and lost connections', function () {
  this.timeout(420_000);

  before(function () {
    requireOrSkip(this, Boolean(DATABASE_URL), 'Postgres (DATABASE_URL): the soak runs real processes on their own database');
    requireOrSkip(this, Boolean(REDIS_URL), 'Redis (REDIS_URL): the workers consume BullMQ');
  });

  it('keeps the ledger, invoice numbers, payments, emails and every answered request right', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/soak.ts'], {
      cwd: path.resolve('.'),
      env: { PATH, DATABASE_URL: DATABASE_URL!, REDIS_URL: REDIS_URL!, SOAK_SECONDS: '45', SOAK_DRAIN_SECONDS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    // The script drops its database and stops its processes however it ends; a hung one is killed.
    const timer = setTimeout(() => child.kill('SIGTERM'), 400_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    // The figures go to the run's log (requests, kills, invoices, emails, checks), not only on failure.
    const figures = /^Soak: [\s\S]*?(?=^SOAK_RESULT|^last log lines)/m.exec(out)?.[0];
    if (figures) process.stdout.write(figures.replace(/^/gm, '      '));
    const line = /^SOAK_RESULT (.*)$/m.exec(out)?.[1];
    expect(line, `the script's output:\n${out}`).to.be.a('string');
    const result = JSON.parse(line!) as SoakResult;
    expect(result.failed, out).to.deep.equal([]);
    expect(code, out).to.equal(0);
    // Not vacuous: enough of everything happened.
    expect(result.usageOk, 'usage requests answered 200').to.be.greaterThan(100);
    expect(result.purchases, 'purchases recorded').to.be.at.least(1);
    expect(result.topupsCharged, 'top-ups paid through the Stripe sandbox').to.be.at.least(1);
    expect(result.webhooks, 'gateway webhooks received').to.be.at.least(1);
    expect(result.webKills, 'web processes SIGKILLed').to.be.at.least(1);
    expect(result.workerKills, 'workers SIGKILLed').to.be.at.least(1);
    expect(result.terminatedBackends, 'database connections terminated').to.be.at.least(1);
    expect(result.monthEnds, 'month ends').to.be.at.least(1);
    expect(result.invoices, 'invoices cut').to.be.at.least(1);
    expect(result.emails, 'emails sent').to.be.at.least(1);
  });
});
