// Database functions live as source files (db/functions/*.sql); migrations carry them. The
// database built by the migrations must hold exactly those functions, as written there.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/lib/rows';
import { testDatabase } from '../support/db';

const dir = path.resolve('db/functions');
const sources = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => ({ name: f.replace(/\.sql$/, ''), text: fs.readFileSync(path.join(dir, f), 'utf8') }));
class Rollback extends Error {}

describe('database functions and their source files', () => {
  it('every plpgsql function of the schema has a source file, and every source file a function', async () => {
    const { db } = await testDatabase();
    const rows = rowsOf<{ name: string }>(await db.execute(sql`
      select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
      where n.nspname = 'public' and l.lanname = 'plpgsql' order by 1`));
    expect(rows.map((r) => r.name)).to.deep.equal(sources.map((s) => s.name).sort());
  });

  for (const source of sources) {
    it(`${source.name}: the migrated function is the one in db/functions/${source.name}.sql`, async () => {
      const { db } = await testDatabase();
      let defs: { schema: string; def: string }[] = [];
      // The source is created in a scratch schema inside a transaction that is rolled back, and
      // both definitions are compared as Postgres prints them.
      await db.transaction(async (tx) => {
        await tx.execute(sql.raw('create schema fn_source'));
        await tx.execute(sql.raw('set local search_path = fn_source, public'));
        await tx.execute(sql.raw(source.text));
        defs = rowsOf<{ schema: string; def: string }>(await tx.execute(sql`
          select n.nspname as schema, pg_get_functiondef(p.oid) as def from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.proname = ${source.name} and n.nspname in ('public', 'fn_source')`));
        throw new Rollback();
      }).catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      });
      const migrated = defs.find((d) => d.schema === 'public')?.def;
      const written = defs.find((d) => d.schema === 'fn_source')?.def.replace(`fn_source.${source.name}(`, `public.${source.name}(`);
      expect(migrated, 'the function exists in the migrated database').to.be.a('string');
      expect(migrated).to.equal(written);
    });
  }
});
