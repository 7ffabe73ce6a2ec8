import type { Express } from 'express';
import request from 'supertest';
import { createProcessors } from '../../jobs/processors';
import type { TestDeps } from './deps';
import { bearer } from './http';

/** Noon in Istanbul (UTC+3 all year) on a calendar day: the instant tests move the clock to. */
export const istanbulNoon = (day: string) => new Date(`${day}T09:00:00Z`);

/** Moves the test clock to noon (Istanbul) of `day`. */
export const moveTo = (deps: TestDeps, day: string, hourUtc = 9) => deps.testClock.set(new Date(`${day}T${String(hourUtc).padStart(2, '0')}:00:00Z`));

/** Runs the tick as the scheduler would, and waits for every job it caused (cut, delivery, mail). */
export async function tick(deps: TestDeps): Promise<void> {
  await createProcessors(deps).tick!({});
  await deps.queue.drain();
}

export function billingApi(app: Express) {
  const api = () => request(app);
  return {
    api,
    createPackage: async (key: string, body: Record<string, unknown>) =>
      (await api().post('/api/v1/packages').set(bearer(key)).send({ currency: 'TRY', ...body }).expect(201)).body as { id: string },
    start: (key: string, packageId: string, extra: Record<string, unknown> = {}) => api().post('/api/v1/subscriptions').set(bearer(key)).send({ packageId, ...extra }),
    cancel: (key: string, id: string) => api().post(`/api/v1/subscriptions/${id}/cancel`).set(bearer(key)).send({}),
    reactivate: (key: string, id: string) => api().post(`/api/v1/subscriptions/${id}/reactivate`).set(bearer(key)).send({}),
    change: (key: string, id: string, packageId: string, extra: Record<string, unknown> = {}) => api().post(`/api/v1/subscriptions/${id}/change`).set(bearer(key)).send({ packageId, ...extra }),
    invoices: async (key: string) => (await api().get('/api/v1/invoices').set(bearer(key)).expect(200)).body.data as { id: string; number: string; period: string | null; totalMinor: number; status: string; kind: string; dueDay: string; issueDay: string }[],
    invoice: async (key: string, id: string) => (await api().get(`/api/v1/invoices/${id}`).set(bearer(key)).expect(200)).body as {
      totalMinor: number; number: string; lines: { description: string; fromDay: string; throughDay: string; activeDays: number | null; daysInMonth: number | null; amountMinor: number; kind: string; subscriptionId: string | null }[];
    },
    upcoming: async (key: string) => (await api().get('/api/v1/invoices/upcoming').set(bearer(key)).expect(200)).body,
  };
}
