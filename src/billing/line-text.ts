// Texts Kontor writes on invoice lines and one-off charges (docs/i18n.md, "Texts Kontor stores"):
// stored twice at insert, as issued (English) and as a message read in the reader's language.
import { localize, tFor } from '../i18n/i18n';
import { msg, type MessageParams } from '../lib/message';

export interface StoredText {
  /** The text as issued: what the legal record, the e-invoice and integrations read. */
  description: string;
  /** The same as a message (`msg(key, params)`), shown in the reader's language. */
  descriptionKey: string;
}

/** A line text Kontor writes, from its catalog key: the English text as issued, and the message. */
export function kontorText(key: string, params?: MessageParams): StoredText {
  const descriptionKey = msg(key, params);
  return { description: localize(tFor('en'), descriptionKey), descriptionKey };
}

/**
 * An offer's line: the seller's own name as written, and with a quantity above one "Pro x 3"
 * (`billing:line.quantity`, the count in the reader's grouping).
 */
export function offerLineText(name: string, quantity: number): { description: string; descriptionKey: string | null } {
  return quantity > 1 ? kontorText('billing:line.quantity', { name, quantity }) : { description: name, descriptionKey: null };
}
