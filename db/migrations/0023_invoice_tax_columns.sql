ALTER TABLE "invoice_lines" ADD COLUMN "tax_rate_bp" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD COLUMN "tax_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "tax_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "price_mode" text;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "seller_party" jsonb;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "buyer_party" jsonb;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_tax" CHECK ("invoice_lines"."tax_rate_bp" between 0 and 10000);--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_tax" CHECK ("invoices"."tax_minor" >= 0 and "invoices"."tax_minor" <= "invoices"."total_minor");