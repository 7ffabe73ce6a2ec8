import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Opaque, prefixed ids ("agy_01hx..."): time-ordered so new rows land at the end of indexes,
 * random enough (80 bits after the time part) to be unguessable, and self-describing in logs and support tickets.
 */
export function newId(prefix: string): string {
  return newIds(prefix, 1)[0]!;
}

/** `n` ids at once: one call for the random bytes (the usage hot path makes one per account in a batch). */
export function newIds(prefix: string, n: number): string[] {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16 * n);
  const ids: string[] = [];
  for (let k = 0; k < n; k++) {
    let rand = '';
    for (let i = 16 * k; i < 16 * (k + 1); i++) rand += alphabet[bytes[i]! & 31]; // 16 x 5 = 80 random bits
    ids.push(`${prefix}_${time}${rand}`);
  }
  return ids;
}
