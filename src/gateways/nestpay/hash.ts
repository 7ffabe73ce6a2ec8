// NestPay (Asseco EST / Payten) "hash version 3": pure crypto, no I/O.
// Reference: mewebstudio/pos src/Crypt/EstV3PosCrypt.php, which does
// ksort($data, SORT_NATURAL | SORT_FLAG_CASE) i.e. PHP strnatcasecmp on keys.
import { createHash, timingSafeEqual } from 'crypto';

export type NestpayFields = Record<string, string | null | undefined>;

// C-locale ctype, which is what PHP 8 runs under (LC_CTYPE is "C" by default).
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const toUpper = (c: number): number => (c >= 0x61 && c <= 0x7a ? c - 0x20 : c);

/**
 * Port of PHP's strnatcmp_ex(a, b, is_case_insensitive = true), byte for byte over UTF-8.
 * Reading past the end yields 0, like the NUL terminator PHP strings carry.
 * Folding is to UPPER case, so '_' (0x5F) sorts after letters ('Z' is 0x5A);
 * a lower-case fold would put it before them ('a' is 0x61).
 */
export function strnatcasecmp(a: string, b: string): number {
  const as = Buffer.from(a, 'utf8');
  const bs = Buffer.from(b, 'utf8');
  const aend = as.length;
  const bend = bs.length;
  if (aend === 0 || bend === 0) return aend === bend ? 0 : aend > bend ? 1 : -1;

  const at = (i: number): number => as[i] ?? 0;
  const bt = (i: number): number => bs[i] ?? 0;
  let ap = 0;
  let bp = 0;
  let ca = at(ap);
  let cb = bt(bp);

  // Leading zeros are skipped only at the very start of the string (PHP >= 7).
  while (ca === 0x30 && ap + 1 < aend && isDigit(at(ap + 1))) ca = at(++ap);
  while (cb === 0x30 && bp + 1 < bend && isDigit(bt(bp + 1))) cb = bt(++bp);

  for (;;) {
    while (isSpace(ca)) ca = at(++ap);
    while (isSpace(cb)) cb = bt(++bp);

    if (isDigit(ca) && isDigit(cb)) {
      // A run starting with '0' is compared as a fraction (left-aligned), else by magnitude.
      const fractional = ca === 0x30 || cb === 0x30;
      let result = 0;
      if (fractional) {
        for (;; ap++, bp++) {
          const da = ap < aend && isDigit(at(ap));
          const db = bp < bend && isDigit(bt(bp));
          if (!da && !db) break;
          if (!da) { result = -1; break; }
          if (!db) { result = 1; break; }
          if (at(ap) !== bt(bp)) { result = at(ap) < bt(bp) ? -1 : 1; break; }
        }
      } else {
        let bias = 0;
        for (;; ap++, bp++) {
          const da = ap < aend && isDigit(at(ap));
          const db = bp < bend && isDigit(bt(bp));
          if (!da && !db) { result = bias; break; }
          if (!da) { result = -1; break; }
          if (!db) { result = 1; break; }
          if (bias === 0 && at(ap) !== bt(bp)) bias = at(ap) < bt(bp) ? -1 : 1;
        }
      }
      if (result !== 0) return result;
      if (ap === aend && bp === bend) return 0;
      if (ap === aend) return -1;
      if (bp === bend) return 1;
      ca = at(ap);
      cb = bt(bp);
    }

    ca = toUpper(ca);
    cb = toUpper(cb);
    if (ca < cb) return -1;
    if (ca > cb) return 1;

    ++ap;
    ++bp;
    if (ap >= aend && bp >= bend) return 0;
    if (ap >= aend) return -1;
    if (bp >= bend) return 1;
    ca = at(ap);
    cb = bt(bp);
  }
}

// Keys that are never part of the hashed string (compared case-insensitively).
const EXCLUDED = new Set(['hash', 'encoding']);

// The separator is '|', so '\' and '|' inside values must be escaped, '\' first.
const escapeValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');

/** Hash v3: values sorted by key (strnatcasecmp), store key last, '|'-joined, SHA-512, base64. */
export function nestpayHashV3(fields: NestpayFields, storeKey: string): string {
  // Array.prototype.sort is stable, like PHP 8's zend_sort, so ties keep posted order.
  const keys = Object.keys(fields)
    .filter((k) => !EXCLUDED.has(k.toLowerCase()))
    .sort(strnatcasecmp);
  const parts = keys.map((k) => escapeValue(fields[k] ?? ''));
  parts.push(escapeValue(storeKey));
  return createHash('sha512').update(parts.join('|'), 'utf8').digest('base64');
}

function postedHash(fields: NestpayFields): string | undefined {
  // Banks post HASH; accept any casing but prefer the canonical one.
  if (typeof fields.HASH === 'string') return fields.HASH;
  const key = Object.keys(fields).find((k) => k.toLowerCase() === 'hash');
  const v = key === undefined ? undefined : fields[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Recompute over every posted field (empty ones included: the bank hashed them)
 * and compare with the posted HASH in constant time.
 */
export function verifyNestpayCallback(fields: NestpayFields, storeKey: string): boolean {
  const posted = postedHash(fields);
  if (!posted) return false;
  const expected = Buffer.from(nestpayHashV3(fields, storeKey), 'utf8');
  const actual = Buffer.from(posted, 'utf8');
  // timingSafeEqual throws on length mismatch; the length of a SHA-512 base64 is public anyway.
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export type NestpayRejectReason = 'hash_mismatch' | '3d_failed' | 'declined';

export interface NestpayApproval {
  approved: boolean;
  reason?: NestpayRejectReason;
  message?: string;
}

/** Approved only with a valid hash, full 3D authentication (mdStatus 1) and bank approval (00). */
export function isNestpayApproved(fields: NestpayFields, storeKey: string): NestpayApproval {
  // An unverified payload's text is attacker-controlled, so no message is echoed for it.
  if (!verifyNestpayCallback(fields, storeKey)) return { approved: false, reason: 'hash_mismatch' };
  const errMsg = fields.ErrMsg || undefined;
  const mdErrorMsg = fields.mdErrorMsg || undefined;
  if (fields.mdStatus !== '1') {
    return { approved: false, reason: '3d_failed', message: mdErrorMsg ?? errMsg };
  }
  if (fields.ProcReturnCode !== '00') {
    // mdErrorMsg describes the 3D step, which passed; only ErrMsg explains a decline.
    return { approved: false, reason: 'declined', message: errMsg };
  }
  return { approved: true };
}
