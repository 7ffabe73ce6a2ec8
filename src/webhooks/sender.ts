// One signed POST to an endpoint, connected to the address that was checked (./url-safety.ts),
// with a deadline, no redirects followed, and the answer's body read up to a bound.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { resolveTarget, UrlRefused, type Resolver } from './url-safety';

/** How much of an answer's body the log keeps. */
export const LOGGED_BODY_BYTES = 2048;
/** Read past this and the connection is dropped (the rest is of no use). */
const MAX_READ_BYTES = 64 * 1024;

/** `Kontor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  body: string | null;
  /** A refusal or transport failure: a webhooks catalog key and its parameters. */
  error: { code: string; params: Record<string, string> } | null;
  durationMs: number;
}

/** Keep-alive agents, one pair per sender (a worker's run). */
export function createAgents(maxSockets = 64) {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
    destroy() {
      this.http.destroy();
      this.https.destroy();
    },
  };
}
export type Agents = ReturnType<typeof createAgents>;

export async function sendSigned(p: {
  url: string;
  headers: Record<string, string>;
  body: string;
  strict: boolean;
  timeoutMs: number;
  resolve: Resolver;
  agents: Agents;
}): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  let target: { address: string; family: 4 | 6 };
  const url = new URL(p.url);
  try {
    target = await resolveTarget(url, p.strict, p.resolve);
  } catch (err) {
    if (err instanceof UrlRefused) return done({ ok: false, status: null, body: null, error: { code: err.code, params: err.params } });
    throw err;
  }
  // The connection goes to the checked address; the Host header and TLS name stay the URL's.
  const lookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  }) as unknown as LookupFunction;
  const isHttps = url.protocol === 'https:';
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = (isHttps ? https : http).request(url, {
      method: 'POST',
      agent: isHttps ? p.agents.https : p.agents.http,
      lookup,
      headers: { ...p.headers, 'Content-Length': String(Buffer.byteLength(p.body)) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_READ_BYTES) chunks.push(c);
        size += c.length;
        if (size >= MAX_READ_BYTES) res.destroy();
      });
      const end = () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).subarray(0, LOGGED_BODY_BYTES).toString('utf8');
        finish({ ok: status >= 200 && status < 300, status, body: text, error: null });
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, status: null, body: null, error: { code: 'timeout', params: { ms: String(p.timeoutMs) } } });
    }, p.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, status: null, body: null, error: { code: 'connection', params: { code: err.code ?? err.message.slice(0, 80) } } }));
    req.end(p.body);
  });
}
