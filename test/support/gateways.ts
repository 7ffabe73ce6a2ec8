import type { Actor } from '../../src/auth/actor';

// Sandbox credentials, shaped as each provider issues them (see test/gateways/*). The sandboxes
// find their merchant by them, so each seller in one test needs its own.
export const NESTPAY = { bank: 'isbank', clientId: '100200300', storeKey: 'Kontor|Store\\Key_1', apiUser: 'KONTORAPI', apiPassword: 'p<a>ss&1' };
export const IYZICO = { apiKey: 'sandbox-kontor-api-key', secretKey: 'sandbox-kontor-secret-key' };
export const STRIPE = { secretKey: 'sk_test_51KontorSellerAaaaaaaaaaaa', publishableKey: 'pk_test_51KontorSellerAaaaaaaaaaaa', webhookSecret: 'whsec_KontorSellerAwebhookSecret0001' };

/** An agency owner with billing, as saveGatewayAccount's caller. */
export const ownerActor = (agencyId: string, userId: string): Actor => ({ kind: 'user', id: userId, scope: 'agency', agencyId, subAccountId: null, role: 'owner', billing: true });
