-- credit_notes_immutable: the source of this database function (issued invoices and credit notes never change,
-- docs/credit-notes.md). Migrations are made from this file (npm run db:function -- credit_notes_immutable);
-- test/db/functions.test.ts fails when the database's function differs from it.
CREATE OR REPLACE FUNCTION credit_notes_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'credit note % is issued: it cannot be deleted', OLD.id USING ERRCODE = 'KN001';
  END IF;
  IF (NEW.id, NEW.agency_id, NEW.sub_account_id, NEW.buyer_id, NEW.seller_agency_id, NEW.seller_key, NEW.number, NEW.invoice_id,
      NEW.issue_day, NEW.currency, NEW.total_minor, NEW.tax_minor, NEW.reason, NEW.seller_party, NEW.buyer_party, NEW.billing_address,
      NEW.issued_by, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.agency_id, OLD.sub_account_id, OLD.buyer_id, OLD.seller_agency_id, OLD.seller_key, OLD.number, OLD.invoice_id,
      OLD.issue_day, OLD.currency, OLD.total_minor, OLD.tax_minor, OLD.reason, OLD.seller_party, OLD.buyer_party, OLD.billing_address,
      OLD.issued_by, OLD.created_at) THEN
    RAISE EXCEPTION 'credit note % is issued: it cannot change', OLD.id USING ERRCODE = 'KN001';
  END IF;
  RETURN NEW;
END $$;
