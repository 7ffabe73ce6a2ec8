import { expect } from 'chai';
import { amountInWordsTr, numberToWordsTr } from '../../src/einvoice/amount-in-words';

describe('Turkish numbers in words', () => {
  it('writes units, tens and hundreds, dropping "bir" before "yüz"', () => {
    const cases: [number, string][] = [
      [0, 'sıfır'], [1, 'bir'], [7, 'yedi'], [10, 'on'], [11, 'on bir'], [19, 'on dokuz'], [20, 'yirmi'], [46, 'kırk altı'],
      [60, 'altmış'], [83, 'seksen üç'], [99, 'doksan dokuz'], [100, 'yüz'], [101, 'yüz bir'], [110, 'yüz on'],
      [200, 'iki yüz'], [345, 'üç yüz kırk beş'], [999, 'dokuz yüz doksan dokuz'],
    ];
    for (const [n, words] of cases) expect(numberToWordsTr(n), String(n)).to.equal(words);
  });

  it('says "bin" for a lone thousand, but "bir" before milyon and inside a larger thousands group', () => {
    const cases: [number, string][] = [
      [1000, 'bin'], [1001, 'bin bir'], [1083, 'bin seksen üç'], [2000, 'iki bin'], [10_000, 'on bin'], [11_000, 'on bir bin'],
      [100_000, 'yüz bin'], [101_000, 'yüz bir bin'], [1_000_000, 'bir milyon'], [1_001_000, 'bir milyon bin'],
      [2_500_000, 'iki milyon beş yüz bin'], [1_000_000_000, 'bir milyar'],
      [1_234_567_890, 'bir milyar iki yüz otuz dört milyon beş yüz altmış yedi bin sekiz yüz doksan'],
    ];
    for (const [n, words] of cases) expect(numberToWordsTr(n), String(n)).to.equal(words);
  });

  it('takes BigInt beyond the safe integer range', () => {
    expect(numberToWordsTr(10n ** 18n)).to.equal('bir kentilyon');
    expect(() => numberToWordsTr(-1)).to.throw(RangeError);
  });
});

describe('amounts in words on invoices', () => {
  it('1.083,87 TL is "Yalnız bin seksen üç Türk Lirası seksen yedi Kuruş"', () => {
    expect(amountInWordsTr(108_387, 'TRY')).to.equal('Yalnız bin seksen üç Türk Lirası seksen yedi Kuruş');
  });

  it('leaves out a zero part, and writes nothing as zero lira', () => {
    expect(amountInWordsTr(10_000, 'TRY')).to.equal('Yalnız yüz Türk Lirası');
    expect(amountInWordsTr(50, 'TRY')).to.equal('Yalnız elli Kuruş');
    expect(amountInWordsTr(1, 'TRY')).to.equal('Yalnız bir Kuruş');
    expect(amountInWordsTr(0, 'TRY')).to.equal('Yalnız sıfır Türk Lirası');
  });

  it('handles the largest price Kontor accepts with tax (1.200.000.000,00 TL)', () => {
    expect(amountInWordsTr(120_000_000_000, 'TRY')).to.equal('Yalnız bir milyar iki yüz milyon Türk Lirası');
  });

  it('names dollars and euros with their cents', () => {
    expect(amountInWordsTr(125_005, 'USD')).to.equal('Yalnız bin iki yüz elli ABD Doları beş Sent');
    expect(amountInWordsTr(99, 'EUR')).to.equal('Yalnız doksan dokuz Sent');
  });

  it('refuses a negative amount and a currency it has no words for', () => {
    expect(() => amountInWordsTr(-1, 'TRY')).to.throw(RangeError);
    expect(() => amountInWordsTr(100, 'GBP')).to.throw(RangeError);
  });
});
