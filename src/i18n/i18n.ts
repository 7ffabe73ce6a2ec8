import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type TFunction } from 'i18next';
import { formatterFor } from './format';
import '../lib/validation'; // zod's issues as catalog keys (z.config)
import { readMessage } from '../lib/message';

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

// Values inside messages read as the language reads them (src/lib/message.ts).
const zoneOf = (o: unknown) => (typeof (o as { zone?: unknown })?.zone === 'string' ? (o as { zone: string }).zone : undefined);
const langOf = (lng: string | undefined): Lang => (lng === 'tr' ? 'tr' : 'en');
const moneyText = (v: unknown, lang: Lang): string => {
  // Amounts in several currencies read as one sum: "USD 10.00 + EUR 5.00".
  if (Array.isArray(v)) return v.map((x) => moneyText(x, lang)).join(' + ');
  const m = v as { minor?: unknown; currency?: unknown };
  return typeof m?.minor === 'number' && typeof m.currency === 'string' ? formatterFor(lang).money(m.minor, m.currency) : String(v);
};
i18n.services.formatter?.add('money', (v: unknown, lng) => moneyText(v, langOf(lng)));
i18n.services.formatter?.add('date', (v: unknown, lng, o) => formatterFor(langOf(lng), zoneOf(o)).date(new Date(String(v))));
i18n.services.formatter?.add('day', (v: unknown, lng) => formatterFor(langOf(lng)).day(String(v)));
i18n.services.formatter?.add('dateTime', (v: unknown, lng, o) => formatterFor(langOf(lng), zoneOf(o)).dateTime(new Date(String(v))));

export type Translate = TFunction;

/** The translate function of one language (one per language for the process: the catalogs never change). */
export const tFor = (lang: Lang): Translate => fixedT[lang];

/** Texts asked for by key alone (most of a page's), at most this many per language: read once. */
const MAX_PLAIN = 10_000;
function withPlainTexts(t: Translate): Translate {
  const plain = new Map<string, string>();
  const call = t as unknown as (...args: unknown[]) => string;
  return ((...args: unknown[]) => {
    const key = args[0];
    if (args.length !== 1 || typeof key !== 'string') return call(...args);
    let text = plain.get(key);
    if (text === undefined) {
      text = call(key);
      if (plain.size < MAX_PLAIN) plain.set(key, text);
    }
    return text;
  }) as unknown as Translate;
}
const fixedT: Record<Lang, Translate> = { en: withPlainTexts(i18n.getFixedT('en')), tr: withPlainTexts(i18n.getFixedT('tr')) };

/**
 * A message for people, in the reader's language. Domains answer in one of three ways:
 * - a catalog key ("ns:key", e.g. "errors:forbidden"), its parameters given here (an AppError's details);
 * - a key with its parameters in one string (`msg(key, params)` of src/lib/message.ts);
 * - a fixed English sentence (most validation and refusal messages): it is its own key in the
 *   `messages` catalog, whose Turkish file maps each sentence to its translation.
 * Parameters that are messages themselves (or lists of them) are translated first, and a `label` parameter (a form
 * field's name) is read from `errors:label.*`. A sentence no catalog has is shown as written
 * (a test keeps every fixed sentence in the catalogs).
 */
export function localize(t: Translate, message: string, params: Record<string, unknown> = {}): string {
  const read = readMessage(message);
  const all: Record<string, unknown> = {};
  for (const [k, v] of Object.entries({ ...params, ...read.params })) {
    if (k === 'label' && typeof v === 'string') all[k] = t(`errors:label.${v}`, { defaultValue: v }) as string;
    else if (typeof v === 'string') all[k] = v !== message && isMessage(v) ? localize(t, v) : v;
    // A list of messages (sentences) reads as one text.
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && isMessage(x))) all[k] = (v as string[]).map((x) => localize(t, x)).join(' ');
    else all[k] = v;
  }
  if (read.key) return t(read.key, { ...all, defaultValue: message }) as string;
  return t(message, { ...all, ns: 'messages', keySeparator: false, nsSeparator: false, defaultValue: message }) as string;
}
const isMessage = (v: string) => readMessage(v).key !== null || i18n.exists(v, { ns: 'messages', keySeparator: false, nsSeparator: false });

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

/**
 * Whether a message has its text in both catalogs (a key, an encoded key with its parameters, or
 * a fixed sentence of the messages catalog): what people read is never the raw message.
 */
export function inCatalogs(message: string): boolean {
  const read = readMessage(message);
  const missing = '\u0000';
  return LANGUAGES.every((lang) =>
    read.key
      ? fixedT[lang](read.key, { ...read.params, defaultValue: missing }) !== missing
      : i18n.exists(message, { lng: lang, ns: 'messages', keySeparator: false, nsSeparator: false }),
  );
}
