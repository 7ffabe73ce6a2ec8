// /healthz is liveness (always 200 while the process runs); /readyz answers 503 until Postgres
// (and Redis, when the queue is BullMQ) answer, and never hangs on a dead connection.
import net from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { openDatabase, type Database, type Db } from '../../db/client';
import { createLogger } from '../../src/lib/logger';
import { BullmqQueue, type Queue } from '../../src/queue';
import { newId } from '../../src/lib/ids';
import { createApp } from '../../src/web/app';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { REDIS_URL } from '../support/env';

describe('health probes', () => {
  let deps: TestDeps;
  let db: Db;
  let queue: Queue;
  let app: ReturnType<typeof createApp>;
  const opened: { close(): Promise<void> }[] = [];

  beforeEach(async () => {
    deps = await makeTestDeps();
    db = deps.db;
    queue = deps.queue;
    app = createApp(deps);
  });
  afterEach(async () => {
    deps.db = db;
    deps.queue = queue;
    for (const o of opened.splice(0)) await o.close();
    await deps.close();
  });

  /** A Postgres URL that refuses connections, or one that accepts them and never answers. */
  async function deadDatabase(kind: 'refused' | 'silent'): Promise<Database> {
    let port = 1;
    if (kind === 'silent') {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((s) => void sockets.add(s));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as net.AddressInfo).port;
      opened.push({ close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) });
    }
    const database = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/none`, poolSize: 1 });
    opened.push({ close: () => database.close().catch(() => {}) });
    return database;
  }

  it('is ready when Postgres answers (and Redis, when configured)', async () => {
    const res = await request(app).get('/readyz').expect(200);
    expect(res.body).to.deep.equal({ ready: true, checks: { postgres: 'ok', redis: REDIS_URL ? 'ok' : 'not_configured' } });
    expect(res.headers['cache-control']).to.equal('no-store');
  });

  it('answers 503 while Postgres refuses connections; liveness still answers 200', async () => {
    deps.db = (await deadDatabase('refused')).db;
    const res = await request(app).get('/readyz').expect(503);
    expect(res.body).to.deep.include({ ready: false });
    expect(res.body.checks.postgres).to.equal('down');
    await request(app).get('/healthz').expect(200, { ok: true });
  });

  it('answers 503 within about a second when Postgres accepts but never answers', async () => {
    deps.db = (await deadDatabase('silent')).db;
    const started = Date.now();
    const res = await request(app).get('/readyz').expect(503);
    expect(res.body.checks.postgres).to.equal('down');
    expect(Date.now() - started).to.be.below(2500);
  });

  it('answers 503 while the configured Redis is unreachable, and comes back when it is not', async () => {
    const unreachable = new BullmqQueue('redis://127.0.0.1:1', createLogger('silent'), `kontor-test-${newId('q')}`);
    opened.push({ close: () => Promise.race([unreachable.close().catch(() => {}), new Promise<void>((r) => setTimeout(r, 1000))]) });
    deps.queue = unreachable;
    const started = Date.now();
    const res = await request(app).get('/readyz').expect(503);
    expect(res.body).to.deep.equal({ ready: false, checks: { postgres: 'ok', redis: 'down' } });
    expect(Date.now() - started).to.be.below(2500);
    deps.queue = queue;
    await request(app).get('/readyz').expect(200);
  });
});
