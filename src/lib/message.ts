/**
 * A message for people that carries values (DESIGN section 11). Domains never build a sentence
 * from pieces: they name a catalog key and its parameters, kept together in one string
 * (`errors:tooLong{"label":"Name","max":200}`) so the message travels wherever text does (an
 * AppError's message, a field error, a zod issue, a stored failure reason, a flash) and is read in
 * the reader's language at the last moment by `localize` (src/i18n/i18n.ts).
 *
 * Parameters are plain JSON values. The catalog text decides how they read:
 * - `{{n, number}}` a count, grouped for the language (1,000 / 1.000);
 * - `{{price, money}}` a `money(minor, currency)` value (USD 10.00 / USD 10,00);
 * - `{{from, day}}` a calendar day given as YYYY-MM-DD;
 * - `{{at, dateTime}}` a moment (ISO text), in the zone named by the `zone` parameter (else Istanbul);
 * - a parameter named `label` (a form field's name, "Company name") is read from `errors:label.*`;
 * - a parameter that is itself a message (a key, an encoded key, a fixed sentence of the
 *   messages catalog) is translated before it is put in.
 * A message without parameters is the bare key, or a fixed English sentence (its own key in the
 * `messages` catalog).
 */
export type MessageParams = Record<string, unknown>;

export const msg = (key: string, params?: MessageParams): string =>
  params && Object.keys(params).length > 0 ? `${key}${JSON.stringify(params)}` : key;

/** An amount for a `{{x, money}}` parameter. */
export const money = (minor: number, currency: string) => ({ minor, currency });

const KEY = /^[a-z][a-zA-Z]*:[a-zA-Z0-9_.]+$/;
const ENCODED = /^([a-z][a-zA-Z]*:[a-zA-Z0-9_.]+)(\{[\s\S]*\})$/;

/** A message's key and parameters (key null: a fixed sentence or plain text). */
export function readMessage(message: string): { key: string | null; params: MessageParams } {
  if (KEY.test(message)) return { key: message, params: {} };
  const m = ENCODED.exec(message);
  if (m) {
    try {
      const params = JSON.parse(m[2]!) as unknown;
      if (params && typeof params === 'object' && !Array.isArray(params)) return { key: m[1]!, params: params as MessageParams };
    } catch {
      // Not JSON: plain text that happens to look like a key.
    }
  }
  return { key: null, params: {} };
}
