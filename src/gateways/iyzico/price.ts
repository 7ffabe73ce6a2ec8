// iyzico prices on the wire, to and from integer minor units, with integer code only.
//
// Kontor sends "12.50"; iyzipay's own formatPrice rewrites it to "12.5" (and "100.00" to "100.0")
// before signing and sending, and iyzico answers with JSON numbers (12.5, 100). So parsing accepts
// a JSON number or a decimal string with any number of trailing zeros, never more than two
// significant decimals, and never exponent notation.

/** 1250 -> "12.50". */
export function toIyzicoPrice(minor: number): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`not an amount in minor units: ${minor}`);
  return `${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

/**
 * "12.5", 12.5, "12.50", "100.0", 100 -> minor units; anything else (negative, three significant
 * decimals, exponents, empty, non-numeric) -> null. A JSON number is read through its shortest
 * decimal form (String(12.5) === "12.5"), which is exactly what iyzico signed.
 */
export function parseIyzicoPrice(value: unknown): number | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  const m = /^(\d{1,13})(?:\.(\d+))?$/.exec(text);
  if (!m) return null;
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 2) return null;
  const minor = Number(m[1]) * 100 + Number(fraction.padEnd(2, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}
