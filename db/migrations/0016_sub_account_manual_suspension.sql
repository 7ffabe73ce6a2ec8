ALTER TABLE "sub_accounts" ADD COLUMN "manual_suspended" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- Before this column a client suspended by hand was one suspended without an overdue reason.
UPDATE "sub_accounts" SET "manual_suspended" = true WHERE "status" = 'suspended' AND "overdue_suspended_at" IS NULL;
