/**
 * Turkish tax identities (DESIGN section 10): a company's VKN (vergi kimlik numarası, 10 digits)
 * and a person's TCKN (T.C. kimlik numarası, 11 digits). Both end in check digits, so a typo is
 * caught on the form before an invoice carries it.
 *
 * Algorithms, as implemented in python-stdnum (arthurdejong/python-stdnum, stdnum/tr/vkn.py and
 * stdnum/tr/tckimlik.py, LGPL; re-written here, not copied), which cite GİB's VKN check
 * (https://www.turkiye.gov.tr/gib-intvrg-vergi-kimlik-numarasi-dogrulama) and NVİ's TCKN service
 * (https://tckimlik.nvi.gov.tr/):
 * - VKN: for the first nine digits d1..d9 (i = 1..9 from the left), t = (di + 10 - i) mod 10;
 *   if t is not 0, p = (t x 2^(10 - i)) mod 9, and p = 9 when that is 0 (p = 0 when t is 0).
 *   The tenth digit is (10 - (sum of p) mod 10) mod 10.
 * - TCKN: the first digit is not 0; d10 = (7 x (d1 + d3 + d5 + d7 + d9) - (d2 + d4 + d6 + d8)) mod 10;
 *   d11 = (d1 + ... + d10) mod 10.
 * A valid checksum does not prove the number exists; only GİB and NVİ can say that.
 */

export type TaxIdProblem = 'required' | 'digitsOnly' | 'length' | 'leadingZero' | 'checksum';

export type TaxIdCheck =
  | { ok: true; value: string }
  /** `message` is a key of the `tax` catalog ("tax:vkn.checksum"), shown through localize(). */
  | { ok: false; problem: TaxIdProblem; message: string };

const digitsOf = (s: string) => [...s].map((c) => c.charCodeAt(0) - 48);

/** The VKN check digit of its first nine digits. */
export function vknCheckDigit(first9: string): number {
  if (!/^\d{9}$/.test(first9)) throw new RangeError('vknCheckDigit needs nine digits');
  let sum = 0;
  digitsOf(first9).forEach((d, index) => {
    const i = index + 1;
    const t = (d + 10 - i) % 10;
    if (t === 0) return;
    const p = (t * 2 ** (10 - i)) % 9;
    sum += p === 0 ? 9 : p;
  });
  return (10 - (sum % 10)) % 10;
}

/** The two TCKN check digits (10th and 11th) of its first nine digits. */
export function tcknCheckDigits(first9: string): [number, number] {
  if (!/^\d{9}$/.test(first9)) throw new RangeError('tcknCheckDigits needs nine digits');
  const d = digitsOf(first9);
  const odd = d[0]! + d[2]! + d[4]! + d[6]! + d[8]!;
  const even = d[1]! + d[3]! + d[5]! + d[7]!;
  const tenth = (((7 * odd - even) % 10) + 10) % 10;
  const eleventh = (odd + even + tenth) % 10;
  return [tenth, eleventh];
}

/** People paste numbers with spaces ("454 053 6920"); nothing else is tidied away. */
const compact = (raw: unknown) => (typeof raw === 'string' ? raw.replace(/\s+/g, '') : '');

const fail = (kind: 'vkn' | 'tckn', problem: TaxIdProblem): TaxIdCheck => ({ ok: false, problem, message: `tax:${kind}.${problem}` });

/** A company's tax number (VKN): 10 digits, the last one a check digit. */
export function checkVkn(raw: unknown): TaxIdCheck {
  const s = compact(raw);
  if (s === '') return fail('vkn', 'required');
  if (!/^\d+$/.test(s)) return fail('vkn', 'digitsOnly');
  if (s.length !== 10) return fail('vkn', 'length');
  if (vknCheckDigit(s.slice(0, 9)) !== Number(s[9])) return fail('vkn', 'checksum');
  return { ok: true, value: s };
}

/** A person's T.C. identity number (TCKN): 11 digits, not starting with 0, the last two check digits. */
export function checkTckn(raw: unknown): TaxIdCheck {
  const s = compact(raw);
  if (s === '') return fail('tckn', 'required');
  if (!/^\d+$/.test(s)) return fail('tckn', 'digitsOnly');
  if (s.length !== 11) return fail('tckn', 'length');
  if (s[0] === '0') return fail('tckn', 'leadingZero');
  const [tenth, eleventh] = tcknCheckDigits(s.slice(0, 9));
  if (tenth !== Number(s[9]) || eleventh !== Number(s[10])) return fail('tckn', 'checksum');
  return { ok: true, value: s };
}
