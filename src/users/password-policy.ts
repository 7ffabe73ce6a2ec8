import { ValidationError } from '../lib/errors';

/**
 * How many of the most common passwords are refused. The list is zxcvbn-ts's (ranked by how often
 * each password appeared in leaked sets, the most common first), shipped in the npm package
 * `@zxcvbn-ts/language-common` and read offline.
 */
export const COMMON_PASSWORD_COUNT = 10_000;
/** Shorter words of a name or email (Al, Bo, x) would refuse far too much. */
const MIN_PERSONAL_WORD = 4;

export const COMMON_PASSWORD_MESSAGE = 'This password is one of the most common ones and easy to guess. Choose another.';
export const PERSONAL_PASSWORD_MESSAGE = 'Do not use your email address or your name in your password.';

let common: Promise<Set<string>> | undefined;
/** Loaded on first use (about 50,000 words decompressed), not by every process that imports this. */
function commonPasswords(): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common'].slice(0, COMMON_PASSWORD_COUNT)));
  return common;
}

/** Lower case without Turkish dotted/dotless i trouble ("IŞIK" and "ışık" are the same word). */
const fold = (s: string) => s.normalize('NFKC').toLowerCase().replace(/i\u0307/g, 'i').replace(/ı/g, 'i');
/** Letters and digits only: "john.smith", "John Smith" and "john-smith" are all "johnsmith". */
const squeeze = (s: string) => fold(s).replace(/[^\p{L}\p{N}]/gu, '');

function personalWords(person: { email: string; name?: string | null }): string[] {
  const local = person.email.split('@')[0] ?? '';
  const sources = [local, person.name ?? ''];
  const words = sources.flatMap((s) => [squeeze(s), ...fold(s).split(/[^\p{L}\p{N}]+/u).map(squeeze)]);
  return [...new Set(words)].filter((w) => w.length >= MIN_PERSONAL_WORD);
}

/**
 * Why a new password is refused, or null when it is acceptable (length is checked by the form's
 * schema). Refused: one of the most common passwords in any letter case, and any password that
 * contains the local part of the person's email, their name, or a word of either with 4 or more
 * letters, ignoring letter case, spaces and punctuation.
 */
export async function passwordWeakness(password: string, person: { email: string; name?: string | null }): Promise<string | null> {
  if ((await commonPasswords()).has(password.normalize('NFKC').toLowerCase())) return COMMON_PASSWORD_MESSAGE;
  const squeezed = squeeze(password);
  if (personalWords(person).some((w) => squeezed.includes(w))) return PERSONAL_PASSWORD_MESSAGE;
  return null;
}

/** Throws a form error on `field` when the password is refused. */
export async function assertAcceptablePassword(password: string, person: { email: string; name?: string | null }, field: string): Promise<void> {
  const problem = await passwordWeakness(password, person);
  if (problem) throw new ValidationError({ [field]: problem });
}
