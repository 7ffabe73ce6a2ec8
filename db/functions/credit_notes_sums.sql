-- credit_notes_sums: the source of this database function (issued invoices and credit notes never change,
-- docs/credit-notes.md). Migrations are made from this file (npm run db:function -- credit_notes_sums);
-- test/db/functions.test.ts fails when the database's function differs from it.
CREATE OR REPLACE FUNCTION credit_notes_sums() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  a bigint;
  x bigint;
  n integer;
BEGIN
  SELECT coalesce(sum(amount_minor), 0), coalesce(sum(tax_minor), 0), count(*) INTO a, x, n FROM credit_note_lines WHERE credit_note_id = NEW.id;
  IF n = 0 OR a + x <> NEW.total_minor OR x <> NEW.tax_minor THEN
    RAISE EXCEPTION 'credit note % does not add up to its lines', NEW.id USING ERRCODE = 'KN003';
  END IF;
  IF EXISTS (SELECT 1 FROM credit_note_lines c JOIN invoice_lines l ON l.id = c.invoice_line_id WHERE c.credit_note_id = NEW.id AND l.invoice_id <> NEW.invoice_id) THEN
    RAISE EXCEPTION 'credit note % reverses lines of another invoice', NEW.id USING ERRCODE = 'KN003';
  END IF;
  RETURN NULL;
END $$;
