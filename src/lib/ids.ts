import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Opaque, prefixed ids ("agy_01hx..."): time-ordered so new rows land at the end of indexes,
 * random enough (80 bits after the time part) to be unguessable, and self-describing in logs and support tickets.
 */
export function newId(prefix: string): string {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const b of randomBytes(16)) rand += alphabet[b & 31]; // 16 x 5 = 80 random bits
  return `${prefix}_${time}${rand}`;
}
