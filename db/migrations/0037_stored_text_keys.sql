ALTER TABLE "account_charges" ADD COLUMN "description_key" text;--> statement-breakpoint
ALTER TABLE "credit_note_lines" ADD COLUMN "description_key" text;