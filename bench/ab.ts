// Interleaved A/B of one benchmark at two commits (`npx tsx bench/ab.ts <bench> [refA] [refB]`).
//
// Checks refA and refB out into temporary git worktrees outside the repository (each with its own
// node_modules: a symlink to this checkout's when package.json, package-lock.json and patches/ are
// identical, otherwise a cached `npm ci` keyed by their hash), then runs bench/<bench>.ts of each
// worktree alternately, A, B, A, B ..., with the same environment, so that a machine whose speed
// drifts (other engineers' tests, a soak test, CPU stolen by the host) slows both alike. Each run's
// figures are parsed from its own output and printed side by side per round, with the median of A
// and of B and the ratio B/A. The bench of each commit is its own version (it matches that
// commit's src/), on the same database, rebuilt from that commit's migrations on every run.
//
//   npx tsx bench/ab.ts grants|invoices|usage [refA=96784b3] [refB=HEAD]
//   BENCH_AB_ROUNDS   rounds of A then B (default 3)
//   BENCH_AB_KEEP     1: keep the worktrees (reused by the next run at the same commits)
//   BENCH_AB_FROM_LOGS  a folder of an earlier run's raw outputs: prints its figures again, runs nothing
//   BENCH_AB_DIR      worktrees, the node_modules cache and each run's raw output (default <tmpdir>/kontor-ab)
//   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/kontor_bench_ab_<bench>, dropped at the end
//                       (a database of its own: another engineer's run of the same bench does not collide)
//   Every other variable reaches both runs unchanged: the bench's own options (grants, invoices:
//   BENCH_SIZES, BENCH_REPEAT; usage: BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS) make it shorter.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const log = (s = '') => process.stdout.write(`${s}\n`);

/** One parsed figure of a run. `key`: compared across runs; `better`: which way is faster. */
interface Figure {
  key: string;
  value: number;
  better: 'lower' | 'higher';
  /** The figure the comparison is about (the others are the same-run baselines, i.e. the noise). */
  primary: boolean;
}
interface Parsed {
  figures: Figure[];
  /** Anything the run reported as wrong (rows differing, a broken invariant, failed requests). */
  problems: string[];
}

const num = (s: string) => Number(s.replace(/,/g, ''));

/** grants: "subscriptions  job  baseline  ratio  within 2x  invariant  same rows  runs" rows. */
function parseGrants(out: string): Parsed {
  const figures: Figure[] = [];
  const problems: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+)\s+(\d+) ms\s+(\d+) ms\s+([\d.]+)\s+(?:PASS|MISS)\s+(ok|\d+ bad)\s+(yes|NO)\b/.exec(line);
    if (m) {
      const n = m[1]!;
      figures.push({ key: `job ${n}, ms`, value: num(m[2]!), better: 'lower', primary: true });
      figures.push({ key: `baseline ${n}, ms`, value: num(m[3]!), better: 'lower', primary: false });
      figures.push({ key: `job/baseline ${n}`, value: Number(m[4]), better: 'lower', primary: false });
      if (m[5] !== 'ok') problems.push(`${n}: invariant ${m[5]}`);
      if (m[6] !== 'yes') problems.push(`${n}: job and baseline left different rows`);
    } else if (/^\s+(note|differs):/.test(line)) problems.push(line.trim());
  }
  return { figures, problems };
}

/** invoices: "accounts  items  job  baseline  ratio  within 2x  same rows  runs" rows. */
function parseInvoices(out: string): Parsed {
  const figures: Figure[] = [];
  const problems: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+)\s+([\d,]+)\s+(\d+) ms\s+(\d+) ms\s+([\d.]+)\s+(?:PASS|MISS)\s+(yes|NO)\b/.exec(line);
    if (m) {
      const n = m[1]!;
      figures.push({ key: `job ${n}, ms`, value: num(m[3]!), better: 'lower', primary: true });
      figures.push({ key: `baseline ${n}, ms`, value: num(m[4]!), better: 'lower', primary: false });
      figures.push({ key: `job/baseline ${n}`, value: Number(m[5]), better: 'lower', primary: false });
      if (m[6] !== 'yes') problems.push(`${n}: job and baseline left different invoices`);
    } else if (/^\s+(note|differs):/.test(line)) problems.push(line.trim());
  }
  return { figures, problems };
}

