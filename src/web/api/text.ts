import type { Request } from 'express';
import { localize, pickLanguage, tFor, type Translate } from '../../i18n/i18n';

/**
 * The API's reader's language (Accept-Language; a signed-in page's own choice when a page calls
 * the API): texts the domains keep as messages (failure reasons, warnings, notices) are answered
 * in it, like the `message` of errors. Codes and ids never change with the language.
 */
export const apiT = (req: Request): Translate => req.t ?? tFor(pickLanguage({ acceptLanguage: req.get('accept-language') }));

/** A stored or returned message (key, encoded key or fixed sentence) as text; null stays null. */
export const apiText = <T extends string | null | undefined>(t: Translate, message: T): T | string => (message ? localize(t, message) : message);
