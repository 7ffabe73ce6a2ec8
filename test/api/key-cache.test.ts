import { expect } from 'chai';
import { eq, sql } from 'drizzle-orm';
import { apiKeys } from '../../db/schema';
import { API_KEYS_CHANNEL, ApiKeyCache } from '../../src/api-keys/key-cache';
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

  it('keys in use that come due in different event-loop turns are re-read together, in one query', async () => {
    const keys = [w.a.subs[0], w.a.subs[1], w.b.subs[0]];
    await Promise.all(keys.map((k) => cache.authenticate(k.key)));
    const readsBefore = cache.reads;
    await revokeInDatabase(keys[1]!.keyId);
    now += 3000; // second half of the entries' life
    for (const k of keys) {
      expect((await cache.authenticate(k.key))?.subAccountId).to.equal(k.id); // answered from memory
      await new Promise((r) => setImmediate(r)); // the next request comes in another turn
    }
    expect(cache.reads).to.equal(readsBefore); // gathered, not read yet
    await new Promise((r) => setTimeout(r, 400)); // the gathering window (250 ms) passes
    await settle();
    expect(cache.reads).to.equal(readsBefore + 1);
    expect(await cache.authenticate(keys[1]!.key)).to.equal(null); // the re-read saw the revocation
    expect((await cache.authenticate(keys[0]!.key))?.subAccountId).to.equal(keys[0]!.id);
  });
});

describe('API key cache following the database announcements', () => {
  let deps: TestDeps;
  let w: World;
  let now: number;

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
    now = 1_000_000;
  });
  afterEach(() => deps.close());

  const following = async () => {
    const cache = new ApiKeyCache(deps.db, 5000, 50_000, () => now, 60_000);
    await cache.follow(deps.listen!);
    return cache;
  };
  /** Until the announcement has arrived (it is asynchronous), at most 5 s. */
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('a key revoked by another process stops at once, not after its entry expires', async () => {
    const [first, second] = [await following(), await following()]; // two web processes
    const key = w.a.subs[0];
    expect((await first.authenticate(key.key))?.subAccountId).to.equal(key.id);
    expect((await second.authenticate(key.key))?.subAccountId).to.equal(key.id);
    now += 1000; // well inside both 5 s and 60 s
    await deps.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.keyId));
    await until(async () => (await first.authenticate(key.key)) === null && (await second.authenticate(key.key)) === null);
    expect(await first.authenticate(key.key)).to.equal(null);
    expect(await second.authenticate(key.key)).to.equal(null);
    expect((await first.authenticate(w.a.subs[1].key))?.subAccountId).to.equal(w.a.subs[1].id); // others unaffected
  });

  it('only changes that alter what a key authenticates as are announced; recording use is not', async () => {
    const heard: string[] = [];
    await deps.listen!(API_KEYS_CHANNEL, (id) => heard.push(id), () => {});
    const cache = await following();
    const [k1, k2] = [w.b.subs[0], w.b.subs[1]];
    await cache.authenticate(k1.key);
    await cache.flushUsage(); // last_used_at
    const used = async (id: string) => (await deps.db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0]!.lastUsedAt;
    expect(await used(k1.keyId)).to.be.instanceOf(Date); // the key used since the last flush, and only it
    expect(await used(k2.keyId)).to.equal(null);
    await deps.db.update(apiKeys).set({ name: 'renamed' }).where(eq(apiKeys.id, k1.keyId));
    await deps.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, k2.keyId));
    await deps.db.delete(apiKeys).where(eq(apiKeys.id, k1.keyId));
    await until(async () => heard.length >= 2);
    await new Promise((r) => setTimeout(r, 50)); // nothing else arrives late
    expect(heard).to.deep.equal([k2.keyId, k1.keyId]);
  });

  it('while announcements arrive an entry lives 60 s, not 5 s (a change nobody announced shows after 60 s)', async () => {
    const cache = await following();
    const key = w.b.subs[0];
    await cache.authenticate(key.key);
    await deps.db.execute(sql`alter table api_keys disable trigger api_keys_changed`);
    try {
      await deps.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.keyId));
    } finally {
      await deps.db.execute(sql`alter table api_keys enable trigger api_keys_changed`);
    }
    now += 20_000;
    expect((await cache.authenticate(key.key))?.subAccountId).to.equal(key.id); // 20 s old: from memory
    now += 41_000;
    expect(await cache.authenticate(key.key)).to.equal(null); // 61 s old: read again
  });
});
