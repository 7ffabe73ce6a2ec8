import { apiKeys, agencies, billingAddresses, departments, memberships, sellerTaxSettings, subAccountDepartments, subAccounts, users, type Role, type Scope } from '../../db/schema';
import type { OfferKind } from '../../db/schema';
import { setAgencyPlan } from '../billing/subscriptions.usecases';
import { billingPackageOf } from '../catalog/billing-offers';
import { planByCode } from '../catalog/catalog.usecases';
import { insertOffer } from '../catalog/offers';
import { transferToSubAccount } from '../credits/credits.usecases';
import { creditAccount, lockAccount } from '../credits/ledger';
import { systemActor } from '../auth/actor';
import type { Deps } from '../deps';
import { newId } from '../lib/ids';
import { hashPassword } from '../lib/password';
import { sha256 } from '../lib/tokens';
import { saveGatewayAccount } from '../payments/gateway-accounts';
import { getPlatformId } from '../tenancy/agencies.usecases';
import { countUsers } from '../users/users.usecases';

export const DEMO_PASSWORD = 'demo-password';

/** Demo keys are fixed so they can be printed at every start. They are public: demo data only. */
export const DEMO_KEYS = {
  platform: 'kt_plt_demo_platform_0000000000000000',
  atlas: 'kt_agy_demo_atlas_00000000000000000000',
  atlasClient: 'kt_sub_demo_atlas_client_0000000000000',
} as const;

/** What the server prints at start-up for a demo database. */
export const DEMO_LOGINS = [
  { email: 'admin@kontor.test', where: 'platform admin (sells through the Stripe sandbox)' },
  { email: 'owner@atlas.test', where: 'Atlas Digital, agency owner (billing, reselling module; NestPay sandbox, İş Bankası)' },
  { email: 'staff@atlas.test', where: 'Atlas Digital, agency member (no billing)' },
  { email: 'owner@bosphorus.test', where: 'Bosphorus Media, agency owner (no reselling module; iyzico sandbox)' },
  { email: 'owner@lumen.test', where: 'Cafe Lumen, client of Atlas Digital' },
] as const;

export const DEMO_KEY_LIST = [
  { scope: 'platform', key: DEMO_KEYS.platform, what: 'platform' },
  { scope: 'agency', key: DEMO_KEYS.atlas, what: 'Atlas Digital' },
  { scope: 'sub-account', key: DEMO_KEYS.atlasClient, what: 'Cafe Lumen (Atlas Digital)' },
] as const;

/** The demo sellers' sandbox credentials (test mode; the offline sandboxes accept them). */
export const DEMO_GATEWAYS = {
  platform: { secretKey: 'sk_test_51KontorDemoPlatform0000000', publishableKey: 'pk_test_51KontorDemoPlatform0000000', webhookSecret: 'whsec_KontorDemoPlatformWebhook0000' },
  // İş Bankası's public Asseco test store number; the store key is set in the merchant panel.
  atlas: { bank: 'isbank', clientId: '700655000200', storeKey: 'TRPS0200', apiUser: 'ATLASAPI', apiPassword: 'ATLAS0200' },
  bosphorus: { apiKey: 'sandbox-bosphorus-demo-api-key', secretKey: 'sandbox-bosphorus-demo-secret-key' },
} as const;

