// Makes a migration from database function source files: `npm run db:function -- usage_apply
// [other_function ...]`. drizzle-kit creates an empty custom migration (journal and snapshot
// included); this fills it with the functions' CREATE OR REPLACE statements as written in
// db/functions/. Landed migrations are never edited: a changed function is a new migration.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !/^\w+$/.test(n))) {
  process.stderr.write('usage: npm run db:function -- <function name> [...]  (files in db/functions/)\n');
  process.exit(2);
}
const bodies = names.map((n) => {
  const file = path.join(here, 'functions', `${n}.sql`);
  if (!fs.existsSync(file)) {
    process.stderr.write(`no such file: ${path.relative(process.cwd(), file)}\n`);
    process.exit(2);
  }
  return fs.readFileSync(file, 'utf8').trim();
});

execFileSync('npx', ['drizzle-kit', 'generate', '--custom', `--name=${names.join('_')}_functions`], { stdio: 'inherit', cwd: path.resolve(here, '..') });
const journal = JSON.parse(fs.readFileSync(path.join(here, 'migrations/meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
const tag = journal.entries.at(-1)!.tag;
const target = path.join(here, 'migrations', `${tag}.sql`);
// One statement per breakpoint: a function body holds semicolons of its own.
fs.writeFileSync(target, bodies.join('\n--> statement-breakpoint\n') + '\n');
process.stderr.write(`wrote ${path.relative(process.cwd(), target)} from ${names.map((n) => `db/functions/${n}.sql`).join(', ')}\n`);