/** usage: the "scenario  req/s  events/s  p50 ms  p99 ms  non-2xx" table and the correctness line. */
function parseUsage(out: string): Parsed {
  const rows = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s{2,}/);
    if (cols.length === 6 && /^(bare Express|pgbench naive|usage API|usage batch)/.test(cols[0]!)) rows.set(cols[0]!, cols.slice(1));
  }
  const figures: Figure[] = [];
  const problems: string[] = [];
  const col = (label: string, i: number) => {
    const r = rows.get(label);
    return r ? num(r[i]!.replace('*', '')) : NaN;
  };
  const add = (key: string, value: number, better: Figure['better'], primary: boolean) => {
    if (Number.isFinite(value)) figures.push({ key, value, better, primary });
  };
  const hot = col('usage API, 1 hot sub-account', 0);
  const spread = col('usage API, 10k sub-accounts', 0);
  const bareHot = col('bare Express, 1 key', 0);
  const bareSpread = col('bare Express, 10k keys', 0);
  add('hot, req/s', hot, 'higher', true);
  add('10k, req/s', spread, 'higher', true);
  add('batch, events/s', col('usage batch, 1000 events/request, 10k', 1), 'higher', true);
  add('hot p99, ms', col('usage API, 1 hot sub-account', 3), 'lower', false);
  add('bare Express 1 key, req/s', bareHot, 'higher', false);
  add('bare Express 10k, req/s', bareSpread, 'higher', false);
  add('pgbench hot, tps', col('pgbench naive tx, 1 hot row', 0), 'higher', false);
  add('pgbench 10k, tps', col('pgbench naive tx, 10k rows', 0), 'higher', false);
  add('hot / bare', hot / bareHot, 'higher', false);
  add('10k / bare', spread / bareSpread, 'higher', false);
  // "CPU per answered request, us": server, Postgres, load generator, idle. The server's column is
  // the least disturbed by other processes (Postgres's counts every Postgres process on the machine).
  const cpu = new Map<string, number>();
  const table = out.split(/^CPU per answered request.*$/m)[1] ?? '';
  for (const line of table.split('\n').slice(2, 6)) {
    const cols = line.trim().split(/\s{2,}/);
    if (cols.length === 5) cpu.set(cols[0]!, num(cols[1]!));
  }
  add('app server CPU/request hot, us', cpu.get('usage API, 1 hot sub-account') ?? NaN, 'lower', false);
  add('app server CPU/request 10k, us', cpu.get('usage API, 10k sub-accounts') ?? NaN, 'lower', false);
  add('bare server CPU/request 1 key, us', cpu.get('bare Express, 1 key') ?? NaN, 'lower', false);
  add('bare server CPU/request 10k, us', cpu.get('bare Express, 10k keys') ?? NaN, 'lower', false);
  for (const [label, r] of rows) if (r[4] !== '0') problems.push(`${label}: non-2xx ${r[4]}`);
  const correct = /^Correctness after the load[\s\S]*?: (OK|BROKEN)\s*$/m.exec(out);
  if (!correct) problems.push('no correctness line');
  else if (correct[1] !== 'OK') problems.push('correctness after the load: BROKEN');
  return { figures, problems };
}

const BENCHES: Record<string, { parse: (out: string) => Parsed; database: string }> = {
  grants: { parse: parseGrants, database: 'kontor_bench_ab_grants' },
  invoices: { parse: parseInvoices, database: 'kontor_bench_ab_invoices' },
  usage: { parse: parseUsage, database: 'kontor_bench_ab_usage' },
};

const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();

/** package.json, package-lock.json and patches/ of a checkout: equal hashes, equal node_modules. */
function depsHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(`${f}\0`).update(fs.readFileSync(path.join(dir, f)));
  const patches = path.join(dir, 'patches');
  if (fs.existsSync(patches)) for (const f of fs.readdirSync(patches).sort()) h.update(`patches/${f}\0`).update(fs.readFileSync(path.join(patches, f)));
  return h.digest('hex').slice(0, 16);
}

