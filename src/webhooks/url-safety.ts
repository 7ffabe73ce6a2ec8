// Where a webhook may be sent (docs/webhooks.md, "Safety"). Only http(s) URLs; in strict mode
// (always in production) only https, and only hosts whose every address is public: checked on
// each delivery after DNS resolution, and the connection goes to the address that was checked,
// so a name that resolves to an internal address (or is re-pointed there later) reaches nothing.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a host name to all its addresses (tests pass their own). */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Why an address may not be called, by kind; a public address is absent. */
const RANGES: [string, number, 'ipv4' | 'ipv6', AddressKind][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'private'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link_local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'reserved'],
  ['192.88.99.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['198.51.100.0', 24, 'ipv4', 'reserved'],
  ['203.0.113.0', 24, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fc00::', 7, 'ipv6', 'private'],
  ['fe80::', 10, 'ipv6', 'link_local'],
  ['fec0::', 10, 'ipv6', 'private'],
  ['ff00::', 8, 'ipv6', 'multicast'],
  ['2001:db8::', 32, 'ipv6', 'reserved'],
  ['100::', 64, 'ipv6', 'reserved'],
];
export type AddressKind = 'unspecified' | 'private' | 'loopback' | 'link_local' | 'multicast' | 'reserved';

const lists = new Map<AddressKind, BlockList>();
for (const [net, prefix, type, kind] of RANGES) {
  let list = lists.get(kind);
  if (!list) lists.set(kind, (list = new BlockList()));
  list.addSubnet(net, prefix, type);
}

/** An IPv4 address carried in an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, compatible ::a.b.c.d), else null. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** What kind of non-public address this is, or null for a public one. */
export function addressKind(address: string): AddressKind | null {
  const family = isIP(address);
  if (family === 0) return 'reserved';
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4) return addressKind(v4);
  }
  for (const [kind, list] of lists) if (list.check(address, family === 4 ? 'ipv4' : 'ipv6')) return kind;
  return null;
}

/** A refusal: a message key of the webhooks catalog and its parameters. */
export class UrlRefused extends Error {
  override name = 'UrlRefused';
  constructor(readonly code: 'scheme' | 'https_only' | 'credentials' | 'invalid' | 'address' | 'host' | 'dns', readonly params: Record<string, string> = {}) {
    super(`webhook URL refused: ${code} ${JSON.stringify(params)}`);
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** The URL's form: http(s), no user or password, and in strict mode https and no internal host written literally. */
export function checkUrlForm(raw: string, strict: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused('invalid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UrlRefused('scheme', { scheme: url.protocol.replace(/:$/, '') });
  if (url.username || url.password) throw new UrlRefused('credentials');
  if (!url.hostname) throw new UrlRefused('invalid');
  if (!strict) return url;
  if (url.protocol !== 'https:') throw new UrlRefused('https_only');
  const host = hostOf(url).toLowerCase();
  if (isIP(host)) {
    const kind = addressKind(host);
    if (kind) throw new UrlRefused('address', { address: host, kind });
  } else if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal') || !host.includes('.')) {
    throw new UrlRefused('host', { host });
  }
  return url;
}

/**
 * The address to connect to for this delivery: the host resolved now, and in strict mode every
 * address it resolves to must be public (one internal address refuses the whole name, so a name
 * cannot smuggle an internal address among public ones).
 */
export async function resolveTarget(url: URL, strict: boolean, resolve: Resolver): Promise<{ address: string; family: 4 | 6 }> {
  checkUrlForm(url.href, strict);
  const host = hostOf(url);
  let found: { address: string; family: number }[];
  if (isIP(host)) found = [{ address: host, family: isIP(host) }];
  else {
    try {
      found = await resolve(host);
    } catch (err) {
      throw new UrlRefused('dns', { host, code: (err as { code?: string }).code ?? 'ERROR' });
    }
  }
  if (found.length === 0) throw new UrlRefused('dns', { host, code: 'ENOTFOUND' });
  if (strict) {
    for (const a of found) {
      const kind = addressKind(a.address);
      if (kind) throw new UrlRefused('address', { address: a.address, kind });
    }
  }
  const first = found[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
