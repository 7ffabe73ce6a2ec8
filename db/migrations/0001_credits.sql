CREATE TABLE "credit_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"balance" bigint DEFAULT 0 NOT NULL,
	"low_balance_threshold" bigint,
	"low_balance_notified" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_accounts_balance_nonneg" CHECK ("credit_accounts"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE "credit_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"delta" bigint NOT NULL,
	"balance_after" bigint NOT NULL,
	"reason" text NOT NULL,
	"reference" text,
	"idempotency_key" text,
	"note" text,
	"data" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_lots" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"source" text NOT NULL,
	"amount" bigint NOT NULL,
	"remaining" bigint NOT NULL,
	"expires_at" timestamp with time zone,
	"reference" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_lots_remaining_range" CHECK ("credit_lots"."remaining" >= 0 and "credit_lots"."remaining" <= "credit_lots"."amount")
);
--> statement-breakpoint
CREATE TABLE "departments" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"name" text NOT NULL,
	"credits_per_request" integer NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "departments_agency_id_id_key" UNIQUE("agency_id","id"),
	CONSTRAINT "departments_credits_nonneg" CHECK ("departments"."credits_per_request" >= 0)
);
--> statement-breakpoint
CREATE TABLE "sub_account_departments" (
	"agency_id" text NOT NULL,
	"sub_account_id" text NOT NULL,
	"department_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sub_account_departments_sub_account_id_department_id_pk" PRIMARY KEY("sub_account_id","department_id")
);
--> statement-breakpoint
CREATE TABLE "usage_conversations" (
	"account_id" text NOT NULL,
	"conversation_id" text NOT NULL,
	"department_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"charged" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_conversations_account_id_conversation_id_department_id_pk" PRIMARY KEY("account_id","conversation_id","department_id")
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"read_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_agency_id_sub_account_id_sub_accounts_agency_id_id_fk" FOREIGN KEY ("agency_id","sub_account_id") REFERENCES "public"."sub_accounts"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_account_id_credit_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."credit_accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_lots" ADD CONSTRAINT "credit_lots_account_id_credit_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."credit_accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sub_account_departments" ADD CONSTRAINT "sub_account_departments_agency_id_sub_account_id_sub_accounts_agency_id_id_fk" FOREIGN KEY ("agency_id","sub_account_id") REFERENCES "public"."sub_accounts"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sub_account_departments" ADD CONSTRAINT "sub_account_departments_agency_id_department_id_departments_agency_id_id_fk" FOREIGN KEY ("agency_id","department_id") REFERENCES "public"."departments"("agency_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_conversations" ADD CONSTRAINT "usage_conversations_account_id_credit_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."credit_accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "credit_accounts_owner_key" ON "credit_accounts" USING btree ("agency_id",coalesce("sub_account_id", ''));--> statement-breakpoint
CREATE INDEX "credit_ledger_account_idx" ON "credit_ledger" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "credit_ledger_agency_idx" ON "credit_ledger" USING btree ("agency_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_idem_key" ON "credit_ledger" USING btree ("account_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "credit_lots_open_idx" ON "credit_lots" USING btree ("account_id","expires_at","created_at") WHERE "credit_lots"."remaining" > 0;--> statement-breakpoint
CREATE INDEX "departments_agency_idx" ON "departments" USING btree ("agency_id");--> statement-breakpoint
CREATE INDEX "notifications_owner_idx" ON "notifications" USING btree ("agency_id","sub_account_id","created_at");