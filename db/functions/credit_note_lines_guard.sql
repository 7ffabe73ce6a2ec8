-- credit_note_lines_guard: the source of this database function (issued invoices and credit notes never change,
-- docs/credit-notes.md). Migrations are made from this file (npm run db:function -- credit_note_lines_guard);
-- test/db/functions.test.ts fails when the database's function differs from it.
CREATE OR REPLACE FUNCTION credit_note_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  l record;
  done_amount bigint;
  done_tax bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'credit note lines cannot change' USING ERRCODE = 'KN001';
  END IF;
  IF EXISTS (SELECT 1 FROM credit_notes WHERE id = NEW.credit_note_id) THEN
    RAISE EXCEPTION 'credit note % is issued: no line can be added to it', NEW.credit_note_id USING ERRCODE = 'KN001';
  END IF;
  SELECT il.id, il.invoice_id, il.amount_minor, il.tax_minor, i.status INTO l
    FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id WHERE il.id = NEW.invoice_line_id FOR UPDATE OF il;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice line % does not exist', NEW.invoice_line_id USING ERRCODE = 'KN002';
  END IF;
  IF l.status = 'draft' THEN
    RAISE EXCEPTION 'invoice % is not issued yet: nothing to credit', l.invoice_id USING ERRCODE = 'KN002';
  END IF;
  SELECT coalesce(sum(amount_minor), 0), coalesce(sum(tax_minor), 0) INTO done_amount, done_tax
    FROM credit_note_lines WHERE invoice_line_id = NEW.invoice_line_id;
  IF done_amount + NEW.amount_minor > l.amount_minor OR done_tax + NEW.tax_minor > l.tax_minor THEN
    RAISE EXCEPTION 'invoice line % would be credited beyond its amount', NEW.invoice_line_id USING ERRCODE = 'KN003';
  END IF;
  RETURN NEW;
END $$;
