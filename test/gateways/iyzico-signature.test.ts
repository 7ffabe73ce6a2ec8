import { expect } from 'chai';
import { readFileSync } from 'fs';
import { fileURLToPath } from 'url';
import path from 'path';
import {
  iyzicoAuthorizationV2,
  iyzicoRequestSignatureV2,
  iyzicoResponseSignature,
  iyzicoWebhookKind,
  iyzicoWebhookSignatureV3,
  verifyIyzicoResponseSignature,
  verifyIyzicoWebhookV3,
  type IyzicoWebhookKind,
} from '../../src/gateways/iyzico/signature';

// The shared conformance vectors, kept in the repository (see test/fixtures/vectors/README.md).
const vectorFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'vectors', 'iyzico.json');

interface Vectors {
  authorizationHeaderV2: {
    source: string;
    apiKey: string;
    secretKey: string;
    randomString: string;
    uriPath: string;
    body: unknown;
    signatureHex: string;
    header: string;
  };
  webhookV3: { source: string; kind: string; secretKey: string; payload: Record<string, unknown>; signature: string }[];
  threeDsCallback: { source: string; secretKey: string; form: Record<string, string>; signature: string };
}
const vectors = JSON.parse(readFileSync(vectorFile, 'utf8')) as Vectors;

// The vector file names kinds in prose.
const KINDS: Record<string, IyzicoWebhookKind> = {
  'checkout form': 'checkoutForm',
  'direct API / 3DS': 'direct',
};
const kindOf = (k: string): IyzicoWebhookKind => {
  const kind = KINDS[k];
  if (!kind) throw new Error(`unknown webhook kind in vectors: ${k}`);
  return kind;
};
const flipHex = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);

describe('iyzico signatures', () => {
  describe('authorization header v2', () => {
    const v = vectors.authorizationHeaderV2;
    // iyzipay-node signs JSON.stringify(body); our API takes the body as sent on the wire.
    const input = {
      apiKey: v.apiKey,
      secretKey: v.secretKey,
      randomKey: v.randomString,
      uriPath: v.uriPath,
      body: JSON.stringify(v.body),
    };

    it(`authorizationHeaderV2 signature (${v.source})`, () => {
      expect(iyzicoRequestSignatureV2(input)).to.equal(v.signatureHex);
    });

    it(`authorizationHeaderV2 header (${v.source})`, () => {
      expect(iyzicoAuthorizationV2(input)).to.equal(v.header);
    });

    it('header decodes to apiKey, randomKey and signature', () => {
      const b64 = iyzicoAuthorizationV2(input).replace(/^IYZWSv2 /, '');
      expect(Buffer.from(b64, 'base64').toString('utf8')).to.equal(
        `apiKey:${v.apiKey}&randomKey:${v.randomString}&signature:${v.signatureHex}`,
      );
    });

    it('changes with the body, path, random key and secret', () => {
      const base = iyzicoRequestSignatureV2(input);
      expect(iyzicoRequestSignatureV2({ ...input, body: 'body' })).to.not.equal(base);
      expect(iyzicoRequestSignatureV2({ ...input, uriPath: '/uri' })).to.not.equal(base);
      expect(iyzicoRequestSignatureV2({ ...input, randomKey: 'other' })).to.not.equal(base);
      expect(iyzicoRequestSignatureV2({ ...input, secretKey: 'other' })).to.not.equal(base);
    });
  });

  describe('webhook v3', () => {
    for (const v of vectors.webhookV3) {
      const kind = kindOf(v.kind);
      it(`webhookV3 ${v.kind} (${v.source})`, () => {
        expect(iyzicoWebhookSignatureV3(v.payload, v.secretKey, kind)).to.equal(v.signature);
        expect(iyzicoWebhookKind(v.payload)).to.equal(kind);
        expect(verifyIyzicoWebhookV3(v.payload, v.signature, v.secretKey)).to.equal(true);
      });
    }

    it('rejects a tampered signature, payload, wrong kind or missing header', () => {
      for (const v of vectors.webhookV3) {
        const kind = kindOf(v.kind);
        const other: IyzicoWebhookKind = kind === 'direct' ? 'checkoutForm' : 'direct';
        expect(verifyIyzicoWebhookV3(v.payload, flipHex(v.signature), v.secretKey)).to.equal(false);
        expect(verifyIyzicoWebhookV3(v.payload, v.signature.slice(0, -1), v.secretKey)).to.equal(false);
        expect(verifyIyzicoWebhookV3({ ...v.payload, status: 'FAILURE' }, v.signature, v.secretKey)).to.equal(false);
        // A token-less direct payload whose paymentId equals iyziPaymentId signs the same either
        // way, so the wrong kind is only distinguishable for the checkout-form payload.
        if (kind === 'checkoutForm') {
          expect(verifyIyzicoWebhookV3(v.payload, v.signature, v.secretKey, other)).to.equal(false);
        }
        expect(verifyIyzicoWebhookV3(v.payload, v.signature, v.secretKey + 'x')).to.equal(false);
        expect(verifyIyzicoWebhookV3(v.payload, undefined, v.secretKey)).to.equal(false);
        expect(verifyIyzicoWebhookV3(v.payload, '', v.secretKey)).to.equal(false);
      }
    });

    it('accepts an upper-case hex header', () => {
      const v = vectors.webhookV3[0];
      if (!v) throw new Error('no webhook vectors');
      expect(verifyIyzicoWebhookV3(v.payload, v.signature.toUpperCase(), v.secretKey)).to.equal(true);
    });
  });

  describe('3DS callback response signature', () => {
    const v = vectors.threeDsCallback;

    it(`threeDsCallback (${v.source})`, () => {
      expect(iyzicoResponseSignature('threedsCallback', v.form, v.secretKey)).to.equal(v.signature);
      expect(verifyIyzicoResponseSignature('threedsCallback', { ...v.form, signature: v.signature }, v.secretKey))
        .to.equal(true);
      expect(verifyIyzicoResponseSignature('threedsCallback', v.form, v.secretKey, v.signature)).to.equal(true);
    });

    it('rejects tampered fields, signature, or a missing signature', () => {
      const signed = { ...v.form, signature: v.signature };
      expect(verifyIyzicoResponseSignature('threedsCallback', { ...signed, mdStatus: '0' }, v.secretKey)).to.equal(false);
      expect(verifyIyzicoResponseSignature('threedsCallback', { ...signed, paymentId: '22484293' }, v.secretKey))
        .to.equal(false);
      expect(verifyIyzicoResponseSignature('threedsCallback', { ...signed, signature: flipHex(v.signature) }, v.secretKey))
        .to.equal(false);
      expect(verifyIyzicoResponseSignature('threedsCallback', v.form, v.secretKey)).to.equal(false);
      expect(verifyIyzicoResponseSignature('threedsCallback', signed, 'wrong-key')).to.equal(false);
    });

    it('signs absent fields as empty strings, but field order matters', () => {
      const { conversationData: _a, conversationId: _b, ...rest } = v.form;
      expect(iyzicoResponseSignature('threedsCallback', rest, v.secretKey)).to.equal(v.signature);
      // Same values under a different response type (different field order) must not verify.
      expect(verifyIyzicoResponseSignature('threedsInitialize', { ...v.form, signature: v.signature }, v.secretKey))
        .to.equal(false);
    });
  });
});
