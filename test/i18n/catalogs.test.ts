import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCatalogs } from '../../src/i18n/i18n';
import { filesUnder, ROOT, rel, sourceSentences, viewFindings } from './scan';

/**
 * The catalogs are whole (DESIGN section 11): every key in both languages with the same
 * parameters, and no text for people outside them. Files still being moved to the catalogs are
 * listed in test/i18n/pending/*.txt; the lists only shrink, and an empty list is deleted.
 */
const catalogs = readCatalogs();

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = String(v);
  }
  return out;
}
/** Plural forms are one key: "x_one" and "x_other" are "x" (Turkish and English both have one and other). */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');
const params = (text: string) => [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]!).sort();

const pendingDir = join(ROOT, 'test', 'i18n', 'pending');
const pending = new Set(
  existsSync(pendingDir)
    ? readdirSync(pendingDir).flatMap((f) => readFileSync(join(pendingDir, f), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))
    : [],
);

describe('i18n: the catalogs', () => {
  it('have the same namespaces and keys in English and Turkish, with the same parameters', () => {
    expect(Object.keys(catalogs.tr).sort()).to.deep.equal(Object.keys(catalogs.en).sort());
    const problems: string[] = [];
    for (const ns of Object.keys(catalogs.en)) {
      const en = flatten(catalogs.en[ns]!), tr = flatten(catalogs.tr[ns] ?? {});
      const enBase = new Map(Object.keys(en).map((k) => [base(k), k]));
      const trBase = new Map(Object.keys(tr).map((k) => [base(k), k]));
      for (const [b, k] of enBase) {
        if (!trBase.has(b)) problems.push(`${ns}:${k} has no Turkish text`);
        else if (params(en[k]!).join() !== params(tr[trBase.get(b)!]!).join()) problems.push(`${ns}:${k} takes {{${params(en[k]!).join(', ')}}} in English, {{${params(tr[trBase.get(b)!]!).join(', ')}}} in Turkish`);
      }
      for (const [b, k] of trBase) if (!enBase.has(b)) problems.push(`${ns}:${k} has no English text`);
      for (const [k, v] of Object.entries(tr)) if (!v.trim()) problems.push(`${ns}:${k} is empty in Turkish`);
    }
    expect(problems).to.deep.equal([]);
  });

  it('hold every fixed English sentence as its own key in the messages catalog', () => {
    const en = catalogs.en.messages ?? {}, tr = catalogs.tr.messages ?? {};
    const problems = Object.entries(en).filter(([k, v]) => k !== v).map(([k]) => `messages: the English text of "${k}" must be the key itself`);
    expect(problems).to.deep.equal([]);
    expect(Object.keys(tr).sort()).to.deep.equal(Object.keys(en).sort());
  });
});

describe('i18n: no text for people outside the catalogs', () => {
  // The sandboxes stand in for a bank's 3-D Secure page, iyzico's and Stripe's hosted pages:
  // they are those companies' screens, not ours, and stay as the real ones read in tests.
  const views = filesUnder(join(ROOT, 'views'), '.ejs').filter((f) => !rel(f).startsWith('views/sandbox/'));
  const sources = [...filesUnder(join(ROOT, 'src'), '.ts'), ...filesUnder(join(ROOT, 'jobs'), '.ts')].filter((f) => !rel(f).startsWith('src/demo/'));
  const messages = new Set(Object.keys(catalogs.tr.messages ?? {}));

  it('views print only catalog text', () => {
    const problems = views.filter((f) => !pending.has(rel(f))).flatMap((f) => viewFindings(f).map((x) => `${rel(f)}: ${x}`));
    expect(problems).to.deep.equal([]);
  });

  it('fixed sentences in the code are in the messages catalog, and no sentence is built from pieces', () => {
    const problems: string[] = [];
    for (const f of sources.filter((x) => !pending.has(rel(x)))) {
      const { fixed, built } = sourceSentences(f);
      for (const s of fixed) if (!messages.has(s)) problems.push(`${rel(f)}: "${s}" is not in locales/*/messages.json`);
      for (const s of built) problems.push(`${rel(f)}: a sentence built in code ("${s}"): use a catalog key with parameters`);
    }
    expect(problems).to.deep.equal([]);
  });

  it('lists as pending only files that still need it', () => {
    const stale = [...pending].filter((p) => {
      const f = join(ROOT, p);
      if (!existsSync(f)) return true;
      if (p.endsWith('.ejs')) return viewFindings(f).length === 0;
      const s = sourceSentences(f);
      return s.built.length === 0 && s.fixed.every((x) => messages.has(x));
    });
    expect(stale, 'remove these from test/i18n/pending').to.deep.equal([]);
  });
});
