import type { Express } from 'express';
import { and, eq, sql } from 'drizzle-orm';
import { gatewayAccounts } from '../../db/schema';
import type { Deps } from '../deps';
import { createIyzicoSandbox } from '../gateways/iyzico';
import { createNestpaySandbox } from '../gateways/nestpay';
import { createStripeSandbox } from '../gateways/stripe';
import { credentialsOf, type GatewayAccount } from './gateway-accounts';

/**
 * The offline gateway sandboxes, served by this app outside production (config.sandboxUrl set).
 * Each finds its "merchant" among the sellers' test-mode payment systems, by the identifier the
 * client library sends (NestPay clientid, iyzico API key), with the seller's real decrypted secrets.
 */
export function mountSandboxes(app: Express, deps: Deps): void {
  if (deps.config.sandboxUrl === null) return;
  const find = async (kind: GatewayAccount['kind'], field: string, value: string): Promise<{ account: GatewayAccount; creds: Record<string, string> } | null> => {
    const [account] = await deps.db
      .select()
      .from(gatewayAccounts)
      .where(and(eq(gatewayAccounts.kind, kind), eq(gatewayAccounts.mode, 'test'), sql`${gatewayAccounts.settings} ->> ${field} = ${value}`))
      .limit(1);
    return account ? { account, creds: credentialsOf(deps, account) } : null;
  };
  const webhookUrl = (account: GatewayAccount) => `${deps.config.sandboxUrl}/webhooks/${account.id}`;

  // Stripe's fake API answers /v1/* at the root (stripe-node has no base path) and its pages under
  // /sandbox/stripe; anything else goes on to the app. Secret keys are sealed, so the merchant is
  // found by opening the (few) test-mode Stripe accounts.
  app.use(createStripeSandbox({
    resolveMerchant: async (secretKey) => {
      const rows = await deps.db.select().from(gatewayAccounts).where(and(eq(gatewayAccounts.kind, 'stripe'), eq(gatewayAccounts.mode, 'test')));
      for (const account of rows) {
        const creds = credentialsOf(deps, account);
        if (creds.secretKey === secretKey) return { id: account.id, webhookSecret: creds.webhookSecret ?? '', webhookUrl: webhookUrl(account) };
      }
      return null;
    },
    publicUrl: deps.config.publicUrl,
    hangMs: deps.config.gatewayTimeoutMs + 1_000,
  }));
  app.use('/sandbox/nestpay', createNestpaySandbox({
    resolveMerchant: async (clientId) => {
      const m = await find('nestpay', 'clientId', clientId);
      return m ? { storeKey: m.creds.storeKey ?? '', apiUser: m.creds.apiUser ?? '', apiPassword: m.creds.apiPassword ?? '', name: m.account.sellerAgencyId ?? 'Kontor platform' } : null;
    },
  }));
  app.use('/sandbox/iyzico', createIyzicoSandbox({
    resolveMerchant: async (apiKey) => {
      const m = await find('iyzico', 'apiKey', apiKey);
      return m ? { secretKey: m.creds.secretKey ?? '', webhookUrl: webhookUrl(m.account) } : null;
    },
    publicUrl: `${deps.config.publicUrl}/sandbox/iyzico`,
    slowAnswerMs: deps.config.gatewayTimeoutMs + 1_000,
    onWebhookError: (url, error) => deps.logger.warn('sandbox webhook delivery failed', { url, error }),
  }));
}
