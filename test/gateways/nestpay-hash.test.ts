import { expect } from 'chai';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { fileURLToPath } from 'url';
import path from 'path';
import {
  isNestpayApproved,
  nestpayHashV3,
  strnatcasecmp,
  verifyNestpayCallback,
  type NestpayFields,
} from '../../src/gateways/nestpay/hash';

// The shared conformance vectors, kept in the repository (see test/fixtures/vectors/README.md).
const vectorFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'vectors', 'nestpay-ver3.json');

interface RequestVector { name: string; storeKey: string; fields: NestpayFields; hash: string }
interface ResponseVector { name: string; storeKey: string; fields: NestpayFields; valid: boolean }
const vectors = JSON.parse(readFileSync(vectorFile, 'utf8')) as {
  request: RequestVector[];
  response: ResponseVector[];
};

const sha512b64 = (s: string): string => createHash('sha512').update(Buffer.from(s, 'utf8')).digest('base64');
const byName = (name: string): ResponseVector => {
  const v = vectors.response.find((r) => r.name === name);
  if (!v) throw new Error(`missing vector ${name}`);
  return v;
};
/** A callback copy with edits, re-signed so that only the edited semantics are under test. */
function resigned(base: ResponseVector, edits: NestpayFields): NestpayFields {
  const fields: NestpayFields = { ...base.fields, ...edits };
  fields.HASH = nestpayHashV3(fields, base.storeKey);
  return fields;
}

