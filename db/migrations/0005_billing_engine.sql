CREATE TABLE "account_charges" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"seller_agency_id" text,
	"kind" text NOT NULL,
	"description" text NOT NULL,
	"day" date NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"unit_price_minor" bigint NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"sessions" integer,
	"expires_at" timestamp with time zone,
	"invoice_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "account_charges_amounts" CHECK ("account_charges"."quantity" >= 1 and "account_charges"."amount_minor" >= 0)
);
--> statement-breakpoint
CREATE TABLE "billing_addresses" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"line1" text NOT NULL,
	"line2" text,
	"city" text NOT NULL,
	"postal_code" text,
	"country" text NOT NULL,
	"tax_id" text,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_packages" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"billing" text NOT NULL,
	"term_months" integer,
	"monthly_price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"chatbot_sessions" integer DEFAULT 0 NOT NULL,
	"representatives" integer DEFAULT 0 NOT NULL,
	"whatsapp_channels" integer DEFAULT 0 NOT NULL,
	"instagram_channels" integer DEFAULT 0 NOT NULL,
	"messenger_channels" integer DEFAULT 0 NOT NULL,
	"modules" text[] DEFAULT '{}' NOT NULL,
	"unit" text,
	"published" boolean DEFAULT true NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_packages_price" CHECK ("billing_packages"."monthly_price_minor" > 0),
	CONSTRAINT "billing_packages_term" CHECK (("billing_packages"."billing" = 'term') = ("billing_packages"."term_months" is not null) and ("billing_packages"."term_months" is null or "billing_packages"."term_months" in (3, 6, 12))),
	CONSTRAINT "billing_packages_shape" CHECK (("billing_packages"."kind" = 'extra_sessions') = ("billing_packages"."billing" = 'one_off') and ("billing_packages"."kind" = 'quantity') = ("billing_packages"."unit" is not null))
);
--> statement-breakpoint
CREATE TABLE "billing_periods" (
	"id" text PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"account_id" text NOT NULL,
	"seller_agency_id" text,
	"from_day" date NOT NULL,
	"through_day" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_periods_order" CHECK ("billing_periods"."through_day" is null or "billing_periods"."through_day" >= "billing_periods"."from_day")
);
--> statement-breakpoint
CREATE TABLE "billing_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"seller_agency_id" text,
	"package_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"billing" text NOT NULL,
	"term_months" integer,
	"monthly_price_minor" bigint NOT NULL,
	"term_price_minor" bigint,
	"currency" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"chatbot_sessions" integer DEFAULT 0 NOT NULL,
	"representatives" integer DEFAULT 0 NOT NULL,
	"whatsapp_channels" integer DEFAULT 0 NOT NULL,
	"instagram_channels" integer DEFAULT 0 NOT NULL,
	"messenger_channels" integer DEFAULT 0 NOT NULL,
	"modules" text[] DEFAULT '{}' NOT NULL,
	"unit" text,
	"status" text DEFAULT 'active' NOT NULL,
	"start_day" date NOT NULL,
	"term_last_day" date,
	"changed_from_id" text,
	"changed_to_id" text,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_subscriptions_quantity" CHECK ("billing_subscriptions"."quantity" >= 1)
);
--> statement-breakpoint
CREATE TABLE "invoice_counters" (
	"seller_key" text PRIMARY KEY NOT NULL,
	"next_number" integer DEFAULT 1 NOT NULL,
	"last_cut_period" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoice_lines" (
	"id" text PRIMARY KEY NOT NULL,
	"invoice_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"position" integer NOT NULL,
	"kind" text NOT NULL,
	"subscription_id" text,
	"charge_id" text,
	"description" text NOT NULL,
	"from_day" date,
	"through_day" date,
	"active_days" integer,
	"days_in_month" integer,
	"quantity" integer DEFAULT 1 NOT NULL,
	"unit_price_minor" bigint NOT NULL,
	"amount_minor" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"seller_agency_id" text,
	"seller_key" text NOT NULL,
	"number" integer NOT NULL,
	"kind" text NOT NULL,
	"period" text,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"issue_day" date NOT NULL,
	"due_day" date NOT NULL,
	"currency" text NOT NULL,
	"total_minor" bigint NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"subscription_id" text,
	"billing_address" jsonb,
	"payment_id" text,
	"paid_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoices_total" CHECK ("invoices"."total_minor" >= 0)
);
--> statement-breakpoint
ALTER TABLE "platform" ADD COLUMN "invoice_due_days" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "invoice_due_days" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "account_charges" ADD CONSTRAINT "account_charges_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_addresses" ADD CONSTRAINT "billing_addresses_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_packages" ADD CONSTRAINT "billing_packages_seller_agency_id_agencies_id_fk" FOREIGN KEY ("seller_agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_subscriptions" ADD CONSTRAINT "billing_subscriptions_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_charges_unbilled_idx" ON "account_charges" USING btree ("seller_agency_id","account_id","day") WHERE "account_charges"."invoice_id" is null;--> statement-breakpoint
CREATE INDEX "account_charges_account_idx" ON "account_charges" USING btree ("account_id","day");--> statement-breakpoint
CREATE INDEX "billing_addresses_account_idx" ON "billing_addresses" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "billing_packages_seller_idx" ON "billing_packages" USING btree ("seller_agency_id");--> statement-breakpoint
CREATE INDEX "billing_periods_subscription_idx" ON "billing_periods" USING btree ("subscription_id","from_day");--> statement-breakpoint
CREATE INDEX "billing_periods_seller_idx" ON "billing_periods" USING btree ("seller_agency_id","account_id");--> statement-breakpoint
CREATE INDEX "billing_periods_account_idx" ON "billing_periods" USING btree ("account_id","from_day");--> statement-breakpoint
CREATE INDEX "billing_subscriptions_account_idx" ON "billing_subscriptions" USING btree ("account_id","status");--> statement-breakpoint
CREATE INDEX "billing_subscriptions_agency_idx" ON "billing_subscriptions" USING btree ("agency_id");--> statement-breakpoint
CREATE INDEX "billing_subscriptions_running_terms_idx" ON "billing_subscriptions" USING btree ("term_last_day") WHERE "billing_subscriptions"."billing" = 'term' and "billing_subscriptions"."status" = 'active';--> statement-breakpoint
CREATE INDEX "invoice_lines_invoice_idx" ON "invoice_lines" USING btree ("invoice_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_account_period_key" ON "invoices" USING btree ("account_id","period") WHERE "invoices"."kind" = 'monthly';--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_term_key" ON "invoices" USING btree ("subscription_id") WHERE "invoices"."kind" = 'term';--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_key" ON "invoices" USING btree ("seller_key","number");--> statement-breakpoint
CREATE INDEX "invoices_account_idx" ON "invoices" USING btree ("account_id","issue_day");--> statement-breakpoint
CREATE INDEX "invoices_seller_idx" ON "invoices" USING btree ("seller_key","issue_day");--> statement-breakpoint
CREATE INDEX "invoices_draft_idx" ON "invoices" USING btree ("created_at") WHERE "invoices"."status" = 'draft';