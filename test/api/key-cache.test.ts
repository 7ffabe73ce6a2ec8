import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import { ApiKeyCache } from '../../src/api-keys/key-cache';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { createWorld, type World } from '../support/world';

describe('API key cache (the hot path authenticates without a query per request)', () => {
  let deps: TestDeps;
  let w: World;
  let now: number;
  let cache: ApiKeyCache;
  const revokeInDatabase = (keyId: string) => deps.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, keyId));
  /** Lets a background re-read finish. */
  const settle = () => cache.idle();

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    now = 1_000_000;
    cache = new ApiKeyCache(deps.db, 5000, 50_000, () => now);
  });
  afterEach(() => deps.close());

  it('many keys looked up at once each get their own actor; unknown and malformed keys get none', async () => {
    const keys = [w.a.key, w.a.subs[0].key, w.a.subs[1].key, w.b.key, w.b.subs[0].key, 'kt_sub_unknown', 'not-a-key', w.a.key];
    const actors = await Promise.all(keys.map((k) => cache.authenticate(k)));
    expect(actors.map((a) => a?.subAccountId ?? a?.agencyId ?? null)).to.deep.equal([w.a.id, w.a.subs[0].id, w.a.subs[1].id, w.b.id, w.b.subs[0].id, null, null, w.a.id]);
  });

  it('a key revoked elsewhere answers until its entry is 5 s old at most, and a key in use is re-read before that', async () => {
    const key = w.a.subs[0];
    expect((await cache.authenticate(key.key))?.subAccountId).to.equal(key.id);
    await revokeInDatabase(key.keyId);
    now += 2000; // young entry: answered from memory
    expect((await cache.authenticate(key.key))?.subAccountId).to.equal(key.id);
    now += 1000; // second half of its life: still answered, and re-read in the background
    expect((await cache.authenticate(key.key))?.subAccountId).to.equal(key.id);
    await settle();
    expect(await cache.authenticate(key.key)).to.equal(null); // the re-read saw the revocation
  });

  it('an entry older than 5 s is never used', async () => {
    const key = w.a.subs[1];
    await cache.authenticate(key.key);
    await revokeInDatabase(key.keyId);
    now += 5000;
    expect(await cache.authenticate(key.key)).to.equal(null);
  });

  it('a key revoked through this process stops at once, even with a re-read in flight', async () => {
    const key = w.b.subs[0];
    await cache.authenticate(key.key);
    now += 3000;
    await cache.authenticate(key.key); // queues a background re-read
    await revokeInDatabase(key.keyId);
    cache.invalidateKey(key.keyId);
    await settle();
    expect(await cache.authenticate(key.key)).to.equal(null);
  });
});
