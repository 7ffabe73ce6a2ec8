// One Redis connection per process and URL for the small shared counters (API rate limits,
// sign-in limits): opened on first use, shared by every app in the process. A connection error
// is logged; callers decide what to do meanwhile (each says so where it uses this).
import { createClient } from 'redis';
import type { Logger } from './logger';

export type SharedRedis = ReturnType<typeof createClient>;

const clients = new Map<string, Promise<SharedRedis>>();

export function sharedRedis(url: string, logger: Logger): Promise<SharedRedis> {
  const known = clients.get(url);
  if (known) return known;
  const client: SharedRedis = createClient({ url });
  client.on('error', (err: unknown) => logger.warn('shared Redis connection error', { error: String(err) }));
  const ready = client.connect().then(() => client);
  ready.catch(() => clients.delete(url));
  clients.set(url, ready);
  return ready;
}
