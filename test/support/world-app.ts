import { createApp } from '../../src/web/app';
import { resetData } from './db';
import { makeTestDeps, type TestDeps } from './deps';
import { createWorld, type World } from './world';

export interface WorldApp {
  deps: TestDeps;
  w: World;
  app: ReturnType<typeof createApp>;
}

/**
 * A fresh database, deps, the two-agency world and an app for every test of the calling suite
 * (registers its own beforeEach/afterEach). Read the fields inside tests, not at suite load.
 */
export function worldAppPerTest(opts: Parameters<typeof makeTestDeps>[0] = {}): WorldApp {
  const ctx = {} as WorldApp;
  beforeEach(async () => {
    await resetData();
    ctx.deps = await makeTestDeps(opts);
    ctx.w = await createWorld(ctx.deps);
    ctx.app = createApp(ctx.deps);
  });
  afterEach(() => ctx.deps.close());
  return ctx;
}
