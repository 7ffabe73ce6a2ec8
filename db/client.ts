// One database handle for the whole process: postgres.js when DATABASE_URL is set, embedded
// PGlite otherwise. Both speak the same drizzle API, so nothing above this file knows which.
import fs from 'node:fs';
import path from 'node:path';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import * as schema from './schema';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Repository functions take either the database or an open transaction. */
export type DbOrTx = Db | Tx;

/** The postgres.js client behind `db` (Postgres only), for hot paths that need prepared statements. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawSql = import('postgres').Sql<any>;

/**
 * LISTEN on a channel: `onNotify` gets each payload; `onListen` runs whenever the subscription
 * is (re)established, so a listener can drop what it may have missed while disconnected.
 */
export type Listen = (channel: string, onNotify: (payload: string) => void, onListen: () => void) => Promise<void>;

export interface Database {
  db: Db;
  driver: 'postgres' | 'pglite';
  raw?: RawSql;
  listen: Listen;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** PGlite folder; undefined keeps PGlite in memory (tests). */
  pgliteDir?: string | undefined;
  poolSize?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const client = postgres(opts.databaseUrl, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      // bigint (int8) comes back as a JS number: every amount we store is a safe integer, and a
      // value that is not would throw rather than silently lose precision.
      types: {
        bigint: {
          to: 20,
          from: [20],
          serialize: (v: number | bigint) => v.toString(),
          parse: (v: string) => {
            const n = Number(v);
            if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${v} exceeds the safe integer range`);
            return n;
          },
        },
      },
    });
    const db = drizzle(client, { schema, casing: 'snake_case' }) as unknown as Db;
    // postgres.js keeps one extra connection for LISTEN and re-listens after a reconnect.
    const listen: Listen = async (channel, onNotify, onListen) => {
      await client.listen(channel, onNotify, onListen);
    };
    return { db, driver: 'postgres', raw: client as unknown as RawSql, listen, close: () => client.end({ timeout: 5 }) };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  if (opts.pgliteDir) fs.mkdirSync(path.resolve(opts.pgliteDir), { recursive: true });
  const client = opts.pgliteDir ? new PGlite(path.resolve(opts.pgliteDir)) : new PGlite();
  await client.waitReady;
  const db = drizzle(client, { schema, casing: 'snake_case' }) as unknown as Db;
  // PGlite lives in this process: its subscription never drops.
  const listen: Listen = async (channel, onNotify, onListen) => {
    await client.listen(channel, onNotify);
    onListen();
  };
  return { db, driver: 'pglite', listen, close: () => client.close() };
}
