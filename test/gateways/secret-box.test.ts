import { expect } from 'chai';
import { SecretBox, SecretBoxError, secretHint } from '../../src/payments/secret-box';

describe('secret box (gateway secrets at rest)', () => {
  const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
  const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };

  it('seals with the current key and opens with any configured key (rotation)', () => {
    const old = new SecretBox([k1]);
    const sealed = old.seal('store-key-123', 'agency_a');
    expect(sealed).to.match(/^v1\.k1\./).and.not.include('store-key-123');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(sealed, 'agency_a')).to.equal('store-key-123');
    const resealed = rotated.seal(rotated.open(sealed, 'agency_a'), 'agency_a');
    expect(rotated.keyIdOf(resealed)).to.equal('k2');
    expect(new SecretBox([k2]).open(resealed, 'agency_a')).to.equal('store-key-123');
  });

  it('refuses a tampered ciphertext, another owner, and a missing key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('secret', 'agency_a');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[4]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[4] = ct.toString('base64url');
    expect(() => box.open(parts.join('.'), 'agency_a')).to.throw(SecretBoxError, /authentication/);
    expect(() => box.open(sealed, 'agency_b')).to.throw(SecretBoxError, /authentication/);
    expect(() => new SecretBox([k2]).open(sealed, 'agency_a')).to.throw(SecretBoxError, /not configured/);
    expect(() => box.open('garbage', 'agency_a')).to.throw(SecretBoxError, /Malformed/);
  });

  it('hints show at most the last four characters', () => {
    expect(secretHint('sk_test_abcdefgh1234')).to.equal('••••1234');
    expect(secretHint('short')).to.equal('••••');
  });
});
