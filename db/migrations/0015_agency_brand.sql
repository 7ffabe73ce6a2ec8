ALTER TABLE "agencies" ADD COLUMN "brand_display_name" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "brand_logo_url" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "brand_color" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "support_email" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "email_sender_name" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "email_reply_to" text;--> statement-breakpoint
ALTER TABLE "agencies" ADD COLUMN "portal_domain" text;--> statement-breakpoint
ALTER TABLE "outbox_emails" ADD COLUMN "from_name" text;--> statement-breakpoint
ALTER TABLE "outbox_emails" ADD COLUMN "reply_to" text;--> statement-breakpoint
CREATE UNIQUE INDEX "agencies_portal_domain_key" ON "agencies" USING btree ("portal_domain");