CREATE TABLE "einvoice_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"seller_key" text NOT NULL,
	"seller_agency_id" text,
	"kind" text NOT NULL,
	"mode" text DEFAULT 'test' NOT NULL,
	"settings" jsonb NOT NULL,
	"secrets" text NOT NULL,
	"secret_hints" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "einvoice_accounts_seller_key_unique" UNIQUE("seller_key")
);
--> statement-breakpoint
CREATE TABLE "einvoice_documents" (
	"id" text PRIMARY KEY NOT NULL,
	"document_kind" text NOT NULL,
	"document_id" text NOT NULL,
	"agency_id" text NOT NULL,
	"seller_key" text NOT NULL,
	"seller_agency_id" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"uuid" text,
	"number" text,
	"profile" text,
	"integrator" text,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_answer" jsonb,
	"sent_at" timestamp with time zone,
	"accepted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "einvoice_documents_uuid_unique" UNIQUE("uuid")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "einvoice_documents_document_key" ON "einvoice_documents" USING btree ("document_kind","document_id");--> statement-breakpoint
CREATE UNIQUE INDEX "einvoice_documents_number_key" ON "einvoice_documents" USING btree ("seller_key","number") WHERE "einvoice_documents"."number" is not null;--> statement-breakpoint
CREATE INDEX "einvoice_documents_open_idx" ON "einvoice_documents" USING btree ("status","updated_at") WHERE "einvoice_documents"."status" in ('queued', 'sending', 'retrying', 'pending');