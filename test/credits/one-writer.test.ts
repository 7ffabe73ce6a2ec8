// One module writes the credit ledger: src/credits (per-row: ledger.ts and credits.usecases.ts;
// set-based: movements.ts; usage: usage-apply.ts calling db/functions/usage_apply.sql; the FIFO
// rule: db/functions/credit_lots_take.sql, called by ledger.ts, movements.ts and usage_apply). A write
// to the ledger's tables anywhere else in the product's code fails this test.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const writes = [
  /insert\s+into\s+credit_(ledger|lots|accounts)\b/i,
  /update\s+credit_(ledger|lots|accounts)\b/i,
  /delete\s+from\s+credit_(ledger|lots|accounts)\b/i,
  /\.(insert|update|delete)\(\s*credit(Ledger|Lots|Accounts)\s*\)/,
  /\busage_apply\s*\(/,
  /\bcredit_lots_take\s*\(/,
];

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('one writer of the credit ledger', () => {
  it('no file of src/ or jobs/ outside src/credits writes credit_accounts, credit_lots or credit_ledger', () => {
    const offenders: string[] = [];
    for (const file of [...filesUnder('src'), ...filesUnder('jobs')]) {
      if (file.startsWith(path.join('src', 'credits') + path.sep)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const re of writes) if (re.test(text)) offenders.push(`${file}: ${re}`);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the check sees a write (it is not vacuous)', () => {
    const sample = fs.readFileSync(path.join('src', 'credits', 'movements.ts'), 'utf8');
    expect(writes.some((re) => re.test(sample))).to.equal(true);
  });
});
