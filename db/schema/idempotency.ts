import { sql } from 'drizzle-orm';
import { index, integer, json, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt } from './common';

/**
 * API requests sent with an `Idempotency-Key` (src/web/api/idempotency.ts): the first answer per
 * API key and key, replayed to every retry with the same request for 24 hours.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** The API key that sent it: keys never collide across callers. */
    apiKeyId: text('api_key_id').notNull(),
    key: text('key').notNull(),
    /** sha256 of the method, path and canonical JSON body. */
    requestHash: text('request_hash').notNull(),
    /** Null while the first request runs. */
    responseStatus: integer('response_status'),
    /** json, not jsonb: a replay answers the same text, keys in the same order. */
    responseBody: json('response_body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt), index('idempotency_keys_running_idx').on(t.createdAt).where(sql`${t.responseStatus} is null`)],
);
