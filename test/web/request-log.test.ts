// Every request has an id (sent back, on every log line, on error pages); logs never carry
// credentials or card data.
import { expect } from 'chai';
import request from 'supertest';
import type { Db } from '../../db/client';
import express from 'express';
import type { Deps } from '../../src/deps';
import { createLogger } from '../../src/lib/logger';
import { httpLogger } from '../../src/web/request-log';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { capturingLogger } from '../support/logs';
import { createWorld, type World } from '../support/world';

/** A database that fails every query, quoting an API key in its message as a driver might. */
const brokenDb = new Proxy({}, {
  get() {
    throw new Error('database unavailable while serving kt_agy_quoted_in_an_error_0000');
  },
}) as Db;

describe('request ids and logs', () => {
  let deps: TestDeps;
  let w: World;
  let db: Db;
  let logs: ReturnType<typeof capturingLogger>;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    db = deps.db;
    logs = capturingLogger('debug');
    deps.logger = logs.logger;
    app = createApp(deps);
  });
  afterEach(async () => {
    deps.db = db;
    await deps.close();
  });

  it('answers every request with an X-Request-Id, keeping a sane incoming one and replacing anything else', async () => {
    const page = await request(app).get('/login').expect(200);
    expect(page.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    const kept = await request(app).get('/healthz').set('X-Request-Id', 'lb-7f3a.42').expect(200);
    expect(kept.headers['x-request-id']).to.equal('lb-7f3a.42');
    const replaced = await request(app).get('/healthz').set('X-Request-Id', 'a b"<script>').expect(200);
    expect(replaced.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    const tooLong = await request(app).get('/healthz').set('X-Request-Id', 'x'.repeat(201)).expect(200);
    expect(tooLong.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    // The usage hot path too, and its JSON errors name the id.
    const usage = await request(app).post('/api/v1/usage').set('X-Request-Id', 'client-1').send({}).expect(401);
    expect(usage.headers['x-request-id']).to.equal('client-1');
    expect(usage.body).to.include({ error: 'unauthenticated', requestId: 'client-1' });
  });

  it('logs nothing for successful requests, the usage API included', async () => {
    const dept = (await request(app).post('/api/v1/departments').set(bearer(w.a.key)).send({ name: 'Free', creditsPerRequest: 0 }).expect(201)).body.id;
    await request(app).put(`/api/v1/sub-accounts/${w.a.subs[0].id}/departments`).set(bearer(w.a.key)).send({ departmentIds: [dept] }).expect(200);
    await request(app).get('/api/v1/me').set(bearer(w.a.key)).expect(200);
    await request(app).post('/api/v1/usage').set(bearer(w.a.subs[0].key)).send({ conversationId: 'c1', departmentId: dept }).expect(200);
    await request(app).post('/api/v1/usage/batch').set(bearer(w.a.subs[0].key)).send({ events: [{ conversationId: 'c2', departmentId: dept }] }).expect(200);
    await request(app).get('/login').expect(200);
    expect(logs.lines()).to.deep.equal([]);
  });

  it('a failing API request answers its id and logs the failure once under that id, without the Bearer key or the password it carried', async () => {
    deps.db = brokenDb;
    const key = w.a.key;
    const res = await request(app)
      .post('/api/v1/sub-accounts')
      .set(bearer(key))
      .set('Cookie', 'kontor.sid=s%3Asession-cookie-value')
      .send({ name: 'Logged Client', password: 'hunter2-secret', card: { pan: '4111111111111111', cvc: '123' } })
      .expect(500);
    const id = res.headers['x-request-id'] as string;
    expect(res.body).to.deep.equal({ error: 'internal_error', message: 'Something went wrong on our side. It has been logged; please try again.', requestId: id });

    const lines = logs.lines();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'error', msg: 'request failed', reqId: id, method: 'POST', path: '/api/v1/sub-accounts' });
    expect(lines[0]!.body).to.deep.equal({ name: 'Logged Client', password: '[Redacted]', card: { pan: '[Redacted]', cvc: '[Redacted]' } });
    expect((lines[0]!.err as { stack: string }).stack).to.contain('database unavailable');
    const text = logs.text();
    for (const secret of [key, key.slice(7), 'hunter2-secret', '4111111111111111', 'session-cookie-value', 'kt_agy_quoted_in_an_error_0000']) {
      expect(text).not.to.contain(secret);
    }
  });

  it('a failing page shows its reference, the id of the log line', async () => {
    const { agent } = await signIn(app, w.a.owner.email);
    deps.db = brokenDb;
    const res = await agent.get('/agency').expect(500);
    const id = res.headers['x-request-id'] as string;
    expect(res.text).to.contain('Something went wrong');
    expect(res.text).to.contain(`Reference: <code data-request-id>${id}</code>`);
    expect(logs.lines().map((l) => l.reqId)).to.deep.equal([id]);
  });

  it('a page that does not exist shows its reference too, and is not logged', async () => {
    const res = await request(app).get('/no-such-page').expect(404);
    expect(res.text).to.contain(`Reference: <code data-request-id>${res.headers['x-request-id']}</code>`);
    expect(logs.lines()).to.deep.equal([]);
  });
});

