// The typed client of the Kontor API: openapi-fetch over the types generated from the OpenAPI
// document (client/schema.d.ts, `npm run api:client`). Every path, parameter, body and answer is
// checked by the compiler against the document the server serves.
//
//   const kontor = createKontorClient({ baseUrl: 'https://kontor.example/api/v1', apiKey: process.env.KONTOR_KEY! });
//   const { data, error } = await kontor.GET('/balance');
//   await kontor.POST('/whatsapp-balance/debits', { body: { amountMinor: 150, reference: 'wa:77' }, params: { header: { 'Idempotency-Key': 'wa:77' } } });
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema';

export type { paths, components, operations } from './schema';
export type KontorClient = Client<paths>;

export function createKontorClient(options: { baseUrl: string; apiKey: string; language?: 'en' | 'tr' } & Omit<ClientOptions, 'baseUrl' | 'headers'>): KontorClient {
  const { apiKey, language, ...rest } = options;
  return createClient<paths>({
    ...rest,
    headers: { Authorization: `Bearer ${apiKey}`, ...(language ? { 'Accept-Language': language } : {}) },
  });
}
