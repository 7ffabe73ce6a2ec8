import { createHash, randomBytes } from 'node:crypto';

/** High-entropy secrets (API keys, invitation tokens): a fast hash is enough to store them. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
