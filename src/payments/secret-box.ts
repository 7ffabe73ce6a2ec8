import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of sellers' gateway secrets (AES-256-GCM, Node's own crypto).
 * Format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). The associated data binds a
 * ciphertext to its owner (the seller key), so it cannot be copied onto another seller's row.
 * The first configured key encrypts; every configured key can decrypt, which is how keys rotate.
 */
export class SecretBox {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly { id: string; key: Buffer }[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  seal(plaintext: string, associatedData: string): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, associatedData: string): string {
    const [version, id, iv, tag, ct] = sealed.split('.');
    if (version !== 'v1' || !id || iv === undefined || tag === undefined || ct === undefined) throw new SecretBoxError('Malformed sealed secret.');
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`The key "${id}" that sealed this secret is not configured (SECRET_KEYS).`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('A sealed secret failed authentication (tampered, or sealed for another owner).');
    }
  }

  keyIdOf(sealed: string): string | undefined {
    return sealed.split('.')[1];
  }
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/** "...1234": all that is ever shown of a stored secret again. */
export function secretHint(value: string): string {
  return value.length <= 8 ? '••••' : `••••${value.slice(-4)}`;
}
