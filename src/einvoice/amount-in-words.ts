/**
 * Amounts written out in Turkish, as Turkish invoices print them under the total ("Yalnız bin
 * seksen üç Türk Lirası seksen yedi Kuruş" for 1.083,87 TL). Words are separate, as the Turkish
 * Language Association spells numbers ("bin seksen üç"); "bir" is dropped before "yüz" and
 * before a lone "bin" (100 is "yüz", 1000 is "bin", but 101000 is "yüz bir bin" and 1000000 is
 * "bir milyon"). Integers only: the amount is minor units.
 */
const ONES = ['', 'bir', 'iki', 'üç', 'dört', 'beş', 'altı', 'yedi', 'sekiz', 'dokuz'];
const TENS = ['', 'on', 'yirmi', 'otuz', 'kırk', 'elli', 'altmış', 'yetmiş', 'seksen', 'doksan'];
const SCALES = ['', 'bin', 'milyon', 'milyar', 'trilyon', 'katrilyon', 'kentilyon'];

function hundreds(n: number): string[] {
  const h = Math.trunc(n / 100), t = Math.trunc((n % 100) / 10), o = n % 10;
  const words: string[] = [];
  if (h > 1) words.push(ONES[h]!);
  if (h > 0) words.push('yüz');
  if (t > 0) words.push(TENS[t]!);
  if (o > 0) words.push(ONES[o]!);
  return words;
}

/** A non-negative integer in Turkish words: 0 -> "sıfır", 1083 -> "bin seksen üç". */
export function numberToWordsTr(value: number | bigint): string {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError('numberToWordsTr takes a non-negative integer');
  if (n === 0n) return 'sıfır';
  const groups: number[] = [];
  while (n > 0n) {
    groups.push(Number(n % 1000n));
    n /= 1000n;
  }
  if (groups.length > SCALES.length) throw new RangeError('number too large to write in words');
  const words: string[] = [];
  for (let scale = groups.length - 1; scale >= 0; scale--) {
    const g = groups[scale]!;
    if (g === 0) continue;
    if (scale === 1 && g === 1) words.push('bin');
    else words.push(...hundreds(g), ...(scale > 0 ? [SCALES[scale]!] : []));
  }
  return words.join(' ');
}

/** The unit and its hundredth, in Turkish, for the currencies Kontor bills in. */
const UNITS: Record<string, readonly [major: string, minor: string]> = {
  TRY: ['Türk Lirası', 'Kuruş'],
  USD: ['ABD Doları', 'Sent'],
  EUR: ['Avro', 'Sent'],
};

/**
 * "Yalnız ... Türk Lirası ... Kuruş". A zero part is left out ("Yalnız yüz Türk Lirası",
 * "Yalnız elli Kuruş"); nothing at all is "Yalnız sıfır Türk Lirası".
 */
export function amountInWordsTr(minor: number | bigint, currency: string): string {
  const unit = UNITS[currency];
  if (!unit) throw new RangeError(`no Turkish words for currency ${currency}`);
  const m = BigInt(minor);
  if (m < 0n) throw new RangeError('amountInWordsTr takes a non-negative amount');
  const major = m / 100n, cents = m % 100n;
  const parts = ['Yalnız'];
  if (major > 0n || cents === 0n) parts.push(numberToWordsTr(major), unit[0]);
  if (cents > 0n) parts.push(numberToWordsTr(cents), unit[1]);
  return parts.join(' ');
}
