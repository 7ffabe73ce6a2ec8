// Every error, however early in the request, renders the normal error page (or JSON).
import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { signIn } from '../support/http';
import { capturingLogger } from '../support/logs';
import { createWorld, type World } from '../support/world';

describe('error pages before the page locals are set', () => {
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;
  let logged: () => string[];

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    const logs = capturingLogger('warn');
    deps.logger = logs.logger;
    logged = () => logs.lines().map((l) => String(l.msg));
    app = createApp(deps);
  });
  afterEach(() => deps.close());

  it('a CSRF refusal renders the layout with its message, signed in or not, and logs no rendering failure', async () => {
    const anonymous = await request(app).post('/login').type('form').send({ _csrf: 'forged', email: 'x@example.test', password: 'x' }).expect(403);
    expect(anonymous.text).to.contain('<main');
    expect(anonymous.text).to.contain('This form has expired');
    const { agent } = await signIn(app, w.a.owner.email);
    const signedIn = await agent.post('/agency/sub-accounts').type('form').send({ _csrf: 'forged', name: 'X' }).expect(403);
    expect(signedIn.text).to.contain('<main');
    expect(signedIn.text).to.contain('This form has expired');
    expect(logged()).to.deep.equal([]);
  });

  it('a malformed address renders the error page with a 400, not a 500', async () => {
    const res = await request(app).get('/agency/sub-accounts/%E0%A4%A').expect(400);
    expect(res.text).to.contain('<main');
    expect(logged()).to.deep.equal([]);
  });
});
