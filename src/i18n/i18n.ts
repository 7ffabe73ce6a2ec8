import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type TFunction } from 'i18next';
import { formatterFor } from './format';

/**
 * The product's languages (DESIGN section 11). Every text people read comes from the catalogs in
 * `locales/<lang>/<namespace>.json`; the namespace is the file's name (common, nav, billing...).
 * Plurals use i18next's `_one`/`_other` suffixes, which follow Intl.PluralRules for the language.
 */
export const LANGUAGES = ['en', 'tr'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const isLang = (v: unknown): v is Lang => v === 'en' || v === 'tr';

export const LOCALES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'locales');

/** Every catalog file, read once: { en: { common: {...}, billing: {...} }, tr: {...} }. */
export function readCatalogs(dir = LOCALES_DIR): Record<Lang, Record<string, Record<string, unknown>>> {
  const out = { en: {}, tr: {} } as Record<Lang, Record<string, Record<string, unknown>>>;
  for (const lang of LANGUAGES) {
    for (const file of readdirSync(join(dir, lang)).filter((f) => f.endsWith('.json')).sort()) {
      out[lang][file.slice(0, -5)] = JSON.parse(readFileSync(join(dir, lang, file), 'utf8')) as Record<string, unknown>;
    }
  }
  return out;
}

const catalogs = readCatalogs();
const i18n = i18next.createInstance();
void i18n.init({
  initAsync: false,
  resources: catalogs,
  supportedLngs: [...LANGUAGES],
  fallbackLng: 'en',
  ns: Object.keys(catalogs.en),
  defaultNS: 'common',
  // EJS escapes what a view prints with <%= %>; escaping here too would show "&amp;" to people.
  interpolation: { escapeValue: false },
  returnNull: false,
});
// "{{renewableFrom, day}}": a calendar day (YYYY-MM-DD) a domain put in an error's details, read
// in the reader's language ("1 Ara 2026" / "1 Dec 2026"). Domains stay free of formatting.
i18n.services.formatter?.add('day', (value: unknown, lng: string | undefined) => formatterFor(isLang(lng) ? lng : 'en').day(String(value)));

export type Translate = TFunction;

/** The translate function of one language. */
export const tFor = (lang: Lang): Translate => i18n.getFixedT(lang);

/**
 * A message for people, in the reader's language. Domains answer in one of two ways:
 * - a catalog key ("ns:key", e.g. "errors:price_too_high") with its parameters;
 * - a fixed English sentence (most validation and refusal messages): it is its own key in the
 *   `messages` catalog, whose Turkish file maps each sentence to its translation.
 * A sentence no catalog has is shown as written (a test keeps every fixed sentence in the catalogs).
 */
export function localize(t: Translate, message: string, params: Record<string, unknown> = {}): string {
  if (KEY.test(message)) return t(message, { ...params, defaultValue: message }) as string;
  return t(message, { ...params, ns: 'messages', keySeparator: false, nsSeparator: false, defaultValue: message }) as string;
}
const KEY = /^[a-z][a-zA-Z]*:[a-zA-Z0-9_.]+$/;

/**
 * The language a person reads: their own choice, else their agency's, else what their browser
 * asks for (Accept-Language, by its q order), else English.
 */
export function pickLanguage(opts: { user?: string | null; agency?: string | null; acceptLanguage?: string | undefined }): Lang {
  if (isLang(opts.user)) return opts.user;
  if (isLang(opts.agency)) return opts.agency;
  return fromAcceptLanguage(opts.acceptLanguage) ?? 'en';
}

export function fromAcceptLanguage(header: string | undefined): Lang | null {
  if (!header) return null;
  const asked = header
    .split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { base: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), i };
    })
    .filter((a) => a.q > 0 && Number.isFinite(a.q))
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return asked.map((a) => a.base).find(isLang) ?? null;
}
