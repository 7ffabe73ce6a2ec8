import { z } from 'zod';
import { ValidationError, type FieldErrors } from './errors';
import { msg, readMessage } from './message';

/**
 * Zod's own messages are English sentences; every issue a schema does not word itself becomes a
 * catalog key with parameters instead (`errors:zod.*`, read in the reader's language by
 * `localize`). `fieldErrors` names the field in it (`errors:zodField.*`: "currency must be one of
 * TRY, USD, EUR." / "currency şunlardan biri olmalı: TRY, USD, EUR.").
 */
export function zodIssueMessage(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'errors:zod.required';
      return msg('errors:zod.type', { expected: `errors:zodType.${TYPES.has(iss.expected) ? iss.expected : 'other'}` });
    case 'invalid_value':
      return msg('errors:zod.oneOf', { values: iss.values.map(String).join(', ') });
    case 'too_small':
    case 'too_big': {
      const which = iss.code === 'too_small' ? 'tooSmall' : 'tooBig';
      const limit = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      if (typeof limit !== 'number' && typeof limit !== 'bigint') return `errors:zod.${which}.other`;
      const n = Number(limit);
      if (iss.origin === 'string' || iss.origin === 'array' || iss.origin === 'set') return msg(`errors:zod.${which}.${iss.origin === 'string' ? 'string' : 'array'}`, { count: n });
      if (iss.origin === 'number' || iss.origin === 'int' || iss.origin === 'bigint') return msg(`errors:zod.${which}.${iss.inclusive === false ? 'numberExclusive' : 'number'}`, { limit: n });
      return `errors:zod.${which}.other`;
    }
    case 'invalid_format':
      return msg('errors:zod.format', { format: `errors:zodFormat.${FORMATS.has(iss.format) ? iss.format : 'other'}` });
    case 'not_multiple_of':
      return msg('errors:zod.multipleOf', { divisor: Number(iss.divisor) });
    case 'unrecognized_keys':
      return msg('errors:zod.unknownKeys', { keys: iss.keys.join(', ') });
    default:
      return 'errors:zod.invalid';
  }
}
const TYPES = new Set(['string', 'number', 'int', 'boolean', 'object', 'array', 'date', 'bigint']);
const FORMATS = new Set(['email', 'url', 'date', 'datetime', 'time', 'uuid', 'regex']);
z.config({ customError: zodIssueMessage });

/** A zod issue's message for the field it names: zod's own wording (errors:zod.*) names the field. */
function fieldMessage(message: string, field: string): string {
  const read = readMessage(message);
  if (!read.key?.startsWith('errors:zod.') || field === '_') return message;
  return msg(`errors:zodField.${read.key.slice('errors:zod.'.length)}`, { ...read.params, field });
}

/**
 * One message per field of a failed parse ("_" for the input as a whole). `top`: also under the
 * top-level field ("ccEmails" for "ccEmails.1", as forms show them); `name` renames a field.
 */
export function fieldErrors(issues: readonly z.core.$ZodIssue[], opts: { top?: boolean; topOnly?: boolean; name?: (field: string) => string } = {}): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of issues) {
    const path = issue.path.map(String).join('.') || '_';
    const key = opts.name ? opts.name(opts.topOnly ? String(issue.path[0] ?? '_') : path) : opts.topOnly ? String(issue.path[0] ?? '_') : path;
    fields[key] ??= fieldMessage(issue.message, path);
    if (opts.top && issue.path.length > 1) fields[String(issue.path[0])] ??= fieldMessage(issue.message, path);
  }
  return fields;
}

/** Parses input with a zod schema; failures become a ValidationError with one message per field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(fieldErrors(result.error.issues, { top: true }));
}

/** Field messages naming the field (its label is translated too: errors:label.*). */
export const required = (label: string) => msg('errors:field.required', { label });
export const tooLong = (label: string, max: number) => msg('errors:field.tooLong', { label, max });

export const name = (label: string) =>
  z.string({ error: required(label) }).trim().min(1, required(label)).max(200, tooLong(label, 200));

export const email = z
  .string({ error: 'Email is required.' })
  .trim()
  .min(1, 'Email is required.')
  .max(254, 'Email is too long.')
  .pipe(z.email('Enter a valid email address.'))
  .transform((v) => v.toLowerCase());

/** An optional form field: missing, null or blank all mean "not given" (null). */
export const blankToNull = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v) => (v === undefined || v === null || (typeof v === 'string' && v.trim() === '') ? null : v), schema.nullable());

export const optionalEmail = blankToNull(email);

/** Checkbox values from HTML forms ("on", or absent) and JSON booleans; anything else is refused. */
export const checkbox = z.preprocess(
  (v) => (v === undefined || v === null || v === '' || v === 'false' ? false : v === 'on' || v === 'true' ? true : v),
  z.boolean({ error: 'Must be true or false.' }),
);

export const opaqueId = z.string({ error: 'Must be a string id.' }).min(1, 'Must be a string id.').max(64, 'Id is too long.');

/** A whole number in a range, with messages naming the field. */
export const wholeNumber = (label: string, min: number, max: number) =>
  z
    .number({ error: msg('errors:field.wholeNumber', { label }) })
    .int(msg('errors:field.wholeNumber', { label }))
    .min(min, msg('errors:field.atLeast', { label, min }))
    .max(max, msg('errors:field.atMost', { label, max }));
