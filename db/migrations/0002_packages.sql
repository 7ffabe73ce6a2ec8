CREATE TABLE "agency_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"kind" text NOT NULL,
	"topup_package_id" text,
	"quantity" integer NOT NULL,
	"credits" bigint DEFAULT 0 NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'pending_payment' NOT NULL,
	"applied_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agency_orders_quantity_pos" CHECK ("agency_orders"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "platform_plans" (
	"id" text PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"reselling_module" boolean DEFAULT false NOT NULL,
	"included_chatbots" integer DEFAULT 0 NOT NULL,
	"monthly_credits" bigint DEFAULT 0 NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"published" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "platform_plans_price_pos" CHECK ("platform_plans"."price_minor" >= 0)
);
--> statement-breakpoint
CREATE TABLE "topup_packages" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"credits" bigint NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "topup_packages_positive" CHECK ("topup_packages"."credits" > 0 and "topup_packages"."price_minor" > 0)
);
--> statement-breakpoint
CREATE TABLE "package_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"package_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"credits" bigint NOT NULL,
	"term_months" integer,
	"chatbots" integer DEFAULT 0 NOT NULL,
	"department_ids" text[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "package_versions_number_key" UNIQUE("package_id","version"),
	CONSTRAINT "package_versions_amounts" CHECK ("package_versions"."price_minor" > 0 and "package_versions"."credits" >= 0 and "package_versions"."chatbots" >= 0),
	CONSTRAINT "package_versions_term" CHECK (("package_versions"."type" = 'credit' and "package_versions"."term_months" is null) or ("package_versions"."type" = 'subscription' and "package_versions"."term_months" between 1 and 36))
);
--> statement-breakpoint
CREATE TABLE "packages" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"current_version_id" text NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "packages_agency_id_id_key" UNIQUE("agency_id","id")
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"id" text PRIMARY KEY NOT NULL,
	"payment_id" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"raw" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"buyer_agency_id" text NOT NULL,
	"buyer_sub_account_id" text,
	"purpose" text NOT NULL,
	"reference_id" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"gateway" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"gateway_reference" text,
	"failure_reason" text,
	"confirmed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "purchases" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text NOT NULL,
	"package_id" text NOT NULL,
	"package_version_id" text NOT NULL,
	"type" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'pending_payment' NOT NULL,
	"payment_method" text NOT NULL,
	"buyer_user_id" text,
	"idempotency_key" text,
	"grant_attempts" integer DEFAULT 0 NOT NULL,
	"last_grant_error" text,
	"paid_at" timestamp with time zone,
	"granted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscription_grants" (
	"subscription_id" text NOT NULL,
	"period_index" integer NOT NULL,
	"agency_id" text NOT NULL,
	"lot_id" text,
	"credits" bigint NOT NULL,
	"granted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "subscription_grants_subscription_id_period_index_pk" PRIMARY KEY("subscription_id","period_index")
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text NOT NULL,
	"package_id" text NOT NULL,
	"package_version_id" text NOT NULL,
	"purchase_id" text,
	"monthly_credits" bigint NOT NULL,
	"chatbots" integer DEFAULT 0 NOT NULL,
	"department_ids" text[] DEFAULT '{}' NOT NULL,
	"start_day" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"next_grant_index" integer DEFAULT 0 NOT NULL,
	"next_grant_at" timestamp with time zone,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "credit_ledger_idem_key";--> statement-breakpoint
ALTER TABLE "platform" ADD COLUMN "chatbot_slot_price_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "chatbot_slots" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "restrict_departments_to_packages" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sub_accounts" ADD COLUMN "chatbots" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agency_orders" ADD CONSTRAINT "agency_orders_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topup_packages" ADD CONSTRAINT "topup_packages_seller_agency_id_agencies_id_fk" FOREIGN KEY ("seller_agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "package_versions" ADD CONSTRAINT "package_versions_agency_id_package_id_packages_agency_id_id_fk" FOREIGN KEY ("agency_id","package_id") REFERENCES "public"."packages"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "packages" ADD CONSTRAINT "packages_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_events" ADD CONSTRAINT "payment_events_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_agency_id_sub_account_id_sub_accounts_agency_id_id_fk" FOREIGN KEY ("agency_id","sub_account_id") REFERENCES "public"."sub_accounts"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_agency_id_sub_account_id_sub_accounts_agency_id_id_fk" FOREIGN KEY ("agency_id","sub_account_id") REFERENCES "public"."sub_accounts"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agency_orders_agency_idx" ON "agency_orders" USING btree ("agency_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "platform_plans_code_key" ON "platform_plans" USING btree ("code");--> statement-breakpoint
CREATE INDEX "topup_packages_seller_idx" ON "topup_packages" USING btree ("seller_agency_id");--> statement-breakpoint
CREATE INDEX "packages_agency_idx" ON "packages" USING btree ("agency_id");--> statement-breakpoint
CREATE INDEX "payment_events_payment_idx" ON "payment_events" USING btree ("payment_id","created_at");--> statement-breakpoint
CREATE INDEX "payments_buyer_idx" ON "payments" USING btree ("buyer_agency_id","buyer_sub_account_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_reference_key" ON "payments" USING btree ("purpose","reference_id");--> statement-breakpoint
CREATE INDEX "purchases_agency_idx" ON "purchases" USING btree ("agency_id","created_at");--> statement-breakpoint
CREATE INDEX "purchases_sub_idx" ON "purchases" USING btree ("sub_account_id","created_at");--> statement-breakpoint
CREATE INDEX "purchases_paid_idx" ON "purchases" USING btree ("status") WHERE status = 'paid';--> statement-breakpoint
CREATE UNIQUE INDEX "purchases_idem_key" ON "purchases" USING btree ("sub_account_id","idempotency_key") WHERE idempotency_key is not null;--> statement-breakpoint
CREATE INDEX "subscriptions_sub_idx" ON "subscriptions" USING btree ("sub_account_id","status");--> statement-breakpoint
CREATE INDEX "subscriptions_due_idx" ON "subscriptions" USING btree ("next_grant_at") WHERE status = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_idem_key" ON "credit_ledger" USING btree ("account_id","idempotency_key") WHERE "credit_ledger"."idempotency_key" is not null;