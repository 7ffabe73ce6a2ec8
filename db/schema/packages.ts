// Resold packages live in the one catalog (./offers.ts): a credit pack or a prepaid subscription.
/** What a sub-account's purchase bought: credits once, or credits every month of a term. */
export const packageTypes = ['credit', 'subscription'] as const;
export type PackageType = (typeof packageTypes)[number];
