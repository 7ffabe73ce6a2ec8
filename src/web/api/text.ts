import type { Request } from 'express';
import { LANGUAGES, localize, pickLanguage, tFor, type Lang, type Translate } from '../../i18n/i18n';

/**
 * The API's reader's language (Accept-Language; a signed-in page's own choice when a page calls
 * the API): texts the domains keep as messages (failure reasons, warnings, notices) are answered
 * in it, like the `message` of errors. Codes and ids never change with the language.
 */
export const apiT = (req: Request): Translate => req.t ?? tFor(pickLanguage({ acceptLanguage: req.get('accept-language') }));

/** A stored or returned message (key, encoded key or fixed sentence) as text; null stays null. */
export const apiText = <T extends string | null | undefined>(t: Translate, message: T): T | string => (message ? localize(t, message) : message);

/**
 * The usage hot path's refusals (DESIGN section 3) in both languages, resolved once at start-up:
 * a refusal's text is a map lookup, not an i18next call per request. Messages not listed (an
 * auto-billing failure's) fall back to `localize`.
 */
export function fixedTexts(messages: readonly string[]): (lang: Lang, message: string) => string {
  const texts = Object.fromEntries(LANGUAGES.map((lang) => [lang, new Map(messages.map((m) => [m, localize(tFor(lang), m)]))])) as Record<Lang, Map<string, string>>;
  return (lang, message) => texts[lang].get(message) ?? localize(tFor(lang), message);
}

/** The language of an API caller (Accept-Language), remembered per header value (a few hundred at most). */
const langByHeader = new Map<string, Lang>();
export function apiLang(req: Request): Lang {
  const header = req.get('accept-language') ?? '';
  let lang = langByHeader.get(header);
  if (lang === undefined) {
    lang = pickLanguage({ acceptLanguage: header });
    if (langByHeader.size < 500) langByHeader.set(header, lang);
  }
  return lang;
}
