-- credit_flow_rollup: the source of the statement trigger function that keeps credit_flow_daily
-- (db/schema/reports.ts) equal to the ledger. Once per INSERT statement on credit_ledger, it
-- adds the statement's entries other than usage ('consume': counted in usage_daily by
-- usage_apply) to their account's day in the agency's time zone, by reason and lot source.
-- In the writer's transaction, so a rolled-back movement leaves no trace; rows are keyed by
-- account, whose row lock every ledger writer holds.
CREATE OR REPLACE FUNCTION credit_flow_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- A usage statement (consume entries only: counted by usage_apply) has nothing to add.
	IF NOT EXISTS (SELECT 1 FROM written w WHERE w.reason <> 'consume') THEN
		RETURN NULL;
	END IF;
	-- The report lock of the entries' agencies, shared (as usage_apply takes it): the sealing
	-- job takes it alone, so the statements below, which read the seal marks, see either none or
	-- all of a sealing, and the mark stays still until this transaction commits.
	PERFORM pg_advisory_xact_lock_shared(17017, hashtext(x.a)) FROM (SELECT DISTINCT w.agency_id AS a FROM written w WHERE w.reason <> 'consume' ORDER BY 1) x;
	INSERT INTO credit_flow_daily AS f (agency_id, day, account_id, sub_account_id, reason, source, entries, credits)
	SELECT w.agency_id, (w.created_at AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date, w.account_id, min(w.sub_account_id),
		w.reason, coalesce(w.source, ''), count(*), sum(w.delta)
	FROM written w
	LEFT JOIN agencies ag ON ag.id = w.agency_id
	WHERE w.reason <> 'consume'
	GROUP BY 1, 2, 3, 5, 6
	ON CONFLICT (agency_id, day, account_id, reason, source)
	DO UPDATE SET entries = f.entries + excluded.entries, credits = f.credits + excluded.credits;
	-- An entry of a sealed day (an expiry recorded at its past instant, a writer whose clock is
	-- behind the sealing job's): its second-level rows too. Normally none.
	IF EXISTS (SELECT 1 FROM written w JOIN agencies ag ON ag.id = w.agency_id JOIN report_rollup_marks m ON m.agency_id = w.agency_id
			WHERE w.reason <> 'consume' AND (w.created_at AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date <= m.sealed_through) THEN
		WITH late AS (
			SELECT w.agency_id, (w.created_at AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date AS day, w.account_id, min(w.sub_account_id) AS sub_account_id,
				w.reason, coalesce(w.source, '') AS source, count(*) AS entries, sum(w.delta) AS credits
			FROM written w
			LEFT JOIN agencies ag ON ag.id = w.agency_id
			JOIN report_rollup_marks m ON m.agency_id = w.agency_id
			WHERE w.reason <> 'consume' AND (w.created_at AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date <= m.sealed_through
			GROUP BY 1, 2, 3, 5, 6
		), late_days AS (
			INSERT INTO credit_flow_agency_daily AS f (agency_id, day, reason, source, entries, credits)
			SELECT agency_id, day, reason, source, sum(entries), sum(credits) FROM late GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
			ON CONFLICT (agency_id, day, reason, source)
			DO UPDATE SET entries = f.entries + excluded.entries, credits = f.credits + excluded.credits
		)
		INSERT INTO credit_flow_monthly AS f (agency_id, month, account_id, sub_account_id, reason, source, entries, credits)
		SELECT agency_id, date_trunc('month', day)::date, account_id, sub_account_id, reason, source, sum(entries), sum(credits) FROM late GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
		ON CONFLICT (agency_id, month, account_id, reason, source)
		DO UPDATE SET entries = f.entries + excluded.entries, credits = f.credits + excluded.credits;
	END IF;
	RETURN NULL;
END
$$;
