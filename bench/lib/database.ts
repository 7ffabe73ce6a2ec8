import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { Db } from '../../db/client';
import { runMigrations } from '../../db/migrate';

/** Creates a benchmark database if missing (through `postgres`); refuses the test suite's and others named. */
export async function ensureBenchDatabase(url: string, refuse: string[] = []): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name || name === 'test' || refuse.includes(name)) throw new Error(`refusing to benchmark on database "${name}"`);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) await admin.unsafe(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/** Empty schemas, then the project's own migrations. */
export async function rebuildSchema(db: Db): Promise<void> {
  await db.execute(sql`drop schema if exists drizzle cascade`);
  await db.execute(sql`drop schema if exists public cascade`);
  await db.execute(sql`create schema public`);
  await runMigrations({ db, driver: 'postgres' });
}
