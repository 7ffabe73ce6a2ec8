DROP TABLE "platform_plans" CASCADE;--> statement-breakpoint
DROP TABLE "topup_packages" CASCADE;--> statement-breakpoint
DROP TABLE "package_versions" CASCADE;--> statement-breakpoint
DROP TABLE "packages" CASCADE;--> statement-breakpoint
DROP TABLE "billing_packages" CASCADE;--> statement-breakpoint
ALTER TABLE "platform" DROP COLUMN "chatbot_slot_price_minor";