// iyzico signatures: pure crypto, no I/O. Behaviour follows iyzico's own SDKs
// (iyzipay-node lib/utils.js, iyzipay-php samples/*Signature*.php).
import { createHmac, timingSafeEqual } from 'crypto';

const hmacHex = (secretKey: string, data: string): string =>
  createHmac('sha256', secretKey).update(data, 'utf8').digest('hex');

/** Constant-time comparison of two hex digests; case of the received one is not significant. */
function hexEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received.trim().toLowerCase(), 'utf8');
  // timingSafeEqual throws on unequal lengths; a digest's length is not secret.
  return a.length === b.length && timingSafeEqual(a, b);
}

// Missing values are signed as empty strings (e.g. the empty conversationId of a 3DS callback).
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

// ---------------------------------------------------------------------------
// Request authentication (Authorization: IYZWSv2 ...)

export interface IyzicoAuthInput {
  apiKey: string;
  secretKey: string;
  /** Also sent as the x-iyzi-rnd header. */
  randomKey: string;
  /** Request path without host or query string, e.g. /payment/auth. */
  uriPath: string;
  /** Exactly the body bytes sent ('' when there is none). The SDK signs JSON.stringify(request). */
  body: string;
}

/** HMAC-SHA256(secretKey, randomKey + uriPath + body), hex. */
export function iyzicoRequestSignatureV2(input: Omit<IyzicoAuthInput, 'apiKey'>): string {
  return hmacHex(input.secretKey, input.randomKey + input.uriPath + input.body);
}

/** "IYZWSv2 " + base64("apiKey:<k>&randomKey:<r>&signature:<hex>"). */
export function iyzicoAuthorizationV2(input: IyzicoAuthInput): string {
  const params = [
    `apiKey:${input.apiKey}`,
    `randomKey:${input.randomKey}`,
    `signature:${iyzicoRequestSignatureV2(input)}`,
  ].join('&');
  return `IYZWSv2 ${Buffer.from(params, 'utf8').toString('base64')}`;
}

// ---------------------------------------------------------------------------
// Response signatures: HMAC-SHA256 over documented fields joined with ':', hex.

/** Field order per response type, from iyzico's response-signature docs and PHP samples. */
export const IYZICO_RESPONSE_SIGNATURE_FIELDS = {
  /** Non-3DS auth/preauth/postauth, payment detail, 3DS auth (payment completion). */
  payment: ['paymentId', 'currency', 'basketId', 'conversationId', 'paidPrice', 'price'],
  threedsInitialize: ['paymentId', 'conversationId'],
  checkoutFormInitialize: ['conversationId', 'token'],
  /** Also Pay with iyzico retrieve. */
  checkoutFormRetrieve: [
    'paymentStatus', 'paymentId', 'currency', 'basketId', 'conversationId', 'paidPrice', 'price', 'token',
  ],
  /** Refund v2 (/v2/payment/refund), as iyzipay-node's samples/IyziPayRefundV2Samples.js checks it. */
  refundV2: ['paymentId', 'conversationId'],
  /** Form POSTed by iyzico to the merchant's callbackUrl after 3DS. */
  threedsCallback: ['conversationData', 'conversationId', 'mdStatus', 'paymentId', 'status'],
} as const satisfies Record<string, readonly string[]>;

export type IyzicoResponseType = keyof typeof IYZICO_RESPONSE_SIGNATURE_FIELDS;

/** Values are signed as received: pass prices exactly as iyzico sent them. */
export function iyzicoResponseSignature(
  type: IyzicoResponseType,
  response: Record<string, unknown>,
  secretKey: string,
): string {
  const data = IYZICO_RESPONSE_SIGNATURE_FIELDS[type].map((f) => str(response[f])).join(':');
  return hmacHex(secretKey, data);
}

/** Uses `signature` from the response itself unless one is given. */
export function verifyIyzicoResponseSignature(
  type: IyzicoResponseType,
  response: Record<string, unknown>,
  secretKey: string,
  signature: unknown = response.signature,
): boolean {
  if (typeof signature !== 'string' || signature === '') return false;
  return hexEqual(iyzicoResponseSignature(type, response, secretKey), signature);
}

// ---------------------------------------------------------------------------
// Webhooks: X-Iyz-Signature-V3 header.

/**
 * checkoutForm: Checkout Form and Pay with iyzico (payload has a token);
 * direct: direct API / 3DS payments (payload has paymentId, no token).
 */
export type IyzicoWebhookKind = 'checkoutForm' | 'direct';

export function iyzicoWebhookKind(payload: Record<string, unknown>): IyzicoWebhookKind {
  return payload.token !== undefined && payload.token !== null ? 'checkoutForm' : 'direct';
}

/** HMAC-SHA256 keyed by secretKey over secretKey + fields concatenated without separator, hex. */
export function iyzicoWebhookSignatureV3(
  payload: Record<string, unknown>,
  secretKey: string,
  kind: IyzicoWebhookKind = iyzicoWebhookKind(payload),
): string {
  const fields =
    kind === 'checkoutForm'
      ? [payload.iyziEventType, payload.iyziPaymentId, payload.token, payload.paymentConversationId, payload.status]
      : [payload.iyziEventType, payload.paymentId, payload.paymentConversationId, payload.status];
  return hmacHex(secretKey, secretKey + fields.map(str).join(''));
}

export function verifyIyzicoWebhookV3(
  payload: Record<string, unknown>,
  signatureHeader: string | undefined,
  secretKey: string,
  kind: IyzicoWebhookKind = iyzicoWebhookKind(payload),
): boolean {
  if (!signatureHeader) return false;
  return hexEqual(iyzicoWebhookSignatureV3(payload, secretKey, kind), signatureHeader);
}
