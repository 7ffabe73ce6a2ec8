-- credit_flow_rollup: the source of the statement trigger function that keeps credit_flow_daily
-- (db/schema/reports.ts) equal to the ledger. Once per INSERT statement on credit_ledger, it
-- adds the statement's entries other than usage ('consume': counted in usage_daily by
-- usage_apply) to their account's day in the agency's time zone, by reason and lot source.
-- In the writer's transaction, so a rolled-back movement leaves no trace; rows are keyed by
-- account, whose row lock every ledger writer holds.
CREATE OR REPLACE FUNCTION credit_flow_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO credit_flow_daily AS f (agency_id, day, account_id, sub_account_id, reason, source, entries, credits)
	SELECT w.agency_id, (w.created_at AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date, w.account_id, min(w.sub_account_id),
		w.reason, coalesce(w.source, ''), count(*), sum(w.delta)
	FROM written w
	LEFT JOIN agencies ag ON ag.id = w.agency_id
	WHERE w.reason <> 'consume'
	GROUP BY 1, 2, 3, 5, 6
	ON CONFLICT (agency_id, day, account_id, reason, source)
	DO UPDATE SET entries = f.entries + excluded.entries, credits = f.credits + excluded.credits;
	RETURN NULL;
END
$$;
