CREATE TABLE "credit_note_counters" (
	"seller_key" text PRIMARY KEY NOT NULL,
	"next_number" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_note_lines" (
	"id" text PRIMARY KEY NOT NULL,
	"credit_note_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"position" integer NOT NULL,
	"invoice_line_id" text NOT NULL,
	"description" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"amount_minor" bigint NOT NULL,
	"tax_rate_bp" integer DEFAULT 0 NOT NULL,
	"tax_minor" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "credit_note_lines_amounts" CHECK ("credit_note_lines"."amount_minor" >= 0 and "credit_note_lines"."tax_minor" >= 0 and "credit_note_lines"."amount_minor" + "credit_note_lines"."tax_minor" > 0 and "credit_note_lines"."quantity" >= 1),
	CONSTRAINT "credit_note_lines_tax" CHECK ("credit_note_lines"."tax_rate_bp" between 0 and 10000)
);
--> statement-breakpoint
CREATE TABLE "credit_notes" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"seller_agency_id" text,
	"seller_key" text NOT NULL,
	"number" integer NOT NULL,
	"invoice_id" text NOT NULL,
	"issue_day" date NOT NULL,
	"currency" text NOT NULL,
	"total_minor" bigint NOT NULL,
	"tax_minor" bigint DEFAULT 0 NOT NULL,
	"reason" text NOT NULL,
	"seller_party" jsonb,
	"buyer_party" jsonb,
	"billing_address" jsonb,
	"issued_by" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_notes_amounts" CHECK ("credit_notes"."total_minor" > 0 and "credit_notes"."tax_minor" >= 0 and "credit_notes"."tax_minor" <= "credit_notes"."total_minor"),
	CONSTRAINT "credit_notes_reason" CHECK (length(btrim("credit_notes"."reason")) > 0)
);
--> statement-breakpoint
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_note_lines_note_idx" ON "credit_note_lines" USING btree ("credit_note_id","position");--> statement-breakpoint
CREATE INDEX "credit_note_lines_invoice_line_idx" ON "credit_note_lines" USING btree ("invoice_line_id");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_notes_number_key" ON "credit_notes" USING btree ("seller_key","number");--> statement-breakpoint
CREATE INDEX "credit_notes_invoice_idx" ON "credit_notes" USING btree ("invoice_id");--> statement-breakpoint
CREATE INDEX "credit_notes_seller_list_idx" ON "credit_notes" USING btree ("seller_key","issue_day","number");--> statement-breakpoint
CREATE INDEX "credit_notes_account_idx" ON "credit_notes" USING btree ("account_id","issue_day");--> statement-breakpoint
CREATE INDEX "credit_notes_undelivered_idx" ON "credit_notes" USING btree ("created_at") WHERE "credit_notes"."delivered_at" is null;--> statement-breakpoint
-- hand-written (from here to the end): issued invoices and credit notes never change (docs/credit-notes.md).
-- An invoice is issued once it leaves 'draft'. From then on its identity, parties and amounts are
-- fixed and it cannot be deleted; its status, payment, paid_at, delivered_at, updated_at (and
-- columns added later, e.g. e-invoice status) still move. The columns below are the forbidden ones.
CREATE FUNCTION invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
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
  IF (NEW.id, NEW.agency_id, NEW.sub_account_id, NEW.account_id, NEW.seller_agency_id, NEW.seller_key, NEW.number, NEW.kind,
      NEW.period, NEW.period_start, NEW.period_end, NEW.issue_day, NEW.due_day, NEW.currency, NEW.total_minor, NEW.tax_minor,
      NEW.price_mode, NEW.seller_party, NEW.buyer_party, NEW.subscription_id, NEW.billing_address, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.agency_id, OLD.sub_account_id, OLD.account_id, OLD.seller_agency_id, OLD.seller_key, OLD.number, OLD.kind,
      OLD.period, OLD.period_start, OLD.period_end, OLD.issue_day, OLD.due_day, OLD.currency, OLD.total_minor, OLD.tax_minor,
      OLD.price_mode, OLD.seller_party, OLD.buyer_party, OLD.subscription_id, OLD.billing_address, OLD.created_at) THEN
    RAISE EXCEPTION 'invoice % is issued: its number, parties, dates and amounts cannot change (issue a credit note)', OLD.id USING ERRCODE = 'KN001';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_immutable();
--> statement-breakpoint
-- An issued invoice's lines are fixed: none added, changed or removed (a line may be written
-- before its invoice row, in the same transaction).
CREATE FUNCTION invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines FOR EACH ROW EXECUTE FUNCTION invoice_lines_immutable();
--> statement-breakpoint
-- A credit note is issued when its row is written: only delivered_at and updated_at (and columns
-- added later) may move; it is never deleted.
CREATE FUNCTION credit_notes_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'credit note % is issued: it cannot be deleted', OLD.id USING ERRCODE = 'KN001';
  END IF;
  IF (NEW.id, NEW.agency_id, NEW.sub_account_id, NEW.account_id, NEW.seller_agency_id, NEW.seller_key, NEW.number, NEW.invoice_id,
      NEW.issue_day, NEW.currency, NEW.total_minor, NEW.tax_minor, NEW.reason, NEW.seller_party, NEW.buyer_party, NEW.billing_address,
      NEW.issued_by, NEW.created_at)
     IS DISTINCT FROM
     (OLD.id, OLD.agency_id, OLD.sub_account_id, OLD.account_id, OLD.seller_agency_id, OLD.seller_key, OLD.number, OLD.invoice_id,
      OLD.issue_day, OLD.currency, OLD.total_minor, OLD.tax_minor, OLD.reason, OLD.seller_party, OLD.buyer_party, OLD.billing_address,
      OLD.issued_by, OLD.created_at) THEN
    RAISE EXCEPTION 'credit note % is issued: it cannot change', OLD.id USING ERRCODE = 'KN001';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER credit_notes_immutable BEFORE UPDATE OR DELETE ON credit_notes FOR EACH ROW EXECUTE FUNCTION credit_notes_immutable();
--> statement-breakpoint
-- A credit note line is written before its note, never changed. It reverses at most what is left
-- of its invoice line: the line's row is locked first, so two notes written at once take turns
-- and the second sees the first's lines.
CREATE FUNCTION credit_note_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
CREATE TRIGGER credit_note_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON credit_note_lines FOR EACH ROW EXECUTE FUNCTION credit_note_lines_guard();
--> statement-breakpoint
-- A credit note's totals are the sums of its lines, and its lines are lines of the invoice it names.
CREATE FUNCTION credit_notes_sums() RETURNS trigger LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
CREATE TRIGGER credit_notes_sums AFTER INSERT ON credit_notes FOR EACH ROW EXECUTE FUNCTION credit_notes_sums();
