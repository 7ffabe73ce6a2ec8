import { z } from 'zod';
import { ValidationError } from '../../lib/errors';
import { parse, required as requiredField, tooLong } from '../../lib/validation';
import type { CredentialField, GatewayMode, GatewayOptions, GatewayRegistration, PaymentGateway } from '../../payments/gateway';
import { IyzicoGateway, type IyzicoCredentials } from './gateway';
import { msg } from '../../lib/message';

export { IyzicoGateway, iyzicoApiUri, IYZICO_SANDBOX_PATH } from './gateway';
export { IYZICO_TEST_CARDS, TEST_CARD_NUMBERS as IYZICO_TEST_CARD_NUMBERS, IYZICO_SANDBOX_3DS_PASSWORD } from './test-cards';

const credentialFields: readonly CredentialField[] = [
  { name: 'apiKey', label: 'API key', secret: false, required: true, help: 'From the iyzico merchant panel: Settings > Company settings.' },
  { name: 'secretKey', label: 'Secret key', secret: true, required: true, help: 'Shown next to the API key in the iyzico merchant panel.' },
  {
    name: 'baseUrl',
    label: 'Custom API base URL',
    secret: false,
    required: false,
    help: 'Leave empty to use iyzico (api.iyzipay.com, or sandbox-api.iyzipay.com in test mode). HTTPS is required in production.',
  },
];

const key = (label: string) =>
  z
    .string({ error: requiredField(label) })
    .trim()
    .min(1, requiredField(label))
    .max(200, tooLong(label, 200))
    .regex(/^\S+$/, msg('errors:field.noSpaces', { label }));

const schema = z.object({
  apiKey: key('API key'),
  secretKey: key('Secret key'),
  baseUrl: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v),
    z
      .string()
      .max(500, 'Custom API base URL is too long.')
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'Custom API base URL must be an http(s) URL without query, fragment or user name, e.g. https://api.iyzipay.com.')
      .optional(),
  ),
});

/** Validates what a seller typed; production refuses non-HTTPS URLs and iyzico sandbox keys. */
export function parseIyzicoCredentials(input: Record<string, string | undefined>, mode: GatewayMode): Record<string, string> {
  const data = parse(schema, input);
  if (mode === 'production') {
    const fields: Record<string, string> = {};
    // iyzico's sandbox merchants get keys prefixed "sandbox-"; they never work against api.iyzipay.com.
    if (/^sandbox-/i.test(data.apiKey)) fields.apiKey = 'This is an iyzico sandbox API key; production needs your live key.';
    if (/^sandbox-/i.test(data.secretKey)) fields.secretKey = 'This is an iyzico sandbox secret key; production needs your live key.';
    if (data.baseUrl) {
      const u = new URL(data.baseUrl);
      if (u.protocol !== 'https:') fields.baseUrl = 'Custom API base URL must use HTTPS in production.';
      else if (u.hostname === 'sandbox-api.iyzipay.com') fields.baseUrl = "That is iyzico's sandbox; production needs https://api.iyzipay.com or leave it empty.";
    }
    if (Object.keys(fields).length > 0) throw new ValidationError(fields);
  }
  return { apiKey: data.apiKey, secretKey: data.secretKey, ...(data.baseUrl ? { baseUrl: data.baseUrl.replace(/\/+$/, '') } : {}) };
}

function createIyzicoGateway(credentials: Record<string, string>, opts: GatewayOptions): PaymentGateway {
  const { apiKey, secretKey, baseUrl } = credentials;
  if (!apiKey || !secretKey) throw new ValidationError({ _: 'iyzico needs an API key and a secret key.' });
  if (opts.mode === 'production' && baseUrl && !baseUrl.startsWith('https://')) {
    throw new ValidationError({ baseUrl: 'Custom API base URL must use HTTPS in production.' });
  }
  const creds: IyzicoCredentials = { apiKey, secretKey, ...(baseUrl ? { baseUrl } : {}) };
  return new IyzicoGateway(creds, opts);
}

export const iyzicoRegistration: GatewayRegistration = {
  kind: 'iyzico',
  label: 'iyzico',
  credentialFields,
  parseCredentials: parseIyzicoCredentials,
  create: createIyzicoGateway,
};
