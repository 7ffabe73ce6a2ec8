// The worker's side of webhooks: claims due deliveries (a lease, so a worker killed mid-send
// leaves its delivery to the next one), sends them signed, logs every attempt, retries with
// exponential back-off for three days, then marks them failed and tells the seller; an endpoint
// failing for three days is switched off with a notice. docs/webhooks.md has the rules.
import { sql } from 'drizzle-orm';
import type { Deps } from '../deps';
import { bulkArray } from '../lib/bulk';
import { newIds } from '../lib/ids';
import { msg } from '../lib/message';
import { pgArray } from '../lib/pg-array';
import { rowsOf } from '../lib/rows';
import { dispatchEmails } from '../mail/outbox';
import { SecretBox } from '../payments/secret-box';
import { defineJob, noPayload } from '../queue/job';
import { createAgents, sendSigned, signatureHeader, type Agents, type SendResult } from './sender';
import { systemResolver, type Resolver } from './url-safety';
import { tellSeller } from './notices';

/** Retries stop this long after the event (or its replay): the delivery is then failed. */
export const RETRY_WINDOW_MS = 3 * 24 * 3_600_000;
/** An endpoint that has answered nothing but failures for this long is switched off. */
export const SWITCH_OFF_AFTER_MS = 3 * 24 * 3_600_000;
/** A claimed delivery is the claimer's for its timeout plus this; then anyone may take it again. */
export const LEASE_MARGIN_MS = 60_000;

/** Wait after the n-th failed attempt: 30 s doubling, at most 12 hours (about 15 attempts in 3 days). */
export function retryDelayMs(attempt: number): number {
  return Math.min(12 * 3_600_000, 30_000 * 2 ** Math.max(0, attempt - 1));
}

export interface DeliveryRun {
  attempted: number;
  succeeded: number;
  retrying: number;
  failed: number;
}

export interface DeliveryOptions {
  resolve?: Resolver;
  /** Deliveries claimed at once. */
  batchSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Stop claiming after this long (the job runs again). */
  budgetMs?: number;
  /** At most this many batches (tests: one). */
  maxBatches?: number;
  /** Claim-send-record loops running side by side (3). */
  lanes?: number;
  signal?: AbortSignal;
  agents?: Agents;
}

interface Claimed { id: string; event_id: string; endpoint_id: string; attempts: number; window_start: Date | string }
interface EventRow { id: string; type: string; data: unknown; created_at: Date | string }
interface EndpointRow { id: string; url: string; secret: string; seller_key: string }

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/** Opened secrets by sealed text (a rotated key re-seals, so a new text is opened again). */
const secrets = new Map<string, string>();
function openSecret(box: SecretBox, endpointId: string, sealed: string): string {
  let s = secrets.get(sealed);
  if (s === undefined) {
    if (secrets.size > 20_000) secrets.clear();
    s = box.open(sealed, endpointId);
    secrets.set(sealed, s);
  }
  return s;
}

/** The body every attempt of an event sends (the same bytes for its retries and replays). */
export function eventBody(e: EventRow): string {
  return JSON.stringify({ id: e.id, type: e.type, created: iso(e.created_at), data: e.data });
}

