CREATE INDEX "payments_seller_confirmed_idx" ON "payments" USING btree ("seller_agency_id","confirmed_at");--> statement-breakpoint
CREATE INDEX "invoices_seller_list_idx" ON "invoices" USING btree ("seller_agency_id","issue_day","number");--> statement-breakpoint
CREATE INDEX "invoices_seller_open_idx" ON "invoices" USING btree ("seller_agency_id","due_day") WHERE "invoices"."status" = 'open';