describe('nestpay hash v3', () => {
  it('has vectors to check', () => {
    expect(vectors.request.length).to.be.greaterThan(0);
    expect(vectors.response.length).to.be.greaterThan(0);
  });

  describe('request vectors', () => {
    for (const v of vectors.request) {
      it(v.name, () => {
        expect(nestpayHashV3(v.fields, v.storeKey)).to.equal(v.hash);
      });
    }
  });

  describe('response vectors', () => {
    for (const v of vectors.response) {
      it(v.name, () => {
        expect(verifyNestpayCallback(v.fields, v.storeKey)).to.equal(v.valid);
      });
    }
  });

  describe('strnatcasecmp', () => {
    it('compares digit runs as numbers', () => {
      expect(strnatcasecmp('a2', 'a10')).to.equal(-1);
      expect(strnatcasecmp('a10', 'a2')).to.equal(1);
      expect(strnatcasecmp('x9y', 'x10y')).to.equal(-1);
      expect(strnatcasecmp('a1', 'a10')).to.equal(-1);
    });

    it('ignores case', () => {
      expect(strnatcasecmp('HashAlgorithm', 'hashalgorithm')).to.equal(0);
      expect(strnatcasecmp('A2', 'a10')).to.equal(-1);
      expect(strnatcasecmp('TRANID', 'TransId')).to.equal(-1);
    });

    it('folds to upper case, so "_" sorts after letters', () => {
      // '_' is 0x5F: above 'A'..'Z' (0x41..0x5A), below 'a'..'z' (0x61..0x7A).
      expect(strnatcasecmp('a_b', 'ab')).to.equal(1);
      expect(strnatcasecmp('a_b', 'aZ')).to.equal(1);
      expect(strnatcasecmp('A_', 'a1')).to.equal(1);
    });

    it('sorts keys with "_" and digits unlike plain JavaScript sorts', () => {
      const keys = ['item10', 'item_b', 'Item2', 'itemA', 'item1'];
      expect([...keys].sort(strnatcasecmp)).to.deep.equal(['item1', 'Item2', 'item10', 'itemA', 'item_b']);
      // The naive alternatives disagree, which is why they break the hash.
      expect([...keys].sort()).to.not.deep.equal([...keys].sort(strnatcasecmp));
      const lower = [...keys].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase(), 'en', { numeric: true }));
      expect(lower).to.not.deep.equal([...keys].sort(strnatcasecmp));
    });

    it('handles leading zeros, fractional runs and whitespace like PHP', () => {
      expect(strnatcasecmp('007', '7')).to.equal(0); // leading zeros at the start are skipped
      expect(strnatcasecmp('a01', 'a1')).to.equal(-1); // a run starting with 0 compares left-aligned
      expect(strnatcasecmp('a 1', 'a1')).to.equal(0); // whitespace is skipped
      expect(strnatcasecmp('', 'a')).to.equal(-1);
      expect(strnatcasecmp('a', '')).to.equal(1);
      expect(strnatcasecmp('', '')).to.equal(0);
      expect(strnatcasecmp('abc', 'abcd')).to.equal(-1);
    });
  });

  describe('hashing rules', () => {
    it('escapes "\\" then "|" in values and in the store key', () => {
      const fields = { a: 'x|y', b: 'c:\\d' };
      // Hashed string, written out by hand: x\|y | c:\\d | k\|\\
      expect(nestpayHashV3(fields, 'k|\\')).to.equal(sha512b64('x\\|y|c:\\\\d|k\\|\\\\'));
      // Without escaping, these two field sets would produce the same string.
      expect(nestpayHashV3({ a: 'x|y' }, 'k')).to.not.equal(nestpayHashV3({ a: 'x', b: 'y' }, 'k'));
    });

    it('hashes Turkish characters as UTF-8 bytes', () => {
      const fields = { firmaadi: 'Şişli Ğıda İç ılık', amount: '1.00' };
      const expected = sha512b64('1.00|Şişli Ğıda İç ılık|KEY');
      expect(nestpayHashV3(fields, 'KEY')).to.equal(expected);
      expect(expected).to.equal(
        'z6EOW+VVCQucFf+99Nl6g+bbKKx1ytNNbQ6asWFYGBwt0qElOCc/ngFyvSQ/umkeNK33Uv2Dzqca0zSVh1azVg==',
      );
      // Not the ISO-8859-9 / latin1 bytes.
      const latin1 = createHash('sha512').update('1.00|Şişli Ğıda İç ılık|KEY', 'latin1').digest('base64');
      expect(nestpayHashV3(fields, 'KEY')).to.not.equal(latin1);
    });

    it('skips hash and encoding in any case, and treats null like ""', () => {
      const base = { oid: 'o1', taksit: '' };
      const h = nestpayHashV3(base, 'k');
      expect(nestpayHashV3({ ...base, HASH: 'x', Encoding: 'utf-8', hash: 'y' }, 'k')).to.equal(h);
      expect(nestpayHashV3({ oid: 'o1', taksit: null }, 'k')).to.equal(h);
      expect(nestpayHashV3({ oid: 'o1', taksit: undefined }, 'k')).to.equal(h);
      expect(nestpayHashV3({ oid: 'o1' }, 'k')).to.not.equal(h);
    });
  });

  describe('callback verification', () => {
    it('rejects a tampered HASH', () => {
      const v = byName('NP-RESP-1');
      const hash = String(v.fields.HASH);
      const flipped = (hash[0] === 'A' ? 'B' : 'A') + hash.slice(1);
      expect(verifyNestpayCallback({ ...v.fields, HASH: flipped }, v.storeKey)).to.equal(false);
      expect(verifyNestpayCallback({ ...v.fields, HASH: hash.slice(0, -2) }, v.storeKey)).to.equal(false);
      expect(verifyNestpayCallback({ ...v.fields, HASH: '' }, v.storeKey)).to.equal(false);
    });

    it('rejects a tampered field and a wrong store key', () => {
      const v = byName('NP-RESP-1');
      expect(verifyNestpayCallback({ ...v.fields, amount: '100.01' }, v.storeKey)).to.equal(false);
      expect(verifyNestpayCallback(v.fields, v.storeKey + 'x')).to.equal(false);
    });

    it('rejects a callback without HASH', () => {
      const v = byName('NP-RESP-1');
      const { HASH: _dropped, ...rest } = v.fields;
      expect(verifyNestpayCallback(rest, v.storeKey)).to.equal(false);
    });

    it('accepts the hash under a lower-case "hash" key', () => {
      const v = byName('NP-RESP-1');
      const { HASH, ...rest } = v.fields;
      expect(verifyNestpayCallback({ ...rest, hash: HASH }, v.storeKey)).to.equal(true);
    });

    it('fails when an empty field was dropped (the bank hashed it)', () => {
      const v = byName('NP-RESP-2');
      expect(v.fields.cavvAlgorithm).to.equal(null);
      const { cavvAlgorithm: _dropped, ...rest } = v.fields;
      expect(verifyNestpayCallback(rest, v.storeKey)).to.equal(false);
      // Kept as '' instead of null it still verifies.
      expect(verifyNestpayCallback({ ...v.fields, cavvAlgorithm: '' }, v.storeKey)).to.equal(true);
    });
  });

  describe('isNestpayApproved', () => {
    it('approves a verified, fully authenticated, approved callback', () => {
      const v = byName('NP-RESP-1');
      expect(isNestpayApproved(v.fields, v.storeKey)).to.deep.equal({ approved: true });
    });

    it('rejects a bad hash with reason hash_mismatch', () => {
      const v = byName('NP-RESP-1');
      const r = isNestpayApproved({ ...v.fields, ProcReturnCode: '00', amount: '9999' }, v.storeKey);
      expect(r).to.deep.equal({ approved: false, reason: 'hash_mismatch' });
    });

    it('rejects mdStatus != 1 keeping mdErrorMsg', () => {
      const v = byName('NP-RESP-1');
      for (const mdStatus of ['0', '2', '4', '7']) {
        const fields = resigned(v, { mdStatus, mdErrorMsg: 'Kart doğrulanamadı', ProcReturnCode: '00' });
        expect(verifyNestpayCallback(fields, v.storeKey)).to.equal(true);
        expect(isNestpayApproved(fields, v.storeKey)).to.deep.equal({
          approved: false,
          reason: '3d_failed',
          message: 'Kart doğrulanamadı',
        });
      }
    });

    it('rejects ProcReturnCode != 00 keeping ErrMsg', () => {
      const v = byName('NP-RESP-1');
      const fields = resigned(v, { ProcReturnCode: '05', Response: 'Declined', ErrMsg: 'Red-Onaylanmadı' });
      expect(verifyNestpayCallback(fields, v.storeKey)).to.equal(true);
      expect(isNestpayApproved(fields, v.storeKey)).to.deep.equal({
        approved: false,
        reason: 'declined',
        message: 'Red-Onaylanmadı',
      });
    });

    it('does not approve a 3D-only callback without ProcReturnCode (NP-RESP-2)', () => {
      const v = byName('NP-RESP-2');
      const r = isNestpayApproved(v.fields, v.storeKey);
      expect(r.approved).to.equal(false);
      expect(r.reason).to.equal('declined');
    });
  });
});