/** Takes up to `limit` due deliveries of enabled endpoints for this worker until its lease ends. */
export async function claimDeliveries(deps: Pick<Deps, 'db' | 'clock' | 'config'>, limit: number): Promise<Claimed[]> {
  const now = deps.clock.now();
  const lease = new Date(now.getTime() + deps.config.webhooks.timeoutMs + LEASE_MARGIN_MS);
  return rowsOf<Claimed>(await deps.db.execute(sql`
    update webhook_deliveries d
    set status = 'delivering', attempts = d.attempts + 1, next_attempt_at = ${lease.toISOString()}::timestamptz, updated_at = ${now.toISOString()}::timestamptz
    from (
      select w.id from webhook_deliveries w join webhook_endpoints e on e.id = w.endpoint_id and e.enabled
      where w.status in ('pending', 'delivering') and w.next_attempt_at <= ${now.toISOString()}::timestamptz
      order by w.next_attempt_at limit ${limit}
      for update of w skip locked
    ) c
    where d.id = c.id
    returning d.id, d.event_id, d.endpoint_id, d.attempts, d.window_start`));
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

/** Sends a claimed batch and records it. */
async function sendBatch(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'queue' | 'logger'>, claimed: Claimed[], o: Required<Pick<DeliveryOptions, 'resolve' | 'concurrency'>> & { agents: Agents }): Promise<DeliveryRun> {
  const eventIds = [...new Set(claimed.map((c) => c.event_id))];
  const endpointIds = [...new Set(claimed.map((c) => c.endpoint_id))];
  const events = new Map(rowsOf<EventRow>(await deps.db.execute(sql`select id, type, data, created_at from webhook_events where id = any(${bulkArray(eventIds)}::text[])`)).map((e) => [e.id, e]));
  const endpoints = new Map(rowsOf<EndpointRow>(await deps.db.execute(sql`select id, url, secret, seller_key from webhook_endpoints where id = any(${bulkArray(endpointIds)}::text[])`)).map((e) => [e.id, e]));
  const box = new SecretBox(deps.config.secretKeys);
  const bodies = new Map<string, string>();

  const results = await pool(claimed, o.concurrency, async (c) => {
    const event = events.get(c.event_id);
    const endpoint = endpoints.get(c.endpoint_id);
    let body = bodies.get(c.event_id);
    if (event && body === undefined) bodies.set(c.event_id, (body = eventBody(event)));
    if (!event || !endpoint || body === undefined) return { c, url: endpoint?.url ?? '', headers: {}, body: '', at: deps.clock.now(), r: { ok: false, status: null, body: null, error: { code: 'gone', params: {} }, durationMs: 0 } as SendResult };
    const at = deps.clock.now();
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': 'Kontor-Webhooks/1',
      'Kontor-Event-Id': event.id,
      'Kontor-Event-Type': event.type,
      'Kontor-Delivery-Attempt': String(c.attempts),
      'Kontor-Signature': signatureHeader(openSecret(box, endpoint.id, endpoint.secret), body, at),
    };
    const r = await sendSigned({ url: endpoint.url, headers, body, strict: deps.config.webhooks.strict, timeoutMs: deps.config.webhooks.timeoutMs, resolve: o.resolve, agents: o.agents });
    return { c, url: endpoint.url, headers, body, at, r };
  });
  return recordResults(deps, results, endpoints);
}

