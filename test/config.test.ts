import { expect } from 'chai';
import { ConfigError, loadConfig } from '../config';

describe('configuration', () => {
  it('has working defaults for the demo: PGlite under ./data, in-process jobs, demo data, test clock', () => {
    const c = loadConfig({});
    expect(c).to.include({ port: 3000, dataDir: './data', demo: true, testClock: true, isProduction: false });
    expect(c.databaseUrl).to.equal(undefined);
    expect(c.redisUrl).to.equal(undefined);
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
    const prod = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) });
    expect(prod).to.include({ demo: false, testClock: false, passwordHashCost: 15 });
    expect(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), TEST_CLOCK: 'true' })).to.throw(ConfigError, /TEST_CLOCK/);
  });
});
