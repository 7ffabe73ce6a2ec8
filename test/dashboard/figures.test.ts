// The dashboard's aggregates (collected, MRR, buyer counts) are served again for at most a minute
// of wall-clock time, shared by requests arriving while they are computed, and never kept when the
// computation failed. The page shows when they were computed (test/web/dashboard.test.ts renders it).
import { expect } from 'chai';
import { DashboardFigures, FIGURES_MAX_AGE_MS } from '../../src/dashboard/dashboard';

describe('dashboard aggregates: bounded staleness', () => {
  const agg = (n: number) => ({ asOf: new Date(n), counts: { all: n, suspended: 0 }, collected: [], mrrRows: [] });

  it('computes once per seller and day within the maximum age, again after it', async () => {
    let now = 1_000_000;
    const f = new DashboardFigures(FIGURES_MAX_AGE_MS, () => now);
    let computed = 0;
    const compute = async () => agg(++computed);
    const [a, b] = await Promise.all([f.get('agy|2026-03-10', compute), f.get('agy|2026-03-10', compute)]);
    expect(computed).to.equal(1);
    expect(a).to.equal(b);
    now += FIGURES_MAX_AGE_MS - 1;
    expect((await f.get('agy|2026-03-10', compute)).counts!.all).to.equal(1);
    await f.get('other|2026-03-10', compute);
    expect(computed, 'another seller is its own entry').to.equal(2);
    now += 1;
    expect((await f.get('agy|2026-03-10', compute)).counts!.all).to.equal(3);
  });

  it('does not keep a failed computation', async () => {
    const f = new DashboardFigures(FIGURES_MAX_AGE_MS, () => 0);
    let fail = true;
    const compute = async () => {
      if (fail) throw new Error('connection lost');
      return agg(7);
    };
    await f.get('agy|d', compute).then(() => expect.fail('should fail'), () => {});
    fail = false;
    expect((await f.get('agy|d', compute)).counts!.all).to.equal(7);
  });
});
