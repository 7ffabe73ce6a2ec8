ALTER TABLE "payments" ADD COLUMN "price_mode" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "tax_rate_bp" integer;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "tax_minor" bigint DEFAULT 0 NOT NULL;