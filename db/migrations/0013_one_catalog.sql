CREATE TABLE "offer_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"offer_id" text NOT NULL,
	"seller_agency_id" text,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"billing" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"term_months" integer,
	"credits" bigint DEFAULT 0 NOT NULL,
	"chatbots" integer DEFAULT 0 NOT NULL,
	"department_ids" text[] DEFAULT '{}' NOT NULL,
	"chatbot_sessions" integer DEFAULT 0 NOT NULL,
	"representatives" integer DEFAULT 0 NOT NULL,
	"whatsapp_channels" integer DEFAULT 0 NOT NULL,
	"instagram_channels" integer DEFAULT 0 NOT NULL,
	"messenger_channels" integer DEFAULT 0 NOT NULL,
	"modules" text[] DEFAULT '{}' NOT NULL,
	"unit" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "offer_versions_number_key" UNIQUE("offer_id","version"),
	CONSTRAINT "offer_versions_amounts" CHECK ("offer_versions"."price_minor" >= 0 and "offer_versions"."credits" >= 0 and "offer_versions"."chatbots" >= 0 and "offer_versions"."chatbot_sessions" >= 0),
	CONSTRAINT "offer_versions_term" CHECK (("offer_versions"."billing" in ('prepaid', 'term')) = ("offer_versions"."term_months" is not null) and ("offer_versions"."billing" <> 'term' or "offer_versions"."term_months" in (3, 6, 12)) and ("offer_versions"."billing" <> 'prepaid' or "offer_versions"."term_months" between 1 and 36))
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_agency_id" text,
	"kind" text NOT NULL,
	"code" text,
	"current_version_id" text NOT NULL,
	"published" boolean DEFAULT false NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "offer_versions" ADD CONSTRAINT "offer_versions_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_seller_agency_id_agencies_id_fk" FOREIGN KEY ("seller_agency_id") REFERENCES "public"."agencies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "offers_seller_idx" ON "offers" USING btree ("seller_agency_id","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "offers_platform_code_key" ON "offers" USING btree ("code") WHERE "offers"."seller_agency_id" is null and "offers"."code" is not null;--> statement-breakpoint
-- Carry every existing offer over, keeping its id (purchases, subscriptions, orders and plans
-- point at them). Resold packages keep their versions' ids; the other kinds had no versions and
-- get version 1 with a derived id ("ofv_" + the offer id's body).
INSERT INTO "offers" ("id", "seller_agency_id", "kind", "current_version_id", "published", "archived_at", "created_at", "updated_at")
SELECT p."id", p."agency_id", CASE WHEN v."type" = 'subscription' THEN 'prepaid_subscription' ELSE 'credit_pack' END, p."current_version_id", p."published", p."archived_at", p."created_at", p."updated_at"
FROM "packages" p JOIN "package_versions" v ON v."id" = p."current_version_id";
--> statement-breakpoint
INSERT INTO "offer_versions" ("id", "offer_id", "seller_agency_id", "version", "name", "billing", "price_minor", "currency", "term_months", "credits", "chatbots", "department_ids", "created_at")
SELECT v."id", v."package_id", v."agency_id", v."version", v."name", CASE WHEN v."type" = 'subscription' THEN 'prepaid' ELSE 'one_off' END, v."price_minor", v."currency", v."term_months", v."credits", v."chatbots", v."department_ids", v."created_at"
FROM "package_versions" v;
--> statement-breakpoint
INSERT INTO "offers" ("id", "seller_agency_id", "kind", "current_version_id", "published", "archived_at", "created_at", "updated_at")
SELECT b."id", b."seller_agency_id", b."kind", 'ofv_' || substr(b."id", 5), b."published", b."archived_at", b."created_at", b."updated_at" FROM "billing_packages" b;
--> statement-breakpoint
INSERT INTO "offer_versions" ("id", "offer_id", "seller_agency_id", "version", "name", "billing", "price_minor", "currency", "term_months", "chatbot_sessions", "representatives", "whatsapp_channels", "instagram_channels", "messenger_channels", "modules", "unit", "created_at")
SELECT 'ofv_' || substr(b."id", 5), b."id", b."seller_agency_id", 1, b."name", b."billing", b."monthly_price_minor", b."currency", b."term_months", b."chatbot_sessions", b."representatives", b."whatsapp_channels", b."instagram_channels", b."messenger_channels", b."modules", b."unit", b."created_at"
FROM "billing_packages" b;
--> statement-breakpoint
INSERT INTO "offers" ("id", "seller_agency_id", "kind", "current_version_id", "published", "archived_at", "created_at", "updated_at")
SELECT t."id", t."seller_agency_id", 'topup', 'ofv_' || substr(t."id", 5), true, t."archived_at", t."created_at", t."created_at" FROM "topup_packages" t;
--> statement-breakpoint
INSERT INTO "offer_versions" ("id", "offer_id", "seller_agency_id", "version", "name", "billing", "price_minor", "currency", "credits", "created_at")
SELECT 'ofv_' || substr(t."id", 5), t."id", t."seller_agency_id", 1, t."credits"::text || ' credits', 'one_off', t."price_minor", t."currency", t."credits", t."created_at" FROM "topup_packages" t;
--> statement-breakpoint
INSERT INTO "offers" ("id", "seller_agency_id", "kind", "code", "current_version_id", "published", "created_at", "updated_at")
SELECT p."id", NULL, 'plan', p."code", 'ofv_' || substr(p."id", 5), p."published", p."created_at", p."updated_at" FROM "platform_plans" p;
--> statement-breakpoint
INSERT INTO "offer_versions" ("id", "offer_id", "version", "name", "billing", "price_minor", "currency", "credits", "chatbots", "modules", "created_at")
SELECT 'ofv_' || substr(p."id", 5), p."id", 1, p."name", 'monthly', p."price_minor", p."currency", p."monthly_credits", p."included_chatbots", CASE WHEN p."reselling_module" THEN ARRAY['reselling'] ELSE ARRAY[]::text[] END, p."created_at"
FROM "platform_plans" p;
--> statement-breakpoint
-- The chatbot slot price was a setting of the platform row; it becomes the platform's one chatbot-slot offer.
INSERT INTO "offers" ("id", "kind", "current_version_id", "published", "created_at", "updated_at")
SELECT 'off_chatbot_slot', 'chatbot_slot', 'ofv_chatbot_slot_1', true, now(), now() FROM "platform" WHERE "chatbot_slot_price_minor" > 0 LIMIT 1;
--> statement-breakpoint
INSERT INTO "offer_versions" ("id", "offer_id", "version", "name", "billing", "price_minor", "currency", "chatbots", "created_at")
SELECT 'ofv_chatbot_slot_1', 'off_chatbot_slot', 1, 'Chatbot slot', 'one_off', "chatbot_slot_price_minor", "currency", 1, now() FROM "platform" WHERE "chatbot_slot_price_minor" > 0 LIMIT 1;
