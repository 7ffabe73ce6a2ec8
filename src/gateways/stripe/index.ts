import { z } from 'zod';
import { ValidationError, type FieldErrors } from '../../lib/errors';
import type { GatewayMode, GatewayRegistration } from '../../payments/gateway';
import { StripeGateway, type StripeCredentials } from './gateway';
import { fieldErrors, required } from '../../lib/validation';

export { StripeGateway, PAYMENT_ID_KEY, type StripeCredentials } from './gateway';
export { stripeTestCards, savedTestCardTokens } from './test-cards';

const trimmed = (label: string) => z.string({ error: required(label) }).trim().min(1, required(label));

const schema = z.object({
  secretKey: trimmed('Secret key').regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/, 'Secret key: paste the key that starts with sk_test_ or sk_live_ (a restricted key rk_... works too).'),
  publishableKey: trimmed('Publishable key').regex(/^pk_(test|live)_[A-Za-z0-9]{8,}$/, 'Publishable key: paste the key that starts with pk_test_ or pk_live_.'),
  webhookSecret: trimmed('Webhook signing secret').regex(/^whsec_[A-Za-z0-9+/=]{8,}$/, 'Webhook signing secret: paste the secret that starts with whsec_ (Developers > Webhooks > your endpoint).'),
});

const modeOf = (key: string) => (key.includes('_live_') ? 'live' : 'test');

function parseCredentials(input: Record<string, string | undefined>, mode: GatewayMode): Record<string, string> {
  const parsed = schema.safeParse(input);
  const fields: FieldErrors = {};
  if (!parsed.success) {
    Object.assign(fields, fieldErrors(parsed.error.issues, { topOnly: true }));
    throw new ValidationError(fields, 'The Stripe credentials are not valid.');
  }
  const creds: StripeCredentials = parsed.data;
  const wanted = mode === 'production' ? 'live' : 'test';
  if (modeOf(creds.secretKey) !== wanted) {
    fields.secretKey = mode === 'production' ? 'Production needs a live secret key (sk_live_...); this is a test key.' : 'Test mode needs a test secret key (sk_test_...); a live key would charge real cards.';
  }
  if (modeOf(creds.publishableKey) !== wanted) {
    fields.publishableKey = mode === 'production' ? 'Production needs a live publishable key (pk_live_...).' : 'Test mode needs a test publishable key (pk_test_...).';
  }
  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'The Stripe credentials do not match the mode.');
  return { ...creds };
}

export const stripeRegistration: GatewayRegistration = {
  kind: 'stripe',
  label: 'Stripe',
  credentialFields: [
    { name: 'secretKey', label: 'Secret key', secret: true, required: true, help: 'Developers > API keys: sk_test_... in test mode, sk_live_... in production.' },
    { name: 'publishableKey', label: 'Publishable key', secret: false, required: true, help: 'pk_test_... or pk_live_..., of the same account and mode as the secret key.' },
    { name: 'webhookSecret', label: 'Webhook signing secret', secret: true, required: true, help: "whsec_...: the signing secret of the webhook endpoint that points at Kontor's Stripe webhook URL." },
  ],
  parseCredentials,
  create(credentials, opts) {
    const creds = parseCredentials(credentials, opts.mode) as unknown as StripeCredentials;
    return new StripeGateway(creds, opts);
  },
};
