// Where each bank's NestPay (Asseco EST) POS lives. Production hosts from the
// mewebstudio/pos configuration (config/pos_production.php at commit
// 0f495b758481cee5d33d7151760f2190e0d7c1f7: banks isbank, akbankv3, halkbank, ziraat-estpos);
// the shared Asseco integration host from its config/pos_test.php (payten_v3_hash).

export const nestpayBanks = ['isbank', 'akbank', 'halkbank', 'ziraat'] as const;
export type NestpayBank = (typeof nestpayBanks)[number];

export interface NestpayEndpoints {
  /** The 3D gate the buyer's browser posts the hashed form to. */
  gate: string;
  /** The XML API (CC5Request) for refunds and order status queries. */
  api: string;
}

export const bankLabels: Record<NestpayBank, string> = {
  isbank: 'Türkiye İş Bankası',
  akbank: 'Akbank',
  halkbank: 'Halkbank',
  ziraat: 'Ziraat Bankası',
};

export const productionEndpoints: Record<NestpayBank, NestpayEndpoints> = {
  isbank: { gate: 'https://sanalpos.isbank.com.tr/fim/est3Dgate', api: 'https://sanalpos.isbank.com.tr/fim/api' },
  akbank: { gate: 'https://www.sanalakpos.com/fim/est3Dgate', api: 'https://www.sanalakpos.com/fim/api' },
  halkbank: { gate: 'https://sanalpos.halkbank.com.tr/fim/est3dgate', api: 'https://sanalpos.halkbank.com.tr/fim/api' },
  ziraat: { gate: 'https://sanalpos2.ziraatbank.com.tr/fim/est3Dgate', api: 'https://sanalpos2.ziraatbank.com.tr/fim/api' },
};

/** The integration (test) host every bank's test store lives on. */
export const assecoTestEndpoints: NestpayEndpoints = {
  gate: 'https://entegrasyon.asseco-see.com.tr/fim/est3Dgate',
  api: 'https://entegrasyon.asseco-see.com.tr/fim/api',
};

/** Kontor's offline sandbox of the bank, mounted at /sandbox/nestpay. */
export function sandboxEndpoints(sandboxUrl: string): NestpayEndpoints {
  const base = `${sandboxUrl.replace(/\/+$/, '')}/sandbox/nestpay/fim`;
  return { gate: `${base}/est3Dgate`, api: `${base}/api` };
}

/**
 * A bank gives a 3D gate URL; the XML API of the same POS is `/fim/api` on that host (every
 * NestPay host above follows this). A gate URL that does not end in `/est3Dgate` keeps its
 * directory: `https://host/x/gate` -> `https://host/x/api`.
 */
export function apiUrlForGate(gateUrl: string): string {
  const u = new URL(gateUrl);
  u.pathname = u.pathname.replace(/\/[^/]*$/, '/api');
  u.search = '';
  u.hash = '';
  return u.toString();
}
