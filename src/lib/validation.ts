import { z } from 'zod';
import { ValidationError } from './errors';
import { msg } from './message';

/** Parses input with a zod schema; failures become a ValidationError with one message per field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = issue.path.join('.') || '_';
    fields[key] ??= issue.message;
    // Forms show messages by top-level field ("ccEmails" for "ccEmails.1").
    if (issue.path.length > 1) fields[String(issue.path[0])] ??= issue.message;
  }
  throw new ValidationError(fields);
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
