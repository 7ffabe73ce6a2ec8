CREATE TABLE "wallet_entries" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_key" text NOT NULL,
	"agency_id" text NOT NULL,
	"delta_minor" bigint NOT NULL,
	"balance_after_minor" bigint NOT NULL,
	"reason" text NOT NULL,
	"reference" text,
	"idempotency_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wallet_topups" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_key" text NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'pending_payment' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "wallets" (
	"owner_key" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"currency" text NOT NULL,
	"balance_minor" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallets_balance_not_negative" CHECK ("wallets"."balance_minor" >= 0)
);
--> statement-breakpoint
CREATE INDEX "wallet_entries_owner_idx" ON "wallet_entries" USING btree ("owner_key","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_entries_idempotency_key" ON "wallet_entries" USING btree ("owner_key","idempotency_key") WHERE idempotency_key is not null;