CREATE TABLE "channel_integrations" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "representatives" (
	"id" text PRIMARY KEY NOT NULL,
	"agency_id" text NOT NULL,
	"sub_account_id" text,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "manual_suspended" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "overdue_suspended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sub_accounts" ADD COLUMN "overdue_suspended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "channel_integrations" ADD CONSTRAINT "channel_integrations_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "representatives" ADD CONSTRAINT "representatives_agency_id_agencies_id_fk" FOREIGN KEY ("agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "channel_integrations_account_idx" ON "channel_integrations" USING btree ("account_id","type");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_integrations_account_name_key" ON "channel_integrations" USING btree ("account_id","type","name");--> statement-breakpoint
CREATE INDEX "representatives_account_idx" ON "representatives" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "representatives_account_email_key" ON "representatives" USING btree ("account_id","email");--> statement-breakpoint
-- Every agency suspended so far was suspended by the platform's manual flag.
UPDATE "agencies" SET "manual_suspended" = true WHERE "status" = 'suspended';
