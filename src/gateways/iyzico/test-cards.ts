// The iyzico sandbox's test cards, shared by the fake API (what a card number does) and the
// gateway (which number saveTestCard stores). Numbers from iyzico's published sandbox list are
// marked; the 419x numbers are this sandbox's own (iyzico has no card for a slow or broken API).
import type { TestCard } from '../../payments/gateway';

export const iyzicoCardBehaviours = ['approve', 'decline', 'threeds', 'slow', 'fail', 'tamper'] as const;
export type IyzicoCardBehaviour = (typeof iyzicoCardBehaviours)[number];

export interface IyzicoTestCard {
  number: string;
  behaviour: IyzicoCardBehaviour;
  /** iyzico's cardAssociation. */
  association: 'VISA' | 'MASTER_CARD';
  cardType: 'CREDIT_CARD' | 'DEBIT_CARD';
  bank: string;
  /** What the card does, for the checkout page and docs/sandboxes.md. */
  description: string;
}

export const IYZICO_TEST_CARDS: readonly IyzicoTestCard[] = [
  { number: '4543590000000006', behaviour: 'approve', association: 'VISA', cardType: 'CREDIT_CARD', bank: 'Is Bankasi', description: 'Approved (iyzico test card).' },
  { number: '5528790000000008', behaviour: 'approve', association: 'MASTER_CARD', cardType: 'CREDIT_CARD', bank: 'Halkbank', description: 'Approved (iyzico test card).' },
  { number: '4111111111111129', behaviour: 'decline', association: 'VISA', cardType: 'CREDIT_CARD', bank: 'Sandbox', description: 'Declined by the bank: 10051 not sufficient funds (iyzico error test card).' },
  { number: '4766620000000001', behaviour: 'threeds', association: 'VISA', cardType: 'DEBIT_CARD', bank: 'Denizbank', description: 'Debit card: needs 3-D Secure (password step in the checkout form; off-session charges answer 10217).' },
  { number: '4190000000000002', behaviour: 'slow', association: 'VISA', cardType: 'CREDIT_CARD', bank: 'Sandbox', description: 'Approved, but the first API answer about the payment comes after the client has given up (sandbox only).' },
  { number: '4191000000000001', behaviour: 'fail', association: 'VISA', cardType: 'CREDIT_CARD', bank: 'Sandbox', description: 'The API answers a system error (errorCode 1) for this payment; nothing is charged (sandbox only).' },
  { number: '4192000000000000', behaviour: 'tamper', association: 'MASTER_CARD', cardType: 'CREDIT_CARD', bank: 'Sandbox', description: 'Approved, but every answer about it carries a wrong response signature (sandbox only).' },
];

/** The card saveTestCard stores for each contract test card. */
export const TEST_CARD_NUMBERS: Record<TestCard, string> = {
  visa: '4543590000000006',
  declined: '4111111111111129',
  timeout: '4190000000000002',
  '3ds': '4766620000000001',
};

/** The 3-D Secure password the sandbox's 3DS step accepts. */
export const IYZICO_SANDBOX_3DS_PASSWORD = '123456';

export function findTestCard(number: string): IyzicoTestCard | undefined {
  const digits = number.replace(/[\s-]/g, '');
  return IYZICO_TEST_CARDS.find((c) => c.number === digits);
}

/** What people see: "VISA" -> "visa", "MASTER_CARD" -> "mastercard". */
export function brandOf(association: unknown): string {
  if (typeof association !== 'string' || association === '') return 'card';
  return association === 'MASTER_CARD' ? 'mastercard' : association.toLowerCase().replace(/_/g, '');
}
