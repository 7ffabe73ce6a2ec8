import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { agencies, apiKeys, type Scope } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { pgArray, pgArrayLiteral } from '../lib/pg-array';
import { randomToken, sha256 } from '../lib/tokens';
import { name, parse } from '../lib/validation';
import { getSubAccount } from '../tenancy/sub-accounts.usecases';

export type ApiKey = typeof apiKeys.$inferSelect;
export type ApiKeySummary = Pick<ApiKey, 'id' | 'scope' | 'agencyId' | 'subAccountId' | 'name' | 'prefix' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>;

const scopeTag: Record<Scope, string> = { platform: 'plt', agency: 'agy', sub_account: 'sub' };

export interface KeyOwner {
  scope: Scope;
  agencyId: string | null;
  subAccountId: string | null;
}

/**
 * Which tenant a new key is for, checked against the actor: platform staff create platform keys
 * and keys of any agency; an agency creates its own and its sub-accounts'; a sub-account its own.
 */
export async function resolveKeyOwner(
  deps: Pick<Deps, 'db'>,
  actor: Actor,
  target: { agencyId?: string | undefined; subAccountId?: string | undefined },
): Promise<KeyOwner> {
  if (target.subAccountId) {
    const sub = await getSubAccount(deps, { actor, subAccountId: target.subAccountId });
    return { scope: 'sub_account', agencyId: sub.agencyId, subAccountId: sub.id };
  }
  if (target.agencyId) {
    if (actor.scope !== 'platform' && actor.agencyId !== target.agencyId) throw errors.notFound('Agency');
    if (actor.scope === 'sub_account') throw errors.notFound('Agency');
    const [agency] = await deps.db.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, target.agencyId));
    if (!agency) throw errors.notFound('Agency');
    return { scope: 'agency', agencyId: agency.id, subAccountId: null };
  }
  return { scope: actor.scope, agencyId: actor.agencyId, subAccountId: actor.subAccountId };
}

export const createKeySchema = z.object({ name: name('Key name').default('API key') });

/** Returns the secret once; only its hash is stored. */
export async function createApiKey(
  deps: Deps,
  params: { actor: Actor; owner: KeyOwner; input: unknown },
): Promise<{ key: string; apiKey: ApiKeySummary }> {
  requireRole(params.actor, 'admin');
  const input = parse(createKeySchema, params.input ?? {});
  const secret = `kt_${scopeTag[params.owner.scope]}_${randomToken(24)}`;
  const now = deps.clock.now();
  const apiKey = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: newId('key'),
        ...params.owner,
        name: input.name,
        prefix: secret.slice(0, 11),
        keyHash: sha256(secret),
        createdByUserId: params.actor.kind === 'user' ? params.actor.id : null,
        createdAt: now,
      })
      .returning();
    await recordAudit(tx, params.actor, { action: 'api_key.created', targetType: 'api_key', targetId: row!.id, agencyId: params.owner.agencyId, subAccountId: params.owner.subAccountId, data: { scope: params.owner.scope, name: input.name } }, now);
    return row!;
  });
  return { key: secret, apiKey: summarize(apiKey) };
}

export function summarize(k: ApiKey): ApiKeySummary {
  return { id: k.id, scope: k.scope, agencyId: k.agencyId, subAccountId: k.subAccountId, name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt };
}

function ownerFilter(owner: KeyOwner) {
  return and(
    eq(apiKeys.scope, owner.scope),
    owner.agencyId ? eq(apiKeys.agencyId, owner.agencyId) : isNull(apiKeys.agencyId),
    owner.subAccountId ? eq(apiKeys.subAccountId, owner.subAccountId) : isNull(apiKeys.subAccountId),
  );
}

export async function listApiKeys(deps: Pick<Deps, 'db'>, params: { owner: KeyOwner }): Promise<ApiKeySummary[]> {
  const rows = await deps.db.select().from(apiKeys).where(ownerFilter(params.owner)).orderBy(desc(apiKeys.createdAt));
  return rows.map(summarize);
}

