CREATE TABLE "gateway_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_key" text NOT NULL,
	"seller_agency_id" text,
	"kind" text NOT NULL,
	"mode" text DEFAULT 'test' NOT NULL,
	"settings" jsonb NOT NULL,
	"secrets" text NOT NULL,
	"secret_hints" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "gateway_accounts_seller_key_unique" UNIQUE("seller_key")
);
--> statement-breakpoint
CREATE TABLE "gateway_webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"gateway_account_id" text NOT NULL,
	"gateway" text NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" text NOT NULL,
	"headers" jsonb NOT NULL,
	"outcome" jsonb,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "payment_methods" (
	"id" text PRIMARY KEY NOT NULL,
	"buyer_agency_id" text NOT NULL,
	"buyer_sub_account_id" text,
	"gateway_account_id" text NOT NULL,
	"gateway" text NOT NULL,
	"customer_ref" text NOT NULL,
	"method_ref" text NOT NULL,
	"brand" text NOT NULL,
	"last4" text NOT NULL,
	"exp_month" integer,
	"exp_year" integer,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "auto_billing_charges" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_key" text NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"trigger" text NOT NULL,
	"reference" text,
	"deficit_credits" bigint DEFAULT 0 NOT NULL,
	"deficit_chatbots" integer DEFAULT 0 NOT NULL,
	"credits" bigint DEFAULT 0 NOT NULL,
	"chatbots" integer DEFAULT 0 NOT NULL,
	"items" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"payment_id" text,
	"payment_method_id" text,
	"failure_reason" text,
	"month" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "auto_billing_settings" (
	"owner_key" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"enabled" boolean DEFAULT false NOT NULL,
	"monthly_cap_minor" bigint,
	"currency" text,
	"payment_method_id" text,
	"notify_emails" text[] DEFAULT '{}' NOT NULL,
	"consecutive_declines" integer DEFAULT 0 NOT NULL,
	"retry_after" timestamp with time zone,
	"disabled_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "gateway_account_id" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "payment_method_id" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "refunded_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "refunded_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "gateway_webhooks_event_key" ON "gateway_webhooks" USING btree ("gateway_account_id","event_id");--> statement-breakpoint
CREATE INDEX "payment_methods_buyer_idx" ON "payment_methods" USING btree ("buyer_agency_id","buyer_sub_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "auto_billing_one_pending" ON "auto_billing_charges" USING btree ("owner_key") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "auto_billing_charges_owner_idx" ON "auto_billing_charges" USING btree ("owner_key","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_idempotency_key" ON "payments" USING btree ("gateway","idempotency_key") WHERE idempotency_key is not null;--> statement-breakpoint
CREATE INDEX "payments_pending_idx" ON "payments" USING btree ("status","created_at") WHERE status = 'pending';