/** node_modules for a worktree: this checkout's when identical, else `npm ci` once into base/deps-<hash>. */
function nodeModulesFor(dir: string, base: string): string {
  const hash = depsHash(dir);
  if (hash === depsHash(root) && fs.existsSync(path.join(root, 'node_modules'))) return path.join(root, 'node_modules');
  const cache = path.join(base, `deps-${hash}`);
  const done = path.join(cache, 'node_modules', '.kontor-ab-complete');
  if (!fs.existsSync(done)) {
    fs.rmSync(cache, { recursive: true, force: true });
    fs.mkdirSync(cache, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(dir, f), path.join(cache, f));
    if (fs.existsSync(path.join(dir, 'patches'))) fs.cpSync(path.join(dir, 'patches'), path.join(cache, 'patches'), { recursive: true });
    log(`  npm ci for ${path.basename(dir)} into ${cache} (cached for later runs)`);
    execFileSync('npm', ['ci', '--no-fund', '--no-audit', '--loglevel=error'], { cwd: cache, stdio: ['ignore', 'ignore', 'inherit'] });
    fs.writeFileSync(done, '');
  }
  return path.join(cache, 'node_modules');
}

/** A detached worktree at `sha` under base (reused when an earlier run kept it), with node_modules. */
function worktree(sha: string, base: string): string {
  const dir = path.join(base, `wt-${sha.slice(0, 12)}`);
  git('worktree', 'prune');
  const at = fs.existsSync(path.join(dir, '.git')) ? execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim() : null;
  if (at !== sha) {
    if (fs.existsSync(dir)) {
      try {
        git('worktree', 'remove', '--force', dir);
      } catch {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    git('worktree', 'add', '--detach', '--quiet', dir, sha);
  }
  const modules = path.join(dir, 'node_modules');
  fs.rmSync(modules, { recursive: true, force: true });
  fs.symlinkSync(nodeModulesFor(dir, base), modules, 'dir');
  return dir;
}

interface Run {
  side: 'A' | 'B';
  round: number;
  loadBefore: number;
  seconds: number;
  parsed: Parsed;
}

/** One run of bench/<bench>.ts in a worktree; its output is kept in logDir. */
async function runBench(dir: string, bench: string, env: NodeJS.ProcessEnv, logFile: string): Promise<{ out: string; seconds: number }> {
  const t0 = Date.now();
  const load = os.loadavg()[0]!;
  const child = spawn(path.join(dir, 'node_modules', '.bin', 'tsx'), [`bench/${bench}.ts`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  fs.writeFileSync(logFile, `${META} load=${load.toFixed(2)} seconds=${((Date.now() - t0) / 1000).toFixed(1)} dir=${dir}\n${out}\n--- stderr ---\n${err}`);
  if (code !== 0) throw new Error(`bench/${bench}.ts in ${dir} exited with ${code}; output in ${logFile}\n${err.slice(-2000)}`);
  return { out, seconds: (Date.now() - t0) / 1000 };
}

const META = '# bench/ab.ts run:';

/** The runs of an earlier A/B, from its raw outputs (round<N>-<A|B>.txt): figures printed again. */
function runsFromLogs(dir: string, parse: (out: string) => Parsed): Run[] {
  const runs: Run[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = /^round(\d+)-(A|B)\.txt$/.exec(f);
    if (!m) continue;
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const meta = text.startsWith(META) ? text.slice(0, text.indexOf('\n')) : '';
    const field = (k: string) => Number(new RegExp(`${k}=([\\d.]+)`).exec(meta)?.[1] ?? NaN);
    runs.push({ side: m[2] as 'A' | 'B', round: Number(m[1]), loadBefore: field('load'), seconds: field('seconds'), parsed: parse(text.split('\n--- stderr ---\n')[0]!) });
  }
  return runs.sort((a, b) => a.round - b.round || a.side.localeCompare(b.side));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number) =>
  !Number.isFinite(x) ? '-' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });

async function dropDatabase(url: string) {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    log(`(could not drop ${name}: ${(e as Error).message})`);
  } finally {
    await sql.end();
  }
}

async function main() {
  const [bench, refA = '96784b3', refB = 'HEAD'] = process.argv.slice(2);
  const spec = bench ? BENCHES[bench] : undefined;
  if (!bench || !spec) {
    process.stderr.write(`usage: npx tsx bench/ab.ts <${Object.keys(BENCHES).join('|')}> [refA] [refB]\n`);
    process.exit(2);
  }
  const fromLogs = process.env.BENCH_AB_FROM_LOGS;
  const { runs, nameA, nameB } = fromLogs
    ? { runs: runsFromLogs(path.resolve(fromLogs), spec.parse), nameA: 'A', nameB: 'B' }
    : await runAB(bench, spec, refA, refB);
  if (fromLogs) log(`Figures of an earlier A/B of bench/${bench}.ts, read again from the raw outputs in ${fromLogs}.`);
  printSideBySide(runs, nameA, nameB, !fromLogs);
}

/** Worktrees at both commits, then rounds of A then B; the worktrees go at the end unless kept. */
async function runAB(bench: string, spec: (typeof BENCHES)[string], refA: string, refB: string): Promise<{ runs: Run[]; nameA: string; nameB: string }> {
  const rounds = Math.max(1, Number(process.env.BENCH_AB_ROUNDS ?? 3));
  const keep = ['1', 'true', 'yes'].includes(process.env.BENCH_AB_KEEP ?? '');
  const base = path.resolve(process.env.BENCH_AB_DIR ?? path.join(os.tmpdir(), 'kontor-ab'));
  const dbUrl = process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/${spec.database}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(base, 'logs', `${stamp}-${bench}`);
  fs.mkdirSync(logDir, { recursive: true });

  const shaA = git('rev-parse', '--verify', `${refA}^{commit}`);
  const shaB = git('rev-parse', '--verify', `${refB}^{commit}`);
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_DATABASE_URL: dbUrl };
  const options = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && !k.startsWith('BENCH_AB_')).map(([k, v]) => `${k}=${v}`);

  log(`A/B of bench/${bench}.ts: A = ${refA} (${shaA.slice(0, 7)}), B = ${refB} (${shaB.slice(0, 7)}); ${rounds} rounds of A then B.`);
  log(`Machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min) at the start.`);
  log(`Options passed to both: ${options.length ? options.join(' ') : '(none: the bench defaults)'}; database ${dbUrl}.`);
  log(`Raw output of every run: ${logDir}`);
  const dirs: string[] = [];
  const cleanUp = () => {
    if (keep) return;
    for (const d of dirs) {
      try {
        git('worktree', 'remove', '--force', d);
      } catch {
        fs.rmSync(d, { recursive: true, force: true });
      }
    }
    try {
      git('worktree', 'prune');
    } catch {
      // nothing to prune
    }
  };
  process.once('SIGINT', () => {
    cleanUp();
    process.exit(130);
  });

  const runs: Run[] = [];
  try {
    const dirA = worktree(shaA, base);
    dirs.push(dirA);
    const dirB = shaB === shaA ? dirA : worktree(shaB, base);
    if (dirB !== dirA) dirs.push(dirB);
    log(`Worktrees: A ${dirA}, B ${dirB}${keep ? ' (kept)' : ' (removed at the end; BENCH_AB_KEEP=1 keeps them)'}.`);
    log('');
    for (let round = 1; round <= rounds; round++) {
      for (const [side, dir] of [['A', dirA], ['B', dirB]] as const) {
        const loadBefore = os.loadavg()[0]!;
        const { out, seconds } = await runBench(dir, bench, env, path.join(logDir, `round${round}-${side}.txt`));
        const parsed = spec.parse(out);
        if (!parsed.figures.some((f) => f.primary)) throw new Error(`no figures parsed from round ${round} ${side}; output in ${logDir}`);
        runs.push({ side, round, loadBefore, seconds, parsed });
        const primary = parsed.figures.filter((f) => f.primary).map((f) => `${f.key} ${fmt(f.value)}`).join('; ');
        log(`round ${round} ${side}: ${seconds.toFixed(0)} s, load ${loadBefore.toFixed(2)} before; ${primary}${parsed.problems.length ? `; PROBLEMS: ${parsed.problems.join('; ')}` : ''}`);
      }
    }
  } finally {
    cleanUp();
    if (!keep && !process.env.BENCH_DATABASE_URL) await dropDatabase(dbUrl);
  }

  return { runs, nameA: `${refA} ${shaA.slice(0, 7)}`, nameB: `${refB} ${shaB.slice(0, 7)}` };
}

