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

export interface FieldErrors {
  [field: string]: string;
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(readonly fields: FieldErrors, message = 'Some fields are not valid.') {
    super('validation_failed', 422, message, { fields });
  }
}

export const errors = {
  notFound: (what = 'Resource') => new AppError('not_found', 404, `${what} not found.`),
  unauthenticated: (message = 'Sign in or send a valid API key.') => new AppError('unauthenticated', 401, message),
  forbidden: (message = 'You do not have permission to do that.') => new AppError('forbidden', 403, message),
  wrongScope: (needed: string) => new AppError('wrong_scope', 403, `This endpoint needs a ${needed} API key.`),
  billingPermission: () => new AppError('billing_permission_required', 403, 'This needs the billing permission.'),
  moduleRequired: (module: string) => new AppError('module_required', 403, `Your plan does not include the ${module} module.`),
  conflict: (code: string, message: string) => new AppError(code, 409, message),
  badRequest: (code: string, message: string) => new AppError(code, 400, message),
};