/** The attempts' log rows, each delivery's next state, and the endpoints' health, in one transaction. */
async function recordResults(
  deps: Pick<Deps, 'db' | 'clock' | 'config' | 'queue' | 'logger'>,
  results: { c: Claimed; url: string; headers: Record<string, string>; body: string; at: Date; r: SendResult }[],
  endpoints: Map<string, EndpointRow>,
): Promise<DeliveryRun> {
  const now = deps.clock.now();
  const run: DeliveryRun = { attempted: results.length, succeeded: 0, retrying: 0, failed: 0 };
  const ids = newIds('wha', results.length);
  const next = results.map(({ c, r }) => {
    if (r.ok) return { status: 'succeeded', nextAt: now };
    const retryAt = new Date(now.getTime() + retryDelayMs(c.attempts));
    const windowEnd = new Date(new Date(c.window_start).getTime() + RETRY_WINDOW_MS);
    return retryAt.getTime() > windowEnd.getTime() ? { status: 'failed', nextAt: now } : { status: 'pending', nextAt: retryAt };
  });
  for (const n of next) run[n.status === 'succeeded' ? 'succeeded' : n.status === 'failed' ? 'failed' : 'retrying']++;
  const errorOf = (r: SendResult) => (r.error ? msg(`webhooks:error.${r.error.code}`, r.error.params) : r.ok ? null : msg('webhooks:error.status', { status: String(r.status) }));
  const okEndpoints = [...new Set(results.filter((x) => x.r.ok).map((x) => x.c.endpoint_id))];
  const badEndpoints = [...new Set(results.filter((x) => !x.r.ok).map((x) => x.c.endpoint_id))].filter((e) => !okEndpoints.includes(e));
  // Endpoints with a delivery given up now, and the earliest start of those deliveries' windows.
  const exhaustedSince = new Map<string, Date>();
  results.forEach((x, i) => {
    if (next[i]!.status !== 'failed') return;
    const start = new Date(x.c.window_start);
    const seen = exhaustedSince.get(x.c.endpoint_id);
    if (!seen || start < seen) exhaustedSince.set(x.c.endpoint_id, start);
  });
  const exhausted = [...exhaustedSince.keys()];

  const switchedOff = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into webhook_attempts (id, delivery_id, endpoint_id, attempt, url, request_headers, response_status, response_body, error, duration_ms, created_at)
      select a.id, a.delivery_id, a.endpoint_id, a.attempt, a.url, a.headers::jsonb, a.status, a.response, a.error, a.duration, a.at
      from unnest(${bulkArray(ids)}::text[], ${bulkArray(results.map((x) => x.c.id))}::text[], ${bulkArray(results.map((x) => x.c.endpoint_id))}::text[],
        ${pgArray(results.map((x) => x.c.attempts))}::int[], ${pgArray(results.map((x) => x.url))}::text[], ${pgArray(results.map((x) => JSON.stringify(x.headers)))}::text[],
        ${pgArray(results.map((x) => x.r.status))}::int[], ${pgArray(results.map((x) => x.r.body))}::text[],
        ${pgArray(results.map((x) => errorOf(x.r)))}::text[], ${pgArray(results.map((x) => x.r.durationMs))}::int[], ${bulkArray(results.map((x) => x.at))}::timestamptz[])
        as a(id, delivery_id, endpoint_id, attempt, url, headers, status, response, error, duration, at)`);
    // Only a delivery still held by this claim is moved (a lease that ran out hands it to another worker).
    await tx.execute(sql`
      update webhook_deliveries d
      set status = u.status, next_attempt_at = u.next_at, last_status = u.last_status, last_error = u.last_error,
        delivered_at = case when u.status = 'succeeded' then ${now.toISOString()}::timestamptz else d.delivered_at end, updated_at = ${now.toISOString()}::timestamptz
      from unnest(${bulkArray(results.map((x) => x.c.id))}::text[], ${bulkArray(next.map((n) => n.status))}::text[], ${bulkArray(next.map((n) => n.nextAt))}::timestamptz[],
        ${pgArray(results.map((x) => x.r.status))}::int[], ${pgArray(results.map((x) => errorOf(x.r)))}::text[], ${pgArray(results.map((x) => x.c.attempts))}::int[])
        as u(id, status, next_at, last_status, last_error, attempts)
      where d.id = u.id and d.status = 'delivering' and d.attempts = u.attempts`);
    if (okEndpoints.length) await tx.execute(sql`update webhook_endpoints set failing_since = null where id = any(${bulkArray(okEndpoints)}::text[]) and failing_since is not null`);
    if (!badEndpoints.length) return [];
    await tx.execute(sql`update webhook_endpoints set failing_since = ${now.toISOString()}::timestamptz where id = any(${bulkArray(badEndpoints)}::text[]) and failing_since is null`);
    // Switched off: failing for three days (a failure now, none answered since), or failing since
    // before the window of a delivery given up now (it never answered during those three days).
    const off = rowsOf<{ id: string }>(await tx.execute(sql`
      update webhook_endpoints set enabled = false, disabled_reason = 'failing', updated_at = ${now.toISOString()}::timestamptz
      where id = any(${bulkArray(badEndpoints)}::text[]) and enabled and failing_since <= ${new Date(now.getTime() - SWITCH_OFF_AFTER_MS).toISOString()}::timestamptz
      returning id`)).map((r) => r.id);
    for (const [id, since] of exhaustedSince) {
      if (off.includes(id) || !badEndpoints.includes(id)) continue;
      const hit = rowsOf(await tx.execute(sql`
        update webhook_endpoints set enabled = false, disabled_reason = 'failing', updated_at = ${now.toISOString()}::timestamptz
        where id = ${id} and enabled and failing_since <= ${new Date(since.getTime() + LEASE_MARGIN_MS).toISOString()}::timestamptz returning id`));
      if (hit.length) off.push(id);
    }
    if (off.length) {
      await tx.execute(sql`
        update webhook_deliveries set status = 'failed', last_error = ${msg('webhooks:error.switchedOff')}, updated_at = ${now.toISOString()}::timestamptz
        where endpoint_id = any(${bulkArray(off)}::text[]) and status in ('pending', 'delivering')`);
    }
    return off;
  });

  // Notices after the log is safe: one per switched-off endpoint, and at most one a day per endpoint for failed deliveries.
  const mailIds: (string | null)[] = [];
  for (const id of switchedOff) {
    const e = endpoints.get(id);
    if (e) mailIds.push(await tellSeller(deps, { kind: 'webhook_endpoint_disabled', endpointId: id, sellerKey: e.seller_key, url: e.url, now }));
  }
  for (const id of exhausted.filter((e) => !switchedOff.includes(e))) {
    const e = endpoints.get(id);
    if (e) mailIds.push(await tellSeller(deps, { kind: 'webhook_deliveries_failed', endpointId: id, sellerKey: e.seller_key, url: e.url, now }));
  }
  await dispatchEmails(deps.queue, mailIds);
  return run;
}

/**
 * Delivers what is due, batch after batch, until nothing is due or the budget is spent. Safe to
 * run in several workers at once (claims skip each other's rows).
 */
export async function deliverDueWebhooks(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'queue' | 'logger'>, opts: DeliveryOptions = {}): Promise<DeliveryRun> {
  const total: DeliveryRun = { attempted: 0, succeeded: 0, retrying: 0, failed: 0 };
  const agents = opts.agents ?? createAgents(opts.concurrency ?? 64);
  const started = Date.now();
  const lanes = Math.max(1, opts.lanes ?? 3);
  let batches = 0;
  // Three lanes by default: some write their batch's outcome while the others' requests are in flight.
  const lane = async () => {
    while (batches < (opts.maxBatches ?? Infinity)) {
      if (opts.signal?.aborted || Date.now() - started > (opts.budgetMs ?? 50_000)) break;
      batches++;
      const claimed = await claimDeliveries(deps, opts.batchSize ?? 500);
      if (claimed.length === 0) break;
      const run = await sendBatch(deps, claimed, { resolve: opts.resolve ?? systemResolver, concurrency: Math.ceil((opts.concurrency ?? 64) / lanes), agents });
      for (const k of Object.keys(total) as (keyof DeliveryRun)[]) total[k] += run[k];
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    if (!opts.agents) agents.destroy();
  }
  return total;
}

export const WEBHOOK_DELIVERY_JOB = 'webhooks.deliver';
/** How often each worker looks for due deliveries; a run claims for at most as long. */
export const WEBHOOK_DELIVERY_EVERY_MS = 3_000;

/** One sweep at a time per process (each has its own requests in flight); other processes run theirs. */
let sweeping = false;

/** Sends due webhook deliveries (scheduled every few seconds by the worker, the web process without Redis). */
export const webhookDeliveryJob = defineJob({
  name: WEBHOOK_DELIVERY_JOB,
  payload: noPayload,
  handle: async (deps, _data, ctx) => {
    if (sweeping) return { skipped: 'a sweep is running in this process' };
    sweeping = true;
    try {
      return await deliverDueWebhooks(deps, { budgetMs: WEBHOOK_DELIVERY_EVERY_MS, ...(ctx?.signal ? { signal: ctx.signal } : {}) });
    } finally {
      sweeping = false;
    }
  },
});

