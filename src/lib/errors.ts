import { msg } from './message';

/**
 * Every failure a caller can cause carries a stable machine code and an HTTP status. One
 * middleware renders it as JSON (API) or a page (browser); nothing else formats errors.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Field name to its message: a fixed sentence or a `msg(key, params)` (read by `localize`). */
export interface FieldErrors {
  [field: string]: string;
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(readonly fields: FieldErrors, message = 'Some fields are not valid.') {
    super('validation_failed', 422, message, { fields });
  }
}

// The things a "not found" names, and the API key scopes an endpoint can need: each is a whole
// sentence of the errors catalog (errors:notFound.agency, errors:wrongScope.platformOrAgency).
const slug = (words: string) => words.toLowerCase().replace(/[^a-z0-9]+(.)/g, (_, c: string) => c.toUpperCase()).replace(/[^a-zA-Z0-9]/g, '');
const NOT_FOUND = new Set(['agency', 'payment', 'invoice', 'subAccount', 'package', 'offer', 'subscription', 'route', 'paymentMethod', 'page', 'account', 'topUpPackage', 'seller', 'representative', 'purchase', 'gatewayAccount', 'department', 'channel', 'billingAddress', 'apiKey', 'resource', 'user', 'member', 'invitation', 'charge', 'refund', 'plan']);
const SCOPES = new Set(['platform', 'agency', 'subAccount', 'platformOrAgency', 'agencyOrSubAccount', 'platformAgencyOrSubAccount']);

export const errors = {
  notFound: (what = 'Resource') => new AppError('not_found', 404, NOT_FOUND.has(slug(what)) ? `errors:notFound.${slug(what)}` : msg('errors:notFound.other', { what })),
  unauthenticated: (message = 'Sign in or send a valid API key.') => new AppError('unauthenticated', 401, message),
  forbidden: (message = 'You do not have permission to do that.') => new AppError('forbidden', 403, message),
  wrongScope: (needed: string) => new AppError('wrong_scope', 403, SCOPES.has(slug(needed)) ? `errors:wrongScope.${slug(needed)}` : msg('errors:wrongScope.other', { needed })),
  billingPermission: () => new AppError('billing_permission_required', 403, 'This needs the billing permission.'),
  moduleRequired: (module: 'reselling') => new AppError('module_required', 403, `errors:moduleRequired.${module}`),
  conflict: (code: string, message: string) => new AppError(code, 409, message),
  badRequest: (code: string, message: string) => new AppError(code, 400, message),
};
