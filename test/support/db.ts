import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { ensurePlatform } from '../../src/bootstrap/platform';
import { DATABASE_URL } from './env';

let database: Promise<Database> | undefined;

/** The run's database, created and migrated from an empty schema on first use. */
export function testDatabase(): Promise<Database> {
  database ??= (async () => {
    const d = await openDatabase({ databaseUrl: DATABASE_URL, poolSize: 20 });
    for (const stmt of ['drop schema if exists drizzle cascade', 'drop schema if exists public cascade', 'create schema public']) {
      await d.db.execute(sql.raw(stmt));
    }
    await runMigrations(d);
    await ensurePlatform(d.db);
    return d;
  })();
  return database;
}

/** Empties every table (keeps the schema), so each suite starts from a known state. */
export async function resetData(): Promise<void> {
  const { db } = await testDatabase();
  const res = await db.execute(sql`select tablename from pg_tables where schemaname = 'public'`);
  const rows = (Array.isArray(res) ? res : (res as { rows: { tablename: string }[] }).rows) as { tablename: string }[];
  if (rows.length) await db.execute(sql.raw(`truncate ${rows.map((r) => `"${r.tablename}"`).join(', ')} restart identity cascade`));
  await ensurePlatform(db);
}

export async function closeTestDatabase(): Promise<void> {
  if (!database) return;
  const pending = database;
  database = undefined;
  const d = await pending.catch(() => undefined);
  await d?.close();
}

/** Rows of a raw query on either driver. */
export function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : (res as { rows: T[] }).rows) as T[];
}
