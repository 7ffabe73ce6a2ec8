// The offline gateway sandboxes: simulators that speak the real protocols (the bank's 3D page
// and API for NestPay, iyzico's and Stripe's HTTP APIs) so the demo and the tests run with no
// network, through the real client libraries and the real hash and signature code. They are not
// part of the product: the web app mounts them only outside production (mount.ts), and
// `npm run sandboxes` serves them alone (server.ts). docs/sandboxes.md describes their behaviours.
export { createNestpaySandbox, nestpaySandboxCards, NESTPAY_SANDBOX_3D_PASSWORD, type NestpaySandboxOptions, type NestpaySandboxMerchant, type NestpaySandboxRouter } from './nestpay';
export { createIyzicoSandbox, createIyzicoSandboxStore, type IyzicoSandboxOptions, type IyzicoSandboxStore, type IyzicoSandboxMerchant } from './iyzico';
export { createStripeSandbox, stripeSignatureHeader, type StripeSandboxOptions, type StripeSandboxMerchant, type StripeSandboxRouter } from './stripe';
export { createEInvoiceSandbox, type EInvoiceSandboxOptions, type EInvoiceSandboxMerchant } from './einvoice';
export { mountSandboxes } from './mount';
