import type { Actor } from '../auth/actor';
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
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    flash?: { type: 'success' | 'error'; message: string; secret?: string };
    membershipId?: string;
    csrf?: boolean;
  }
}

export {};
