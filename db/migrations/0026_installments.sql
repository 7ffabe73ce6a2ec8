ALTER TABLE "gateway_accounts" ADD COLUMN "installment_plan" jsonb;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "installments" integer;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "installment_surcharge_bp" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "installment_surcharge_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- hand-written: a count the banks know and a surcharge that is part of the amount charged
ALTER TABLE "payments" ADD CONSTRAINT "payments_installments_check" CHECK ("installments" IS NULL OR "installments" BETWEEN 1 AND 12);--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_installment_surcharge_check" CHECK ("installment_surcharge_minor" >= 0 AND "installment_surcharge_minor" <= "amount_minor" AND "installment_surcharge_bp" BETWEEN 0 AND 10000);
