// One autocannon run: a fixed number of keep-alive connections for a fixed time, each request
// built by `next()` (unique bodies, rotating keys). Rates count only the answers that came back.
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /** Stop after this many requests instead (a warm-up that must cover every key once). */
  requests?: number;
  /** Headers and body of the next request. */
  next: () => { key: string; body: string };
  /** Events answered 200 in one response body (default: 1 per 2xx response). */
  okEvents?: (status: number, body: string) => number;
}

export interface LoadResult {
  seconds: number;
  responses: number;
  non2xx: Record<string, number>;
  errors: number;
  okEvents: number;
  reqPerSec: number;
  eventsPerSec: number;
  p50: number;
  p99: number;
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  let okEvents = 0;
  const count = spec.okEvents ?? ((status: number) => (status >= 200 && status < 300 ? 1 : 0));
  const r = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.requests ? { amount: spec.requests } : { duration: spec.seconds }),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        path: spec.path,
        setupRequest: (req) => {
          const { key, body } = spec.next();
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${key}` }, body };
        },
        onResponse: (status, body) => {
          okEvents += count(status, body);
        },
      },
    ],
  });
  const non2xx = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).filter(([code]) => !code.startsWith('2')).map(([code, s]) => [code, s.count ?? 0]));
  const responses = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  return {
    seconds: r.duration,
    responses,
    non2xx,
    errors: r.errors,
    okEvents,
    reqPerSec: r['2xx'] / r.duration,
    eventsPerSec: okEvents / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
}
