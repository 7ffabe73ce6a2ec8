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
ALTER TABLE "payments" ADD COLUMN "gateway_account_id" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "payment_method_id" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "refunded_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "refunded_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "gateway_webhooks_event_key" ON "gateway_webhooks" USING btree ("gateway_account_id","event_id");--> statement-breakpoint
CREATE INDEX "payment_methods_buyer_idx" ON "payment_methods" USING btree ("buyer_agency_id","buyer_sub_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_idempotency_key" ON "payments" USING btree ("gateway","idempotency_key") WHERE idempotency_key is not null;--> statement-breakpoint
CREATE INDEX "payments_pending_idx" ON "payments" USING btree ("status","created_at") WHERE status = 'pending';