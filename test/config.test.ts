import { expect } from 'chai';
import { ConfigError, loadConfig } from '../config';
import { DEFAULT_JOB_TIMEOUT_MS } from '../src/queue';

describe('configuration', () => {
  it('has working defaults for the demo: PGlite under ./data, in-process jobs, demo data, test clock', () => {
    const c = loadConfig({});
    expect(c).to.include({ port: 3000, dataDir: './data', demo: true, testClock: true, isProduction: false });
    expect(c.databaseUrl).to.equal(undefined);
    expect(c.redisUrl).to.equal(undefined);
  });

  it('VAPID keys for mobile push: all three or none; none hides the channel', () => {
    expect(loadConfig({}).vapid).to.equal(null);
    const keys = { VAPID_PUBLIC_KEY: `B${'x'.repeat(86)}`, VAPID_PRIVATE_KEY: 'y'.repeat(43), VAPID_SUBJECT: 'mailto:ops@example.test' };
    expect(loadConfig(keys).vapid).to.deep.equal({ publicKey: keys.VAPID_PUBLIC_KEY, privateKey: keys.VAPID_PRIVATE_KEY, subject: keys.VAPID_SUBJECT });
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY })).to.throw(ConfigError, /set all three/);
    expect(() => loadConfig({ ...keys, VAPID_SUBJECT: 'ops@example.test' })).to.throw(ConfigError, /VAPID_SUBJECT/);
  });

  it('treats empty variables as unset and coerces numbers and booleans', () => {
    const c = loadConfig({ PORT: '8080', DATABASE_URL: '', DEMO: 'false' });
    expect(c).to.include({ port: 8080, demo: false, publicUrl: 'http://localhost:8080' });
    expect(c.databaseUrl).to.equal(undefined);
  });

  it('refuses invalid values with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ DEMO: 'maybe' })).to.throw(ConfigError, /DEMO/);
  });

  it('requires a session secret in production and never allows the test clock there', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(ConfigError, /SESSION_SECRET/);
    const keys = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    const prod = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), SECRET_KEYS: keys });
    expect(prod).to.include({ demo: false, testClock: false, passwordHashCost: 15, sandboxUrl: null });
    expect(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), SECRET_KEYS: keys, TEST_CLOCK: 'true' })).to.throw(ConfigError, /TEST_CLOCK/);
  });

  it('requires encryption keys for gateway secrets in production, well formed', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) })).to.throw(ConfigError, /SECRET_KEYS/);
    expect(() => loadConfig({ SECRET_KEYS: 'k1:c2hvcnQ=' })).to.throw(ConfigError, /32 bytes/);
    expect(() => loadConfig({ SECRET_KEYS: `a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32, 1).toString('base64')}` })).to.throw(ConfigError, /unique/);
    const two = loadConfig({ SECRET_KEYS: `new:${Buffer.alloc(32, 1).toString('base64')}, old:${Buffer.alloc(32, 2).toString('base64')}` });
    expect(two.secretKeys.map((k) => k.id)).to.deep.equal(['new', 'old']);
  });

  it('bounds background jobs and shutdowns: a deadline per job attempt (10 minutes) and per stop (25 s)', () => {
    expect(loadConfig({})).to.include({ jobTimeoutMs: 600_000, shutdownTimeoutMs: 25_000 });
    expect(DEFAULT_JOB_TIMEOUT_MS, "the queue's own default (tests, CLI) is the same").to.equal(600_000);
    expect(loadConfig({ JOB_TIMEOUT_MS: '15000', SHUTDOWN_TIMEOUT_MS: '5000' })).to.include({ jobTimeoutMs: 15_000, shutdownTimeoutMs: 5_000 });
    expect(() => loadConfig({ JOB_TIMEOUT_MS: '0' })).to.throw(ConfigError, /JOB_TIMEOUT_MS/);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: 'soon' })).to.throw(ConfigError, /SHUTDOWN_TIMEOUT_MS/);
  });
});
