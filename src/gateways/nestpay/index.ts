// NestPay 3D_PAY as the core offers it to sellers: its settings form, their validation, and the
// factory. The gateway itself is in gateway.ts; the offline bank is in sandboxes/nestpay.ts.
import { z } from 'zod';
import type { CredentialField, GatewayMode, GatewayRegistration } from '../../payments/gateway';
import { ValidationError } from '../../lib/errors';
import { parse, required as requiredField, tooLong } from '../../lib/validation';
import { assecoTestEndpoints, bankLabels, nestpayBanks, productionEndpoints } from './endpoints';
import { NestpayGateway, type NestpayCredentials } from './gateway';
import { msg } from '../../lib/message';

export { NestpayGateway, type NestpayCredentials } from './gateway';

const credentialFields: readonly CredentialField[] = [
  {
    name: 'bank',
    label: 'Bank',
    secret: false,
    required: true,
    options: nestpayBanks.map((value) => ({ value, label: bankLabels[value] })),
    help: 'The bank whose virtual POS (NestPay 3D_PAY) you signed up for.',
  },
  { name: 'clientId', label: 'Client id (Mağaza numarası)', secret: false, required: true, help: 'The store number the bank gave you, digits only.' },
  { name: 'storeKey', label: 'Store key (3D Secure anahtarı)', secret: true, required: true, help: 'Set in the bank\'s merchant panel; signs payments and verifies the bank\'s answers.' },
  { name: 'apiUser', label: 'API user name', secret: false, required: true, help: 'The API user created in the merchant panel, used for refunds and status queries.' },
  { name: 'apiPassword', label: 'API password', secret: true, required: true },
  {
    name: 'gateUrlTest',
    label: 'Test 3D gate URL',
    secret: false,
    required: false,
    help: msg('errors:nestpay.helpTestGate', { url: assecoTestEndpoints.gate }),
  },
  {
    name: 'gateUrlProduction',
    label: 'Production 3D gate URL',
    secret: false,
    required: false,
    help: msg('errors:nestpay.helpProductionGate', { url: productionEndpoints.isbank.gate }),
  },
];

const required = (label: string, max: number) =>
  z.string({ error: requiredField(label) }).trim().min(1, requiredField(label)).max(max, tooLong(label, max));

const optionalUrl = (label: string) =>
  z.preprocess(
    (v) => (v === undefined || v === null || (typeof v === 'string' && v.trim() === '') ? undefined : typeof v === 'string' ? v.trim() : v),
    z
      .string({ error: msg('errors:field.url', { label }) })
      .max(500, msg('errors:field.tooLongShort', { label }))
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
        } catch {
          return false;
        }
      }, msg('errors:nestpay.gateUrl', { label }))
      .optional(),
  );

const schema = z.object({
  bank: z.enum(nestpayBanks, { error: 'Choose the bank: isbank, akbank, halkbank or ziraat.' }),
  clientId: required('Client id', 20).pipe(z.string().regex(/^\d+$/, 'Client id is the store number your bank gave you: digits only.')),
  storeKey: required('Store key', 128),
  apiUser: required('API user name', 64),
  apiPassword: required('API password', 128),
  gateUrlTest: optionalUrl('Test 3D gate URL'),
  gateUrlProduction: optionalUrl('Production 3D gate URL'),
});

// Public test stores of the Asseco integration host, as published in the mewebstudio/pos tests
// and examples (İş Bankası 700655000200 / TRPS0200, Akbank-Payten 190100000 / 123456, ...).
// A production store with one of them would take no real money.
const testClientIds = new Set(['700655000200', '190100000', '190200000', '190000300', '100100000', '100200000']);
const testStoreKeys = new Set(['TRPS0200', 'TRPS1234', '123456', '12345678', 'TEST1234']);
const testHosts = new Set([new URL(assecoTestEndpoints.gate).hostname, 'localhost', '127.0.0.1', '::1', '[::1]']);

function parseCredentials(input: Record<string, string | undefined>, mode: GatewayMode): Record<string, string> {
  const c = parse(schema, input);
  const fields: Record<string, string> = {};
  if (c.gateUrlProduction && new URL(c.gateUrlProduction).protocol !== 'https:') {
    fields.gateUrlProduction = 'The production 3D gate URL must start with https://: card payments never go over plain HTTP.';
  }
  if (mode === 'production') {
    if (c.gateUrlTest && new URL(c.gateUrlTest).protocol !== 'https:') fields.gateUrlTest = 'In production mode every URL must start with https://.';
    if (testClientIds.has(c.clientId)) fields.clientId = 'This is a public test store number; production needs the store number your bank gave you.';
    if (testStoreKeys.has(c.storeKey)) fields.storeKey = 'This is a public test store key; production needs the key set in your bank\'s merchant panel.';
    if (c.gateUrlProduction && testHosts.has(new URL(c.gateUrlProduction).hostname)) {
      fields.gateUrlProduction ??= 'This is a test gate, not your bank\'s production gate.';
    }
  }
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
  const out: Record<string, string> = { bank: c.bank, clientId: c.clientId, storeKey: c.storeKey, apiUser: c.apiUser, apiPassword: c.apiPassword };
  if (c.gateUrlTest) out.gateUrlTest = c.gateUrlTest;
  if (c.gateUrlProduction) out.gateUrlProduction = c.gateUrlProduction;
  return out;
}

export const nestpayRegistration: GatewayRegistration = {
  kind: 'nestpay',
  label: 'NestPay 3D_PAY (İş Bankası, Akbank, Halkbank, Ziraat Bankası)',
  credentialFields,
  parseCredentials,
  // Stored credentials are checked again, so a record saved by an older version cannot build a
  // gateway with a missing key.
  create: (credentials, opts) => new NestpayGateway(parseCredentials(credentials, opts.mode) as unknown as NestpayCredentials, opts),
};
