// A gateway callback that cannot read the database (a lost connection) is not an "unknown
// order": the buyer who paid must not be told that nothing was granted.
import { expect } from 'chai';
import { AppError } from '../../src/lib/errors';
import { handleCallback } from '../../src/payments/checkout-flow';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';

describe('payment callbacks when the database fails', () => {
  let deps: TestDeps;
  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
  });
  afterEach(() => deps.close());

  it('an unknown payment is unknown_order (404); a database error stays an error (500), never "unknown"', async () => {
    const unknown = await handleCallback(deps, { paymentId: 'pay_missing', body: {}, query: {} }).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(AppError);
    expect(unknown).to.include({ code: 'unknown_order', status: 404 });

    const lost = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
    const broken = {
      ...deps,
      db: new Proxy(deps.db, { get: (t, p, r) => (p === 'select' ? () => { throw lost; } : Reflect.get(t, p, r)) }),
    };
    const failed = await handleCallback(broken, { paymentId: 'pay_any', body: {}, query: {} }).catch((e: unknown) => e);
    expect(failed).to.equal(lost);
  });
});
