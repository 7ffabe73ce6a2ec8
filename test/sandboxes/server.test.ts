// The gateway sandboxes run alone too (`npm run sandboxes`): their own entry point, outside the
// web app. They refuse to start in production.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PATH } from '../support/env';

describe('the gateway sandboxes on their own', function () {
  this.timeout(120_000);
  let dataDir: string;
  before(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-sandboxes-'))));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('serve the Stripe, NestPay and iyzico protocols from sandboxes/server.ts', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandboxes/server.ts'], {
      cwd: path.resolve('.'), env: { PATH, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: dataDir, SANDBOX_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      // Stripe's API without a key: Stripe's own error shape.
      const stripe = await fetch(`${url}/v1/customers`);
      expect(stripe.status).to.equal(401);
      expect(((await stripe.json()) as { error: { type: string } }).error.type).to.equal('invalid_request_error');
      // NestPay's 3D gate without a form: the bank's error page, not ours.
      const gate = await fetch(`${url}/sandbox/nestpay/fim/est3Dgate`, { method: 'POST', body: new URLSearchParams({ clientid: 'nobody' }) });
      expect(gate.status).to.be.within(200, 499);
      expect((await fetch(`${url}/anything-else`)).status).to.equal(404);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuse to start in production', async () => {
    const err = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'sandboxes/server.ts'], {
      cwd: path.resolve('.'), env: { PATH, NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), SECRET_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`, DATA_DIR: dataDir },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).to.include({ code: 1 });
    expect((err as { stderr: string }).stderr).to.contain('never run in production');
  });
});
