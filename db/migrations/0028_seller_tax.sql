CREATE TABLE "seller_tax_settings" (
	"seller_key" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"tax_enabled" boolean DEFAULT false NOT NULL,
	"legal_name" text NOT NULL,
	"address_line1" text NOT NULL,
	"address_line2" text,
	"district" text,
	"city" text NOT NULL,
	"postal_code" text,
	"country" text DEFAULT 'TR' NOT NULL,
	"tax_office" text NOT NULL,
	"tax_number" text NOT NULL,
	"default_rate_bp" integer DEFAULT 2000 NOT NULL,
	"price_mode" text DEFAULT 'exclusive' NOT NULL,
	"enabled_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "seller_tax_settings_rate" CHECK ("seller_tax_settings"."default_rate_bp" between 0 and 10000)
);
--> statement-breakpoint
ALTER TABLE "offer_versions" ADD COLUMN "tax_rate_bp" integer;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "tax_kind" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "tax_number" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "tax_office" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "e_invoice_registered" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "first_name" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "family_name" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "district" text;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD COLUMN "exemption_reason" text;--> statement-breakpoint
ALTER TABLE "seller_tax_settings" ADD CONSTRAINT "seller_tax_settings_seller_agency_id_agencies_id_fk" FOREIGN KEY ("seller_agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_purchase_payment_key" ON "invoices" USING btree ("payment_id") WHERE "invoices"."kind" = 'purchase';--> statement-breakpoint
ALTER TABLE "offer_versions" ADD CONSTRAINT "offer_versions_tax_rate" CHECK ("offer_versions"."tax_rate_bp" is null or "offer_versions"."tax_rate_bp" between 0 and 10000);