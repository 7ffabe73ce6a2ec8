/**
 * Stripe's v1 request encoding, as stripe-node writes it (utils.js stringifyRequestData):
 * `application/x-www-form-urlencoded` with bracket keys, `metadata[kontor_payment_id]=...`,
 * arrays indexed `expand[0]=payment_method`. The fake API parses bodies and query strings with
 * this (the app's own query parser is not ours to choose).
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormParams = { [key: string]: FormValue };

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export class FormParseError extends Error {
  override name = 'FormParseError';
}

export function parseStripeForm(encoded: string): FormParams {
  const root: FormParams = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!m) throw new FormParseError(`Invalid parameter name: ${rawKey}`);
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)];
    if (path.some((p) => FORBIDDEN.has(p))) throw new FormParseError(`Invalid parameter name: ${rawKey}`);
    let node: { [key: string]: FormValue } = root;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!;
      const next = node[key];
      if (next === undefined) {
        const created: { [key: string]: FormValue } = {};
        node[key] = created;
        node = created;
      } else if (typeof next === 'object' && !Array.isArray(next)) {
        node = next;
      } else {
        throw new FormParseError(`Conflicting values for ${rawKey}`);
      }
    }
    const last = path[path.length - 1]!;
    if (node[last] !== undefined) throw new FormParseError(`Duplicate parameter: ${rawKey}`);
    node[last] = value;
  }
  return toArrays(root) as FormParams;
}

/** Objects whose keys are exactly 0..n-1 become arrays (qs's indexed format). */
function toArrays(v: FormValue): FormValue {
  if (typeof v === 'string' || Array.isArray(v)) return v;
  const keys = Object.keys(v);
  for (const k of keys) v[k] = toArrays(v[k]!);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => v[k]!);
  return v;
}

/** A canonical text of the parameters, to compare two requests sent with one idempotency key. */
export function canonicalParams(v: FormValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalParams).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalParams(v[k])}`)
    .join(',')}}`;
}