describe('the logger', () => {
  it('redacts credentials and card data at any depth and API keys inside text, and keeps the rest', () => {
    const logs = capturingLogger('info');
    logs.logger.child({ reqId: 'r1' }).error('gateway call failed for kt_sub_in_the_message_000', {
      req: { method: 'POST', headers: { authorization: 'Bearer kt_sub_header_0000', cookie: 'kontor.sid=abc', 'user-agent': 'curl' } },
      gateway: { secretKey: 'sk_live_1', apiPassword: 'p', webhookSecret: 'whsec_1', nested: { deeper: { password: 'pw', client_secret: 'cs' } } },
      payload: Buffer.from('raw webhook body'),
      note: 'Authorization: Bearer abc.def-ghi',
    });
    const [line] = logs.lines();
    expect(line).to.deep.include({ level: 'error', reqId: 'r1', msg: 'gateway call failed for kt_[Redacted]' });
    expect(line!.req).to.deep.equal({ method: 'POST', headers: { authorization: '[Redacted]', cookie: '[Redacted]', 'user-agent': 'curl' } });
    expect(line!.gateway).to.deep.equal({ secretKey: '[Redacted]', apiPassword: '[Redacted]', webhookSecret: '[Redacted]', nested: { deeper: { password: '[Redacted]', client_secret: '[Redacted]' } } });
    expect(line!.payload).to.equal('[16 bytes]');
    expect(line!.note).to.equal('Authorization: Bearer [Redacted]');
    expect(logs.text()).not.to.match(/kt_sub_header|kt_sub_in_the|sk_live_1|whsec_1|abc\.def/);
  });

  it("pino-http's own line for a failure nobody logged carries the request id, without credentials in its headers", async () => {
    const logs = capturingLogger('info');
    const app = express();
    app.use(httpLogger({ logger: logs.logger } as Deps));
    app.get('/broken', (_req, res) => void res.status(502).send('bad gateway'));
    const res = await request(app).get('/broken?token=invite-token-1&page=2').set(bearer('kt_sub_in_a_header_0000')).set('Cookie', 'kontor.sid=secret-session').expect(502);
    const [line] = logs.lines();
    expect(line).to.include({ level: 'error', reqId: res.headers['x-request-id'] });
    const req = line!.req as { url: string; query: Record<string, string>; headers: Record<string, string> };
    expect(req.headers).to.include({ authorization: '[Redacted]', cookie: '[Redacted]' });
    expect(req.url).to.equal('/broken?token=[Redacted]&page=2');
    expect(req.query).to.deep.equal({ token: '[Redacted]', page: '2' });
    expect(logs.text()).not.to.match(/kt_sub_in_a_header|secret-session|invite-token-1/);
  });

  it('writes nothing at level silent', () => {
    const logs = capturingLogger('silent');
    logs.logger.error('x', { a: 1 });
    expect(logs.text()).to.equal('');
    expect(() => createLogger('silent').error('not written')).not.to.throw();
  });
});
