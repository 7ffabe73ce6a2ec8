import { agencies, apiKeys, memberships, subAccounts, users, type Role, type Scope } from '../../db/schema';
import type { Deps } from '../../src/deps';
import { newId } from '../../src/lib/ids';
import { hashPassword } from '../../src/lib/password';
import { randomToken, sha256 } from '../../src/lib/tokens';
import { getPlatformId } from '../../src/tenancy/agencies.usecases';

export const PASSWORD = 'correct-horse-battery';

export interface WorldUser { id: string; email: string }
export interface WorldSub { id: string; name: string; owner: WorldUser; key: string; keyId: string }
export interface WorldAgency {
  id: string;
  name: string;
  owner: WorldUser;
  member: WorldUser;
  key: string;
  keyId: string;
  subs: [WorldSub, WorldSub];
}
export interface World {
  platformAdmin: WorldUser;
  platformKey: string;
  a: WorldAgency;
  b: WorldAgency;
}

/** Two agencies, each with an owner, a member without billing, two sub-accounts with owners, and keys. */
export async function createWorld(deps: Deps, tag = newId('w').slice(-6)): Promise<World> {
  const platformId = await getPlatformId(deps);
  const passwordHash = await hashPassword(PASSWORD, deps.config.passwordHashCost);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const user = async (email: string, scope: Scope, role: Role, billing: boolean, agencyId: string | null, subAccountId: string | null) => {
      const id = newId('usr');
      await tx.insert(users).values({ id, email, name: email.split('@')[0]!, passwordHash, createdAt: now, updatedAt: now });
      await tx.insert(memberships).values({ id: newId('mem'), userId: id, scope, agencyId, subAccountId, role, billing, createdAt: now });
      return { id, email };
    };
    const key = async (scope: Scope, agencyId: string | null, subAccountId: string | null) => {
      const secret = `kt_${scope === 'platform' ? 'plt' : scope === 'agency' ? 'agy' : 'sub'}_${randomToken()}`;
      const id = newId('key');
      await tx.insert(apiKeys).values({ id, scope, agencyId, subAccountId, name: 'test', prefix: secret.slice(0, 11), keyHash: sha256(secret), createdAt: now });
      return { secret, id };
    };
    const agency = async (letter: 'a' | 'b'): Promise<WorldAgency> => {
      const id = newId('agy');
      const name = `Agency ${letter.toUpperCase()} ${tag}`;
      await tx.insert(agencies).values({ id, platformId, name, resellingModule: letter === 'a', createdAt: now, updatedAt: now });
      const owner = await user(`owner-${letter}-${tag}@example.test`, 'agency', 'owner', true, id, null);
      const member = await user(`member-${letter}-${tag}@example.test`, 'agency', 'member', false, id, null);
      const k = await key('agency', id, null);
      const subs: WorldSub[] = [];
      for (const n of [1, 2]) {
        const subId = newId('sub');
        const subName = `Client ${letter}${n} ${tag}`;
        await tx.insert(subAccounts).values({ id: subId, agencyId: id, name: subName, createdAt: now, updatedAt: now });
        const subOwner = await user(`client-${letter}${n}-${tag}@example.test`, 'sub_account', 'owner', true, id, subId);
        const sk = await key('sub_account', id, subId);
        subs.push({ id: subId, name: subName, owner: subOwner, key: sk.secret, keyId: sk.id });
      }
      return { id, name, owner, member, key: k.secret, keyId: k.id, subs: subs as [WorldSub, WorldSub] };
    };
    const platformAdmin = await user(`admin-${tag}@example.test`, 'platform', 'owner', true, null, null);
    const pk = await key('platform', null, null);
    return { platformAdmin, platformKey: pk.secret, a: await agency('a'), b: await agency('b') };
  });
}
