import type { Actor } from '../auth/actor';
import type { Formatter } from '../i18n/format';
import type { Lang, Translate } from '../i18n/i18n';
import type { SessionPrincipal } from '../users/users.usecases';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // passport's req.user is the loaded principal.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends SessionPrincipal {}
    interface Request {
      /** Set by API-key auth (API) or from the session user (pages). */
      actor?: Actor;
      /** The reader's language, its catalog and its formats (src/web/language.ts). */
      lang: Lang;
      t: Translate;
      fmt: Formatter;
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    flash?: { type: 'success' | 'error'; message: string; secret?: string };
    membershipId?: string;
    csrf?: boolean;
    /** A visitor's choice in the header's language switch (a signed-in user's is in their profile). */
    lang?: 'en' | 'tr';
  }
}

export {};
