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
CREATE UNIQUE INDEX "auto_billing_one_pending" ON "auto_billing_charges" USING btree ("owner_key") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "auto_billing_charges_owner_idx" ON "auto_billing_charges" USING btree ("owner_key","created_at");