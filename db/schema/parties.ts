/**
 * The tax identities printed on an invoice (DESIGN section 10), as snapshots: an invoice keeps
 * the parties as they stood when it was issued, whatever the seller or the buyer edits later.
 * Stored as jsonb on invoices (and credit notes); the live settings are elsewhere (the seller's
 * tax settings, the buyer's billing address).
 */

/** A postal address as printed and as UBL-TR needs it. */
export interface PartyAddress {
  line1: string;
  line2?: string | null;
  /** District (ilçe) where known: UBL-TR's CitySubdivisionName. */
  district?: string | null;
  city: string;
  postalCode?: string | null;
  /** ISO 3166-1 alpha-2: "TR". */
  country: string;
}

/** The seller: the platform or an agency, from its tax settings. */
export interface SellerParty {
  legalName: string;
  address: PartyAddress;
  taxOffice: string;
  /** VKN (10 digits) for a company, TCKN (11 digits) for a sole trader. */
  taxNumber: string;
  email?: string | null;
  phone?: string | null;
}

/** The buyer, from its default billing address when the invoice was issued. */
export type BuyerParty =
  /** A company: VKN and tax office; `eInvoiceRegistered` picks e-Fatura over e-Arşiv. */
  | { kind: 'company'; legalName: string; vkn: string; taxOffice: string; address: PartyAddress; eInvoiceRegistered: boolean; email?: string | null; /** Its GİB mailbox (urn:mail:...), where e-Fatura goes; absent on invoices issued before it was kept. */ eInvoiceAlias?: string | null }
  /** A person: TCKN (GİB asks for the first and family names apart). */
  | { kind: 'person'; firstName: string; familyName: string; tckn: string; address: PartyAddress; email?: string | null }
  /** A foreign buyer exempt from the seller's tax (reverse charge): the reason is printed. */
  | { kind: 'exempt'; name: string; foreignTaxId?: string | null; reason: string; address: PartyAddress; email?: string | null };
