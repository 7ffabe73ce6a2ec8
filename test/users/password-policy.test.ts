import { expect } from 'chai';
import { passwordWeakness } from '../../src/users/password-policy';

const COMMON = 'This password is one of the most common ones and easy to guess. Choose another.';
const PERSONAL = 'Do not use your email address or your name in your password.';

describe('password rules (common passwords, own email and name)', () => {
  const person = { email: 'selin.aydin@example.test', name: 'Selin Aydın' };

  it('refuses the most common passwords whatever their letter case', async () => {
    for (const p of ['1234567890', 'qwertyuiop', 'Password123', 'BASKETBALL', 'q1w2e3r4t5']) {
      expect(await passwordWeakness(p, person), p).to.equal(COMMON);
    }
  });

  it('accepts passwords that are not on the list of the 10,000 most common', async () => {
    for (const p of ['correct-horse-battery', 'tramvay-kadikoy-1923', 'ZmVhdGhlcnM9']) {
      expect(await passwordWeakness(p, person), p).to.equal(null);
    }
  });

  it('refuses the email, its local part or a word of it inside the password, ignoring case and punctuation', async () => {
    for (const p of ['selin.aydin@example.test', 'SelinAydin2026', 'my-selin-password', 'x-aydin-x-aydin']) {
      expect(await passwordWeakness(p, person), p).to.equal(PERSONAL);
    }
  });

  it('refuses the name or a word of it, Turkish letters included', async () => {
    const other = { email: 'sa@example.test', name: 'Şule Işıkoğlu' };
    for (const p of ['ISIKOGLU-not-quite', 'şule-is-here-2026', 'IŞIKOĞLU-1999-ab']) {
      const expected = p.startsWith('ISIKOGLU') ? null : PERSONAL; // other letters are other letters
      expect(await passwordWeakness(p, other), p).to.equal(expected);
    }
  });

  it('ignores words too short to mean anything (under 4 characters)', async () => {
    const short = { email: 'al@example.test', name: 'Al Bo' };
    expect(await passwordWeakness('albatross-bonanza', short)).to.equal(null);
  });
});
