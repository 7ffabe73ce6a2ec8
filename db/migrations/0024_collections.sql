CREATE TABLE "collection_settings" (
	"seller_key" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"reminder_days" integer[] NOT NULL,
	"retry_days" integer[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoice_charge_attempts" (
	"id" text PRIMARY KEY NOT NULL,
	"invoice_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"seller_agency_id" text,
	"attempt_no" integer NOT NULL,
	"days_after_due" integer NOT NULL,
	"day" date NOT NULL,
	"status" text NOT NULL,
	"payment_id" text,
	"payment_method_id" text,
	"card_label" text,
	"gateway_reference" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "invoice_reminders" (
	"id" text PRIMARY KEY NOT NULL,
	"invoice_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"seller_agency_id" text,
	"offset_days" integer NOT NULL,
	"day" date NOT NULL,
	"email_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_charge_attempts_step_key" ON "invoice_charge_attempts" USING btree ("invoice_id","attempt_no");--> statement-breakpoint
CREATE INDEX "invoice_charge_attempts_pending_idx" ON "invoice_charge_attempts" USING btree ("created_at") WHERE "invoice_charge_attempts"."status" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_reminders_step_key" ON "invoice_reminders" USING btree ("invoice_id","offset_days");--> statement-breakpoint
CREATE INDEX "invoice_reminders_agency_idx" ON "invoice_reminders" USING btree ("agency_id","created_at");