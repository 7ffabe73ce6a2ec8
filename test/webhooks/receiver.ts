// A webhook receiver for the tests: verifies Kontor-Signature like an integrator would, answers
// with the status the test sets, and de-duplicates by event id (what it "processed").
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  eventId: string;
  body: string;
  json: { id: string; type: string; created: string; data: Record<string, unknown> };
  headers: http.IncomingHttpHeaders;
  signatureValid: boolean;
}

export function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

export async function startReceiver() {
  const state = {
    status: 200,
    secret: '',
    received: [] as Received[],
    /** Event ids handled once (a replay or a retry of a handled one is acknowledged, not handled again). */
    processed: new Set<string>(),
    handledTimes: 0,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const json = JSON.parse(body) as Received['json'];
      const signatureValid = verifySignature(state.secret, req.headers['kontor-signature'] as string | undefined, body);
      state.received.push({ eventId: json.id, body, json, headers: req.headers, signatureValid });
      if (!signatureValid) return void res.writeHead(400).end('bad signature');
      if (state.status >= 300) return void res.writeHead(state.status).end('x'.repeat(5000));
      if (!state.processed.has(json.id)) {
        state.processed.add(json.id);
        state.handledTimes++;
      }
      res.writeHead(state.status, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { state, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
