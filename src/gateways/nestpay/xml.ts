// The NestPay XML API: a <CC5Request> posted to /fim/api, a <CC5Response> back. Built and
// parsed with fast-xml-parser (maintained, no native code, escapes text and bounds entity
// expansion) rather than by hand: values such as the API password and the bank's messages may
// hold <, & or Turkish letters, and the bank answers in ISO-8859-9 as often as in UTF-8.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** A flat element map with one level of nesting (<Extra>), which is all CC5 messages use. */
export type Cc5Message = Record<string, string | Record<string, string>>;

const builder = new XMLBuilder({ format: false, processEntities: true, suppressEmptyNode: false });
const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false, // "00", "0101" and "949" stay strings
  trimValues: true,
  processEntities: { enabled: true, maxTotalExpansions: 100, maxExpandedLength: 10_000 },
});

export function buildCc5(root: 'CC5Request' | 'CC5Response', message: Cc5Message): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build({ [root]: message }) as string}`;
}

/** Encodes a CC5 message the way the banks answer: declared and encoded as ISO-8859-9. */
export function buildCc5Iso88599(root: 'CC5Request' | 'CC5Response', message: Cc5Message): Buffer {
  const xml = buildCc5(root, message).replace('encoding="UTF-8"', 'encoding="ISO-8859-9"');
  return encodeIso88599(xml);
}

// ISO-8859-9 is Latin-1 with six Turkish letters in place of Icelandic ones; anything else
// outside it becomes a numeric character reference, which every XML reader understands.
const turkishBytes = new Map([['Ğ', 0xd0], ['İ', 0xdd], ['Ş', 0xde], ['ğ', 0xf0], ['ı', 0xfd], ['ş', 0xfe]]);
const replacedLatin1 = new Set(turkishBytes.values());
function encodeIso88599(text: string): Buffer {
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = turkishBytes.get(ch) ?? (cp <= 0xff && !replacedLatin1.has(cp) ? cp : undefined);
    if (b !== undefined) bytes.push(b);
    else for (const c of Buffer.from(`&#${cp};`, 'latin1')) bytes.push(c);
  }
  return Buffer.from(bytes);
}

/**
 * Bytes to text by the charset the answer declares (the Content-Type header, then the XML
 * declaration), UTF-8 by default. Unknown labels fall back to UTF-8 rather than failing.
 */
export function decodeXmlBytes(bytes: Uint8Array, contentType: string | null): string {
  const fromHeader = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  const fromDecl = /^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']/i.exec(head)?.[1];
  for (const label of [fromDecl, fromHeader]) {
    if (!label) continue;
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      // not a label TextDecoder knows: try the next one
    }
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * Parses a CC5 message into strings (empty elements are ""), keeping one nested level. Returns
 * null when the text is not XML or its root is not `root`.
 */
export function parseCc5(xml: string, root: 'CC5Request' | 'CC5Response'): Cc5Message | null {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const body = (doc as Record<string, unknown>)[root];
  if (body === '') return {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const out: Cc5Message = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const inner: Record<string, string> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v === 'string') inner[k] = v;
        else if (typeof v === 'number' || typeof v === 'boolean') inner[k] = String(v);
      }
      out[key] = inner;
    } else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    // repeated elements (arrays) are not part of the messages we use: dropped
  }
  return out;
}

/** A top-level text element ("" when absent or nested). */
export const text = (m: Cc5Message, key: string): string => {
  const v = m[key];
  return typeof v === 'string' ? v : '';
};
/** A text element inside <Extra> ("" when absent). */
export const extra = (m: Cc5Message, key: string): string => {
  const e = m.Extra;
  return e && typeof e === 'object' ? (e[key] ?? '') : '';
};
