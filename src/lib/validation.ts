import { z } from 'zod';
import { ValidationError } from './errors';

/** Parses input with a zod schema; failures become a ValidationError with one message per field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = issue.path.join('.') || '_';
    fields[key] ??= issue.message;
  }
  throw new ValidationError(fields);
}

export const name = (label: string) =>
  z.string({ error: `${label} is required.` }).trim().min(1, `${label} is required.`).max(200, `${label} is too long (200 characters at most).`);

export const email = z
  .string({ error: 'Email is required.' })
  .trim()
  .min(1, 'Email is required.')
  .max(254, 'Email is too long.')
  .pipe(z.email('Enter a valid email address.'))
  .transform((v) => v.toLowerCase());

export const optionalEmail = z
  .union([z.literal(''), z.undefined(), z.null(), email])
  .transform((v) => (v ? v : null));

/** Checkbox values from HTML forms ("on") and JSON booleans. */
export const checkbox = z
  .union([z.boolean(), z.literal('on'), z.literal('true'), z.literal('false'), z.literal(''), z.undefined()])
  .transform((v) => v === true || v === 'on' || v === 'true');

export const opaqueId = z.string({ error: 'Must be a string id.' }).min(1).max(64, 'Id is too long.');
