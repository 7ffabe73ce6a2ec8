import { expect } from 'chai';
import { tFor } from '../../src/i18n/i18n';
import { checkTckn, checkVkn, tcknCheckDigits, vknCheckDigit } from '../../src/tax/tax-ids';

describe('VKN (company tax number, 10 digits)', () => {
  it('accepts the documented sample 4540536920 (python-stdnum), worked by hand', () => {
    // d:  4  5  4  0  5  3  6  9  2     t = (d + 10 - i) mod 10, p = t x 2^(10-i) mod 9 (9 if 0)
    // t:  3  3  1  6  0  7  9  1  3
    // p:  6  3  2  6  -  4  9  4  6  -> sum 40 -> check (10 - 0) mod 10 = 0
    expect(vknCheckDigit('454053692')).to.equal(0);
    expect(checkVkn('4540536920')).to.deep.equal({ ok: true, value: '4540536920' });
  });

  it('accepts numbers built with their computed check digit, and tolerates spaces people paste', () => {
    for (const first9 of ['123456789', '000000001', '999999999', '384729105', '710000000']) {
      const vkn = first9 + vknCheckDigit(first9);
      expect(checkVkn(vkn), vkn).to.deep.equal({ ok: true, value: vkn });
    }
    expect(checkVkn(' 454 053 6920 ')).to.deep.equal({ ok: true, value: '4540536920' });
  });

  it('refuses every other last digit: a wrong checksum', () => {
    for (let d = 1; d <= 9; d++) expect(checkVkn(`454053692${d}`)).to.deep.include({ ok: false, problem: 'checksum', message: 'tax:vkn.checksum' });
  });

  it('refuses letters and signs before anything else', () => {
    for (const raw of ['45405369A0', '454-053-6920', 'ABCDEFGHIJ', '4540536920.']) expect(checkVkn(raw), raw).to.deep.include({ ok: false, problem: 'digitsOnly' });
  });

  it('refuses a wrong length (a TCKN given as a VKN too)', () => {
    for (const raw of ['454053692', '45405369200', '17291716060', '1']) expect(checkVkn(raw), raw).to.deep.include({ ok: false, problem: 'length' });
  });

  it('asks for the number when it is empty', () => {
    expect(checkVkn('')).to.deep.include({ ok: false, problem: 'required' });
    expect(checkVkn('   ')).to.deep.include({ ok: false, problem: 'required' });
    expect(checkVkn(undefined)).to.deep.include({ ok: false, problem: 'required' });
  });
});

describe('TCKN (T.C. identity number, 11 digits)', () => {
  it('accepts the documented samples 10000000146 and 17291716060, worked by hand', () => {
    // 10000000146: odd digits 1+0+0+0+1 = 2, even 0+0+0+0 = 0: (7 x 2 - 0) mod 10 = 4; (2 + 0 + 4) mod 10 = 6
    expect(tcknCheckDigits('100000001')).to.deep.equal([4, 6]);
    // 17291716060: odd 1+2+1+1+0 = 5, even 7+9+7+6 = 29: (35 - 29) mod 10 = 6; (5 + 29 + 6) mod 10 = 0
    expect(tcknCheckDigits('172917160')).to.deep.equal([6, 0]);
    expect(checkTckn('10000000146')).to.deep.equal({ ok: true, value: '10000000146' });
    expect(checkTckn('17291716060')).to.deep.equal({ ok: true, value: '17291716060' });
  });

  it('takes the 10th digit modulo 10 when the difference is negative', () => {
    // 191919191: odd 1+1+1+1+1 = 5 -> 35, even 9 x 4 = 36 -> -1 -> 9; eleventh (5 + 36 + 9) mod 10 = 0
    expect(tcknCheckDigits('191919191')).to.deep.equal([9, 0]);
    expect(checkTckn('19191919190')).to.deep.equal({ ok: true, value: '19191919190' });
  });

  it('accepts numbers built with their computed check digits', () => {
    for (const first9 of ['123456789', '999999999', '500000000', '384729105']) {
      const tckn = first9 + tcknCheckDigits(first9).join('');
      expect(checkTckn(tckn), tckn).to.deep.equal({ ok: true, value: tckn });
    }
  });

  it('refuses a wrong 10th or 11th digit: a wrong checksum', () => {
    expect(checkTckn('17291716050')).to.deep.include({ ok: false, problem: 'checksum', message: 'tax:tckn.checksum' });
    expect(checkTckn('17291716061')).to.deep.include({ ok: false, problem: 'checksum' });
    expect(checkTckn('27291716060')).to.deep.include({ ok: false, problem: 'checksum' });
  });

  it('refuses a number starting with 0 even when its check digits would match', () => {
    const first9 = '072917160';
    const tckn = first9 + tcknCheckDigits(first9).join('');
    expect(checkTckn(tckn)).to.deep.include({ ok: false, problem: 'leadingZero', message: 'tax:tckn.leadingZero' });
  });

  it('refuses letters, a wrong length, and an empty field', () => {
    expect(checkTckn('1729171606O')).to.deep.include({ ok: false, problem: 'digitsOnly' });
    expect(checkTckn('TR17291716060')).to.deep.include({ ok: false, problem: 'digitsOnly' });
    expect(checkTckn('1729171606')).to.deep.include({ ok: false, problem: 'length' });
    expect(checkTckn('4540536920')).to.deep.include({ ok: false, problem: 'length' });
    expect(checkTckn('')).to.deep.include({ ok: false, problem: 'required' });
  });
});

describe('tax identity messages', () => {
  it('say what is wrong in English and Turkish', () => {
    const en = tFor('en'), tr = tFor('tr');
    expect(en('tax:vkn.digitsOnly')).to.equal('A tax number (VKN) has digits only, no letters or signs.');
    expect(en('tax:vkn.checksum')).to.equal('This tax number (VKN) is not valid: its check digit does not match. Look for a typo.');
    expect(tr('tax:vkn.length')).to.equal('Vergi kimlik numarası (VKN) tam 10 hanedir.');
    expect(tr('tax:tckn.leadingZero')).to.equal('T.C. kimlik numarası (TCKN) 0 ile başlayamaz.');
    for (const k of ['vkn.required', 'tckn.required', 'tckn.digitsOnly', 'tckn.length', 'tckn.checksum']) {
      expect(en(`tax:${k}`)).to.not.equal(`tax:${k}`);
      expect(tr(`tax:${k}`)).to.not.equal(en(`tax:${k}`));
    }
  });
});
