-- invoices_immutable: the source of this database function (issued invoices and credit notes never change,
-- docs/credit-notes.md). Migrations are made from this file (npm run db:function -- invoices_immutable);
-- test/db/functions.test.ts fails when the database's function differs from it.
CREATE OR REPLACE FUNCTION invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is issued: it cannot be deleted (issue a credit note)', OLD.id USING ERRCODE = 'KN001';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status = 'draft' THEN
    RETURN NEW;
  END IF;
  IF NEW.status = 'draft' THEN
    RAISE EXCEPTION 'invoice % is issued: it cannot return to draft', OLD.id USING ERRCODE = 'KN001';
  END IF;
  IF (NEW.id, NEW.agency_id, NEW.sub_account_id, NEW.buyer_id, NEW.seller_agency_id, NEW.seller_key, NEW.number, NEW.kind,
      NEW.period, NEW.period_start, NEW.period_end, NEW.issue_day, NEW.due_day, NEW.currency, NEW.total_minor, NEW.tax_minor,
      NEW.price_mode, NEW.seller_party, NEW.buyer_party, NEW.subscription_id, NEW.billing_address, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.agency_id, OLD.sub_account_id, OLD.buyer_id, OLD.seller_agency_id, OLD.seller_key, OLD.number, OLD.kind,
      OLD.period, OLD.period_start, OLD.period_end, OLD.issue_day, OLD.due_day, OLD.currency, OLD.total_minor, OLD.tax_minor,
      OLD.price_mode, OLD.seller_party, OLD.buyer_party, OLD.subscription_id, OLD.billing_address, OLD.created_at) THEN
    RAISE EXCEPTION 'invoice % is issued: its number, parties, dates and amounts cannot change (issue a credit note)', OLD.id USING ERRCODE = 'KN001';
  END IF;
  RETURN NEW;
END $$;