function printSideBySide(runs: Run[], nameA: string, nameB: string, live: boolean) {
  const keys: Figure[] = [];
  for (const r of runs) for (const f of r.parsed.figures) if (!keys.some((k) => k.key === f.key)) keys.push(f);
  const value = (r: Run, key: string) => r.parsed.figures.find((f) => f.key === key)?.value ?? NaN;
  const of = (side: 'A' | 'B') => runs.filter((r) => r.side === side);
  const keyWidth = Math.max(24, ...keys.map((k) => k.key.length));
  const cols = runs.map((r) => `${r.side}${r.round}`);
  const w = 9;
  const head = [''.padEnd(keyWidth), ...cols.map((c) => c.padStart(w)), 'median A'.padStart(w + 1), 'median B'.padStart(w + 1), 'B/A'.padStart(6), 'paired'.padStart(7), '  B slower? (by the medians)'];
  log('');
  log(`Side by side (A = ${nameA}, B = ${nameB}; columns in the order they ran; * = the figure compared, the others are same-run baselines;`);
  log('B/A: median of B over median of A; paired: the median over rounds of B over the A run just before it):');
  log(head.join(' '));
  const row = (label: string, xs: number[], extra: string[] = []) => log([label.padEnd(keyWidth), ...xs.map((x) => fmt(x).padStart(w)), ...extra].join(' '));
  row('load average (1 min) before', runs.map((r) => r.loadBefore));
  row('wall time of the run, s', runs.map((r) => r.seconds));
  for (const k of keys) {
    const a = median(of('A').map((r) => value(r, k.key)).filter(Number.isFinite));
    const b = median(of('B').map((r) => value(r, k.key)).filter(Number.isFinite));
    const ratio = b / a;
    // Each round's B over the A run just before it, then the median: drift between rounds cancels.
    const paired = median(of('B').map((r) => value(r, k.key) / value(runs.find((x) => x.side === 'A' && x.round === r.round)!, k.key)).filter(Number.isFinite));
    const slower = k.better === 'lower' ? ratio > 1 : ratio < 1;
    const pct = Math.abs((k.better === 'lower' ? ratio - 1 : 1 - ratio) * 100);
    row(`${k.primary ? '* ' : '  '}${k.key}`, runs.map((r) => value(r, k.key)), [
      fmt(a).padStart(w + 1),
      fmt(b).padStart(w + 1),
      ratio.toFixed(2).padStart(6),
      paired.toFixed(2).padStart(7),
      `  ${slower ? `slower by ${pct.toFixed(0)}%` : `faster by ${pct.toFixed(0)}%`}`,
    ]);
  }
  const spreads = keys.filter((k) => k.primary).map((k) => {
    const spread = (side: 'A' | 'B') => {
      const xs = of(side).map((r) => value(r, k.key)).filter(Number.isFinite);
      return xs.length > 1 ? `${((Math.max(...xs) / Math.min(...xs) - 1) * 100).toFixed(0)}%` : '-';
    };
    return `${k.key}: A ${spread('A')}, B ${spread('B')}`;
  });
  log('');
  log(`Spread between runs of the same code (max/min - 1), the noise to read B/A against: ${spreads.join('; ')}.`);
  const problems = runs.flatMap((r) => r.parsed.problems.map((p) => `${r.side}${r.round} ${p}`));
  log(problems.length ? `Problems reported by the runs: ${problems.join('; ')}` : 'Every run reported its correctness checks as passed.');
  if (live) log(`Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min).`);
}

await main();
