CREATE UNIQUE INDEX "billing_subscriptions_one_plan_key" ON "billing_subscriptions" USING btree ("buyer_id") WHERE "billing_subscriptions"."kind" = 'plan' and "billing_subscriptions"."status" = 'active';--> statement-breakpoint
-- hand-written: agencies on a plan before plans were billed get a monthly subscription to the
-- plan offer's current version from the day of this migration (a calendar day in the platform's
-- zone), billed from that day on; nothing is billed for the days before (docs/catalog.md).
insert into billing_subscriptions (id, agency_id, sub_account_id, buyer_id, seller_agency_id, package_id, name, kind, billing, term_months, monthly_price_minor, term_price_minor,
  currency, quantity, chatbot_sessions, representatives, whatsapp_channels, instagram_channels, messenger_channels, modules, unit, status, start_day, term_last_day, created_at, updated_at)
select 'bsb_plan_' || a.id, a.id, null, a.id, null, o.id, v.name, 'plan', 'monthly', null, v.price_minor, null,
  v.currency, 1, v.chatbot_sessions, v.representatives, v.whatsapp_channels, v.instagram_channels, v.messenger_channels, v.modules, null, 'active',
  (now() at time zone coalesce((select p.time_zone from platform p limit 1), 'Europe/Istanbul'))::date, null, now(), now()
from agencies a
join offers o on o.seller_agency_id is null and o.kind = 'plan' and o.code = a.plan_code
join offer_versions v on v.id = o.current_version_id
where not exists (select 1 from billing_subscriptions s where s.buyer_id = a.id and s.kind = 'plan' and s.status = 'active');
--> statement-breakpoint
insert into billing_periods (id, subscription_id, agency_id, buyer_id, seller_agency_id, from_day, through_day, created_at)
select 'bpr_plan_' || s.agency_id, s.id, s.agency_id, s.buyer_id, null, s.start_day, null, now()
from billing_subscriptions s
where s.id like 'bsb_plan_%' and s.kind = 'plan' and not exists (select 1 from billing_periods p where p.subscription_id = s.id);
