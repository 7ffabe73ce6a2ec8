-- invoice_lines_immutable: the source of this database function (issued invoices and credit notes never change,
-- docs/credit-notes.md). Migrations are made from this file (npm run db:function -- invoice_lines_immutable);
-- test/db/functions.test.ts fails when the database's function differs from it.
CREATE OR REPLACE FUNCTION invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT status INTO s FROM invoices WHERE id = OLD.invoice_id;
    IF s IS NOT NULL AND s <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is issued: its lines cannot change (issue a credit note)', OLD.invoice_id USING ERRCODE = 'KN001';
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT status INTO s FROM invoices WHERE id = NEW.invoice_id;
    IF s IS NOT NULL AND s <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is issued: no line can be added to it', NEW.invoice_id USING ERRCODE = 'KN001';
    END IF;
    RETURN NEW;
  END IF;
  RETURN OLD;
END $$;
