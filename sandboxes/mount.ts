import type { Express } from 'express';
import { and, eq, sql } from 'drizzle-orm';
import { einvoiceAccounts, gatewayAccounts } from '../db/schema';
import type { Deps } from '../src/deps';
import { createEInvoiceSandbox } from './einvoice';
import { createIyzicoSandbox } from './iyzico';
import { createNestpaySandbox } from './nestpay';
import { createStripeSandbox } from './stripe';
import { credentialsOf, type GatewayAccount } from '../src/payments/gateway-accounts';
import { sellerTerms } from '../src/billing/accounts';
import { integratorCredentialsOf } from '../src/einvoice/accounts';

/**
 * The offline gateway sandboxes, served outside production (config.sandboxUrl set): by the web app
 * itself, or alone by sandboxes/server.ts. Each finds its "merchant" among the sellers' test-mode
 * payment systems, by the identifier the client library sends (NestPay clientid, iyzico API key),
 * with the seller's real decrypted secrets.
 * `pagesUrl`: where buyers' browsers reach the sandbox pages (default: the app's public URL);
 * `webhookBase`: where the sandboxes deliver webhooks (default: config.sandboxUrl, the app itself).
 */
export function mountSandboxes(app: Express, deps: Deps, urls: { pagesUrl?: string; webhookBase?: string } = {}): void {
  if (deps.config.sandboxUrl === null) return;
  const pagesUrl = urls.pagesUrl ?? deps.config.publicUrl;
  const webhookBase = urls.webhookBase ?? deps.config.sandboxUrl;
  const find = async (kind: GatewayAccount['kind'], field: string, value: string): Promise<{ account: GatewayAccount; creds: Record<string, string> } | null> => {
    const [account] = await deps.db
      .select()
      .from(gatewayAccounts)
      .where(and(eq(gatewayAccounts.kind, kind), eq(gatewayAccounts.mode, 'test'), sql`${gatewayAccounts.settings} ->> ${field} = ${value}`))
      .limit(1);
    return account ? { account, creds: credentialsOf(deps, account) } : null;
  };
  const webhookUrl = (account: GatewayAccount) => `${webhookBase}/webhooks/${account.id}`;

  // Stripe's fake API answers /v1/* at the root (stripe-node has no base path) and its pages under
  // /sandbox/stripe; anything else goes on to the app. Secret keys are sealed, so the merchant is
  // found by opening the (few) test-mode Stripe accounts.
  app.use(createStripeSandbox({
    resolveMerchant: async (secretKey) => {
      const rows = await deps.db.select().from(gatewayAccounts).where(and(eq(gatewayAccounts.kind, 'stripe'), eq(gatewayAccounts.mode, 'test')));
      for (const account of rows) {
        const creds = credentialsOf(deps, account);
        if (creds.secretKey === secretKey) return { id: account.id, webhookSecret: creds.webhookSecret ?? '', webhookUrl: webhookUrl(account), name: (await sellerTerms(deps.db, account.sellerAgencyId)).name };
      }
      return null;
    },
    publicUrl: pagesUrl,
    hangMs: deps.config.gatewayTimeoutMs + 1_000,
  }));
  app.use('/sandbox/nestpay', createNestpaySandbox({
    resolveMerchant: async (clientId) => {
      const m = await find('nestpay', 'clientId', clientId);
      // The bank shows the merchant's registered name to the card holder: the seller's name, never its id.
      return m ? { storeKey: m.creds.storeKey ?? '', apiUser: m.creds.apiUser ?? '', apiPassword: m.creds.apiPassword ?? '', name: (await sellerTerms(deps.db, m.account.sellerAgencyId)).name } : null;
    },
  }));
  app.use('/sandbox/iyzico', createIyzicoSandbox({
    resolveMerchant: async (apiKey) => {
      const m = await find('iyzico', 'apiKey', apiKey);
      return m ? { secretKey: m.creds.secretKey ?? '', webhookUrl: webhookUrl(m.account), name: (await sellerTerms(deps.db, m.account.sellerAgencyId)).name } : null;
    },
    publicUrl: `${pagesUrl}/sandbox/iyzico`,
    slowAnswerMs: deps.config.gatewayTimeoutMs + 1_000,
    onWebhookError: (url, error) => deps.logger.warn('sandbox webhook delivery failed', { url, error }),
  }));
  // The e-invoice integrator sandbox: its "customers" are the sellers' test-mode sandbox integrators, by API key.
  app.use('/sandbox/einvoice', createEInvoiceSandbox({
    resolveMerchant: async (apiKey) => {
      const rows = await deps.db.select().from(einvoiceAccounts).where(and(eq(einvoiceAccounts.kind, 'sandbox'), eq(einvoiceAccounts.mode, 'test')));
      for (const account of rows) {
        if (integratorCredentialsOf(deps, account).apiKey === apiKey) return { name: (await sellerTerms(deps.db, account.sellerAgencyId)).name };
      }
      return null;
    },
  }));
}