/** Revokes a key of the given owner; a key of anyone else is "not found". Revoking twice is a no-op. */
export async function revokeApiKey(deps: Deps, params: { actor: Actor; owner: KeyOwner; keyId: string }): Promise<ApiKeySummary> {
  requireRole(params.actor, 'admin');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [key] = await tx.select().from(apiKeys).where(and(eq(apiKeys.id, params.keyId), ownerFilter(params.owner))).for('update');
    if (!key) throw errors.notFound('API key');
    if (key.revokedAt) return summarize(key);
    const [row] = await tx.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, key.id)).returning();
    await recordAudit(tx, params.actor, { action: 'api_key.revoked', targetType: 'api_key', targetId: key.id, agencyId: key.agencyId, subAccountId: key.subAccountId }, now);
    return summarize(row!);
  });
}

/** Bearer authentication. Returns null for unknown or revoked keys. */
export async function authenticateApiKey(db: DbOrTx, secret: string, now: Date, opts: { touch?: boolean } = {}): Promise<Actor | null> {
  if (!secret.startsWith('kt_') || secret.length > 100) return null;
  const [key] = await db
    .select({ id: apiKeys.id, scope: apiKeys.scope, agencyId: apiKeys.agencyId, subAccountId: apiKeys.subAccountId, revokedAt: apiKeys.revokedAt, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, sha256(secret)));
  if (!key || key.revokedAt) return null;
  // Last use is recorded at most once a minute per key (the web app's key cache batches it instead).
  if ((opts.touch ?? true) && (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000)) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(and(eq(apiKeys.id, key.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - 60_000)))));
  }
  // API keys act with admin rights and the billing permission inside their scope.
  return { kind: 'api_key', id: key.id, scope: key.scope, agencyId: key.agencyId, subAccountId: key.subAccountId, role: 'admin', billing: true };
}

/** The key cache's read, prepared once per database handle: built and planned once, not per call. */
const byHashes = new WeakMap<DbOrTx, ReturnType<typeof prepareByHashes>>();
const prepareByHashes = (db: DbOrTx) =>
  db
    .select({ id: apiKeys.id, scope: apiKeys.scope, agencyId: apiKeys.agencyId, subAccountId: apiKeys.subAccountId, keyHash: apiKeys.keyHash, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(sql`${apiKeys.keyHash} = any(${sql.placeholder('hashes')}::text[])`)
    .prepare('api_keys_by_hashes');

/**
 * Many secrets in one query (the web app's key cache coalesces its misses). Same rules as
 * authenticateApiKey; last use is not recorded here (the cache batches that too).
 */
export async function authenticateApiKeys(db: DbOrTx, secrets: string[]): Promise<Map<string, Actor | null>> {
  const result = new Map<string, Actor | null>(secrets.map((s) => [s, null]));
  const byHash = new Map(secrets.filter((s) => s.startsWith('kt_') && s.length <= 100).map((s) => [sha256(s), s]));
  if (byHash.size === 0) return result;
  let query = byHashes.get(db);
  if (!query) byHashes.set(db, (query = prepareByHashes(db)));
  for (const key of await query.execute({ hashes: pgArrayLiteral([...byHash.keys()]) })) {
    if (key.revokedAt) continue;
    result.set(byHash.get(key.keyHash)!, { kind: 'api_key', id: key.id, scope: key.scope, agencyId: key.agencyId, subAccountId: key.subAccountId, role: 'admin', billing: true });
  }
  return result;
}

/** Records that these keys were used (one statement; at most once a minute per key). */
export async function touchApiKeys(db: DbOrTx, keyIds: string[], now: Date): Promise<void> {
  if (keyIds.length === 0) return;
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    // One array parameter, not one per key: a process serving 10,000 keys flushes them all at once.
    .where(and(sql`${apiKeys.id} = any(${pgArray(keyIds)}::text[])`, or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - 60_000)))));
}