/** Seeds a small world if the database has no users: a platform admin, two agencies, clients. */
export async function seedDemo(deps: Deps): Promise<boolean> {
  if ((await countUsers(deps.db)) > 0) return false;
  const platformId = await getPlatformId(deps);
  const now = deps.clock.now();
  const passwordHash = await hashPassword(DEMO_PASSWORD, deps.config.passwordHashCost);

  const atlas = newId('agy');
  const bosphorus = newId('agy');
  await deps.db.transaction(async (tx) => {
    const addUser = async (email: string, name: string, scope: Scope, role: Role, billing: boolean, agencyId: string | null, subAccountId: string | null) => {
      const id = newId('usr');
      await tx.insert(users).values({ id, email, name, passwordHash, createdAt: now, updatedAt: now });
      await tx.insert(memberships).values({ id: newId('mem'), userId: id, scope, agencyId, subAccountId, role, billing, createdAt: now });
    };
    const addKey = (secret: string, scope: Scope, agencyId: string | null, subAccountId: string | null, name: string) =>
      tx.insert(apiKeys).values({ id: newId('key'), scope, agencyId, subAccountId, name, prefix: secret.slice(0, 11), keyHash: sha256(secret), createdAt: now });

    await addUser('admin@kontor.test', 'Platform Admin', 'platform', 'owner', true, null, null);
    await addKey(DEMO_KEYS.platform, 'platform', null, null, 'Demo platform key');

    // The platform's plans the demo agencies are on (picked from this list in the platform console).
    // Atlas resells because its plan includes the reselling module (no hand-granted flag).
    await insertOffer(tx, { sellerAgencyId: null, kind: 'plan', code: 'agency-starter', terms: { name: 'Agency Starter', chatbots: 1, credits: 5_000, priceMinor: 49_900, currency: 'TRY' } }, now);
    await insertOffer(tx, { sellerAgencyId: null, kind: 'plan', code: 'agency-pro', terms: { name: 'Agency Pro', chatbots: 5, credits: 25_000, modules: ['reselling'], priceMinor: 149_900, currency: 'TRY' } }, now);
    await tx.insert(agencies).values([
      { id: atlas, platformId, name: 'Atlas Digital', resellingModule: false, planCode: 'agency-pro', billingEmail: 'billing@atlas.test', ccEmails: ['finance@atlas.test'], createdAt: now, updatedAt: now },
      { id: bosphorus, platformId, name: 'Bosphorus Media', resellingModule: false, planCode: 'agency-starter', billingEmail: 'hello@bosphorus.test', locale: 'tr', createdAt: now, updatedAt: now },
    ]);
    // Being on a plan is a monthly subscription to it, billed from today (docs/catalog.md).
    for (const [agencyId, code] of [[atlas, 'agency-pro'], [bosphorus, 'agency-starter']] as const) {
      const plan = await planByCode(tx, code);
      await setAgencyPlan(tx, { actor: systemActor('demo'), agencyId, plan: billingPackageOf(plan!.offer), now });
    }
    await addUser('owner@atlas.test', 'Ayla Atlas', 'agency', 'owner', true, atlas, null);
    await addUser('staff@atlas.test', 'Sam Staff', 'agency', 'member', false, atlas, null);
    await addUser('owner@bosphorus.test', 'Deniz Bosphorus', 'agency', 'owner', true, bosphorus, null);
    await addKey(DEMO_KEYS.atlas, 'agency', atlas, null, 'Demo agency key');

    // Departments and credits: Atlas bought 50,000 credits from the platform and gave Cafe Lumen 2,000.
    const sales = newId('dep');
    const support = newId('dep');
    await tx.insert(departments).values([
      { id: sales, agencyId: atlas, name: 'Sales', creditsPerRequest: 10, createdAt: now, updatedAt: now },
      { id: support, agencyId: atlas, name: 'Support', creditsPerRequest: 5, createdAt: now, updatedAt: now },
    ]);
    const pool = await lockAccount(tx, { agencyId: atlas, subAccountId: null }, now);
    await creditAccount(tx, pool, { amount: 50_000, source: 'topup', reason: 'grant', reference: 'demo', note: 'Demo top-up' }, now);

    // Billing-engine packages: the platform's for agencies (in TRY, as the plans the agencies are
    // billed for: one invoice, one currency), Atlas's for its clients.
    const pkg = (sellerAgencyId: string | null, name: string, kind: OfferKind, terms: Partial<Parameters<typeof insertOffer>[1]['terms']>) =>
      insertOffer(tx, { sellerAgencyId, kind, terms: { name, billing: 'monthly', currency: 'TRY', priceMinor: 0, ...terms } }, now);
    await pkg(null, 'Support desk 3', 'package', { priceMinor: 99_900, representatives: 3 });
    await pkg(null, 'Support desk 10', 'package', { priceMinor: 249_900, representatives: 10, chatbotSessions: 50_000 });
    await pkg(atlas, 'Chatbot 20k', 'package', { priceMinor: 150_000, chatbotSessions: 20_000 });
    await pkg(atlas, 'Chatbot 50k', 'package', { priceMinor: 300_000, chatbotSessions: 50_000 });
    await pkg(atlas, 'Chatbot 50k yearly', 'package', { billing: 'term', termMonths: 12, priceMinor: 300_000, chatbotSessions: 50_000 });
    await pkg(atlas, 'Live support 5', 'package', { priceMinor: 120_000, representatives: 5, whatsappChannels: 1, instagramChannels: 1 });
    await pkg(atlas, 'Ticket system', 'addon', { priceMinor: 25_000, modules: ['ticket_system'] });
    await pkg(atlas, 'Extra representative', 'quantity', { unit: 'representative', priceMinor: 30_000 });
    await pkg(atlas, 'Extra 1,000 chatbot sessions', 'extra_sessions', { priceMinor: 9_900, chatbotSessions: 1000 });
    // What the platform sells agencies for their pools and chatbots (their store page).
    await insertOffer(tx, { sellerAgencyId: null, kind: 'topup', terms: { name: '10,000 credits', credits: 10_000, priceMinor: 79_900, currency: 'TRY' } }, now);
    await insertOffer(tx, { sellerAgencyId: null, kind: 'topup', terms: { name: '50,000 credits', credits: 50_000, priceMinor: 349_000, currency: 'TRY' } }, now);
    await insertOffer(tx, { sellerAgencyId: null, kind: 'chatbot_slot', terms: { name: 'Chatbot slot', priceMinor: 19_900, currency: 'TRY' } }, now);
    // Atlas's prepaid credit offers, resold out of its pool (its clients' Packages page).
    await insertOffer(tx, { sellerAgencyId: atlas, kind: 'credit_pack', terms: { name: 'Starter credits', credits: 5_000, priceMinor: 14_950, currency: 'TRY' } }, now);
    await insertOffer(tx, { sellerAgencyId: atlas, kind: 'credit_pack', terms: { name: 'Growth credits', credits: 20_000, priceMinor: 49_900, currency: 'TRY' } }, now);
    await insertOffer(tx, { sellerAgencyId: atlas, kind: 'prepaid_subscription', terms: { name: '10,000 credits a month for 6 months', credits: 10_000, termMonths: 6, priceMinor: 249_000, currency: 'TRY' } }, now);

    // Tax (docs/tax.md): every demo seller is Turkish, charges KDV 20% and has its legal identity
    // (valid VKNs); every demo buyer has a tax identity on its billing address.
    const seller = (sellerKey: string, sellerAgencyId: string | null, legalName: string, taxNumber: string, district: string, priceMode: 'exclusive' | 'inclusive') => ({
      sellerKey, sellerAgencyId, taxEnabled: true, legalName, addressLine1: 'Büyükdere Cd. 100', district, city: 'İstanbul', postalCode: '34394', country: 'TR',
      taxOffice: district, taxNumber, defaultRateBp: 2000, priceMode, enabledAt: now, updatedAt: now,
    });
    await tx.insert(sellerTaxSettings).values([
      seller('platform', null, 'Kontor Yazılım A.Ş.', '1234567890', 'Şişli', 'exclusive'),
      seller(atlas, atlas, 'Atlas Dijital Hizmetler A.Ş.', '2345678909', 'Beşiktaş', 'exclusive'),
      seller(bosphorus, bosphorus, 'Bosphorus Medya Ltd. Şti.', '3456789014', 'Kadıköy', 'inclusive'),
    ]);
    const address = (agencyId: string, subAccountId: string | null, name: string, identity: Partial<typeof billingAddresses.$inferInsert>) => ({
      id: newId('adr'), agencyId, subAccountId, buyerId: subAccountId ?? agencyId, name, line1: 'İstiklal Cd. 10', city: 'İstanbul', country: 'TR', isDefault: true, createdAt: now, updatedAt: now, ...identity,
    });
    await tx.insert(billingAddresses).values([
      address(atlas, null, 'Atlas Dijital Hizmetler A.Ş.', { taxKind: 'company', taxNumber: '2345678909', taxOffice: 'Beşiktaş', eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:defaultpk@atlasdijital.com.tr' }),
      address(bosphorus, null, 'Bosphorus Medya Ltd. Şti.', { taxKind: 'company', taxNumber: '3456789014', taxOffice: 'Kadıköy' }),
    ]);

    const clients = [
      { agency: atlas, name: 'Cafe Lumen', email: 'owner@lumen.test', key: DEMO_KEYS.atlasClient, identity: { taxKind: 'company', taxNumber: '4567890128', taxOffice: 'Beyoğlu' } },
      { agency: atlas, name: 'Nova Dental', email: 'owner@nova.test', identity: { taxKind: 'person', taxNumber: '10000000146', firstName: 'Nova', familyName: 'Yıldız' } },
      { agency: bosphorus, name: 'Kapadokya Tur', email: 'owner@kapadokya.test', identity: { taxKind: 'company', taxNumber: '5678901233', taxOffice: 'Nevşehir', eInvoiceRegistered: true, eInvoiceAlias: 'urn:mail:defaultpk@kapadokyatur.com.tr' } },
    ] as const;
    for (const c of clients) {
      const id = newId('sub');
      await tx.insert(subAccounts).values({ id, agencyId: c.agency, name: c.name, billingEmail: c.email, createdAt: now, updatedAt: now });
      await addUser(c.email, `${c.name} Owner`, 'sub_account', 'owner', true, c.agency, id);
      await tx.insert(billingAddresses).values(address(c.agency, id, c.name, c.identity));
      if ('key' in c) await addKey(c.key, 'sub_account', c.agency, id, 'Demo client key');
      if (c.agency === atlas) {
        await tx.insert(subAccountDepartments).values([sales, support].map((departmentId) => ({ agencyId: atlas, subAccountId: id, departmentId, createdAt: now })));
        await transferToSubAccount(tx, { agencyId: atlas, subAccountId: id, credits: 2_000, source: 'adjustment', reason: 'adjustment', reference: 'demo', note: 'Demo credits' }, now);
      }
    }
  });

  // Every seller takes payments through a gateway sandbox served by this app (outside production
  // only: the sandboxes find these test-mode merchants by their keys). Public test values only.
  if (deps.config.sandboxUrl !== null) {
    const seeder = systemActor('demo-seed');
    await saveGatewayAccount(deps, seeder, null, { kind: 'stripe', mode: 'test', ...DEMO_GATEWAYS.platform });
    await saveGatewayAccount(deps, seeder, atlas, { kind: 'nestpay', mode: 'test', ...DEMO_GATEWAYS.atlas });
    await saveGatewayAccount(deps, seeder, bosphorus, { kind: 'iyzico', mode: 'test', ...DEMO_GATEWAYS.bosphorus });
  }
  return true;
}
