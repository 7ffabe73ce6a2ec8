-- credit_lots_take: the source of this database function. Migrations are made from this file
-- (npm run db:function -- credit_lots_take); test/db/functions.test.ts fails when the
-- database's function differs from it.
--
-- The FIFO rule of the credit ledger, the only place it is written: takes p_amounts[i] credits
-- from the live lots (remaining > 0) of account p_accounts[i], the lot that expires first, then
-- the oldest, lots without expiry last; ties by created_at, then id (byte order). Lowers
-- credit_lots.remaining and returns what it took from each lot, by account, in that order. An
-- account named twice gives the sum of its amounts (taking n1 then n2 is taking n1 + n2); amounts
-- of 0 take nothing. Raises (and takes nothing) if an account's lots do not cover its amount. It
-- writes neither credit_ledger nor credit_accounts: the caller holds the accounts' locks, sweeps
-- expired lots first and writes the entries and the balances (src/credits: debitAccount,
-- writeCreditMovements; usage_apply). Arrays, so that a batch of many accounts is one statement.
CREATE OR REPLACE FUNCTION credit_lots_take(p_accounts text[], p_amounts bigint[])
RETURNS TABLE(account_id text, lot_id text, taken bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	r_acct text[];
	r_lot text[];
	r_took bigint[];
	wanted bigint;
	invalid bigint;
	total bigint;
	bad record;
BEGIN
	SELECT sum(u.amount), count(*) FILTER (WHERE u.amount IS NULL OR u.amount < 0 OR (u.acct IS NULL AND u.amount <> 0))
	INTO wanted, invalid FROM unnest(p_accounts, p_amounts) AS u(acct, amount);
	IF coalesce(array_length(p_accounts, 1), 0) <> coalesce(array_length(p_amounts, 1), 0) OR invalid > 0 THEN
		RAISE EXCEPTION 'credit_lots_take: every amount must be a non-negative number of credits of a named account';
	END IF;
	IF coalesce(wanted, 0) = 0 THEN
		RETURN;
	END IF;
	WITH u AS (
		SELECT w.acct, sum(w.amount) AS amount FROM unnest(p_accounts, p_amounts) AS w(acct, amount)
		WHERE w.amount > 0 GROUP BY w.acct
	), t AS (
		UPDATE credit_lots l SET remaining = f.remaining - least(f.remaining, u.amount - (f.cum - f.remaining))
		FROM u, LATERAL (
			SELECT l2.ctid AS tid, l2.remaining,
				sum(l2.remaining) OVER (ORDER BY l2.expires_at NULLS LAST, l2.created_at, l2.id COLLATE "C") AS cum
			FROM credit_lots l2 WHERE l2.account_id = u.acct AND l2.remaining > 0
		) f
		WHERE l.ctid = f.tid AND f.cum - f.remaining < u.amount
		RETURNING u.acct, l.id, f.remaining - l.remaining AS took, f.cum
	)
	SELECT array_agg(t.acct ORDER BY t.acct, t.cum), array_agg(t.id ORDER BY t.acct, t.cum), array_agg(t.took ORDER BY t.acct, t.cum), coalesce(sum(t.took), 0)
	INTO r_acct, r_lot, r_took, total FROM t;
	-- No account gets more than its amount (the window stops there), so equal totals mean every
	-- account got its amount.
	IF total <> wanted THEN
		SELECT w.acct, w.amount, coalesce((SELECT sum(x.took) FROM unnest(r_acct, r_took) AS x(acct, took) WHERE x.acct = w.acct), 0) AS got
		INTO bad
		FROM (SELECT v.acct, sum(v.amount) AS amount FROM unnest(p_accounts, p_amounts) AS v(acct, amount) WHERE v.amount > 0 GROUP BY v.acct) w
		WHERE coalesce((SELECT sum(x.took) FROM unnest(r_acct, r_took) AS x(acct, took) WHERE x.acct = w.acct), 0) <> w.amount
		LIMIT 1;
		RAISE EXCEPTION 'credit_lots_take: the lots of account % hold % of the % credits to take', bad.acct, bad.got, bad.amount;
	END IF;
	RETURN QUERY SELECT * FROM unnest(r_acct, r_lot, r_took);
END
$$;
--> statement-breakpoint
-- usage_apply: the source of this database function. Migrations are made from this file
-- (npm run db:function -- usage_apply); test/db/functions.test.ts fails when the database's
-- function differs from it.
CREATE OR REPLACE FUNCTION usage_apply(
	p_owner_agency text[],
	p_owner_sub text[],
	p_owner_new_id text[],
	p_event_owner int[],
	p_conv text[],
	p_dept text[],
	p_rep text[],
	p_now timestamptz,
	OUT codes int[],
	OUT charged bigint[],
	OUT balances bigint[],
	OUT crossed text[]
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	n int := coalesce(array_length(p_conv, 1), 0);
	m int := coalesce(array_length(p_owner_agency, 1), 0);
	o_acct text[];
	o_bal bigint[];
	o_thr bigint[];
	o_notified boolean[];
	o_status int[];
	o_tid tid[];
	o_expired boolean[];
	o_day date[];
	used_total bigint := 0;
	o_used bigint[] := array_fill(0::bigint, ARRAY[m]);
	o_changed boolean[] := array_fill(false, ARRAY[m]);
	o_records boolean[] := array_fill(false, ARRAY[m]);
	e_pre int[];
	e_cost bigint[];
	e_seen boolean[];
	e_first int[];
	done boolean[] := array_fill(false, ARRAY[n]);
	rec boolean[] := array_fill(false, ARRAY[n]);
	lot record;
	new_id text;
	new_tid tid;
	taken bigint;
	i int;
	o int;
	c bigint;
	code int;
BEGIN
	codes := array_fill(0, ARRAY[n]);
	charged := array_fill(0::bigint, ARRAY[n]);
	balances := array_fill(0::bigint, ARRAY[n]);
	IF n = 0 THEN
		RETURN;
	END IF;

	-- 1. Lock the owners' existing accounts in id order, and read their state: locked rows are
	--    read in their latest committed version. (Statuses come from the statement's snapshot.)
	--    Also each locked row's address (its ctid cannot change while we hold the lock: the
	--    update in step 6 goes straight to it) and whether it has a live lot past its expiry.
	WITH locked AS (
		SELECT a.id, a.ctid AS tid, a.agency_id, coalesce(a.sub_account_id, '') AS sub, a.balance, a.low_balance_threshold, a.low_balance_notified
		FROM credit_accounts a
		JOIN unnest(p_owner_agency, p_owner_sub) AS w(agency_id, sub)
			ON a.agency_id = w.agency_id AND coalesce(a.sub_account_id, '') = w.sub
		ORDER BY a.id
		FOR UPDATE OF a
	)
	SELECT array_agg(x.id ORDER BY x.i), array_agg(x.tid ORDER BY x.i), array_agg(x.balance ORDER BY x.i), array_agg(x.thr ORDER BY x.i),
		array_agg(x.notified ORDER BY x.i), array_agg(x.status ORDER BY x.i), array_agg(x.expired ORDER BY x.i), array_agg(x.day ORDER BY x.i)
	INTO o_acct, o_tid, o_bal, o_thr, o_notified, o_status, o_expired, o_day
	FROM (
		SELECT w.i, a.id, a.tid, coalesce(a.balance, 0) AS balance, a.low_balance_threshold AS thr, coalesce(a.low_balance_notified, false) AS notified,
			CASE
				WHEN ag.status = 'suspended' THEN (CASE WHEN w.sub = '' THEN 4 ELSE 5 END)
				WHEN s.status = 'suspended' THEN 4
				ELSE 0 END AS status,
			(a.id IS NOT NULL AND EXISTS (
				SELECT 1 FROM credit_lots l WHERE l.account_id = a.id AND l.expires_at <= p_now AND l.remaining > 0)) AS expired,
			-- The calendar day of the agency's time zone the usage rollup counts this batch in.
			(p_now AT TIME ZONE coalesce(ag.time_zone, 'UTC'))::date AS day
		FROM unnest(p_owner_agency, p_owner_sub) WITH ORDINALITY AS w(agency_id, sub, i)
		LEFT JOIN locked a ON a.agency_id = w.agency_id AND a.sub = w.sub
		LEFT JOIN agencies ag ON ag.id = w.agency_id
		LEFT JOIN sub_accounts s ON w.sub <> '' AND s.id = w.sub
	) x;

	-- 2. Expired lots stop counting at their expiry instant: sweep them (rare, hence row by row,
	--    and only when step 1 found one).
	IF true = ANY (o_expired) THEN
	FOR lot IN
		SELECT l.id, l.account_id, l.remaining, l.expires_at FROM credit_lots l
		WHERE l.account_id = ANY (o_acct) AND l.remaining > 0 AND l.expires_at <= p_now
		ORDER BY l.account_id, l.expires_at, l.created_at, l.id COLLATE "C"
	LOOP
		o := array_position(o_acct, lot.account_id);
		o_bal[o] := o_bal[o] - lot.remaining;
		o_changed[o] := true;
		UPDATE credit_lots SET remaining = 0 WHERE id = lot.id;
		INSERT INTO credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at)
		VALUES (lot.account_id, p_owner_agency[o], nullif(p_owner_sub[o], ''), -lot.remaining, o_bal[o], 'expire', lot.id, lot.expires_at);
	END LOOP;
	END IF;

	-- 3. What each event needs, set-based: department and representative checks, cost, already
	--    charged, and the first event of the batch with the same (owner, conversation, department).
	SELECT array_agg(x.pre ORDER BY x.i), array_agg(x.cost ORDER BY x.i), array_agg(x.seen ORDER BY x.i), array_agg(x.first ORDER BY x.i)
	INTO e_pre, e_cost, e_seen, e_first
	FROM (
		SELECT e.i,
			CASE
				WHEN d.id IS NULL OR d.agency_id <> p_owner_agency[e.o] OR d.archived_at IS NOT NULL THEN 3
				WHEN e.rep <> '' AND (r.id IS NULL OR r.agency_id <> p_owner_agency[e.o] OR coalesce(r.sub_account_id, '') <> p_owner_sub[e.o]) THEN 6
				WHEN p_owner_sub[e.o] <> '' AND enabled.ok IS NULL THEN 2
				ELSE 0 END AS pre,
			coalesce(d.credits_per_request, 0)::bigint AS cost,
			(o_acct[e.o] IS NOT NULL AND d.id IS NOT NULL AND seen.ok IS NOT NULL) AS seen,
			min(e.i) OVER (PARTITION BY e.o, e.conv COLLATE "C", e.dept COLLATE "C")::int AS first
		FROM unnest(p_event_owner, p_conv, p_dept, p_rep) WITH ORDINALITY AS e(o, conv, dept, rep, i)
		LEFT JOIN departments d ON d.id = e.dept
		LEFT JOIN representatives r ON r.id = nullif(e.rep, '')
		-- One index probe per event (LATERAL ... LIMIT 1 cannot become a hashed subplan that
		-- reads a whole table, which an EXISTS planned while the table looked empty does).
		LEFT JOIN LATERAL (
			SELECT true AS ok FROM sub_account_departments sd
			WHERE sd.sub_account_id = p_owner_sub[e.o] AND sd.department_id = e.dept LIMIT 1) enabled ON true
		LEFT JOIN LATERAL (
			SELECT true AS ok FROM usage_conversations u
			WHERE u.account_id = o_acct[e.o] AND u.conversation_id = e.conv AND u.department_id = e.dept LIMIT 1) seen ON true
	) x;

	-- 4. The events in order, against the running balance of their owner.
	FOR i IN 1..n LOOP
		o := p_event_owner[i];
		code := e_pre[i];
		IF code = 3 OR code = 6 THEN
			NULL;
		ELSIF o_status[o] <> 0 THEN
			code := o_status[o];
		ELSIF code = 2 THEN
			NULL;
		ELSIF e_seen[i] OR done[e_first[i]] THEN
			balances[i] := o_bal[o];
		ELSE
			c := e_cost[i];
			IF c > o_bal[o] THEN
				code := 1;
			ELSE
				done[e_first[i]] := true;
				rec[i] := true;
				o_records[o] := true;
				charged[i] := c;
				IF c > 0 THEN
					o_bal[o] := o_bal[o] - c;
					o_used[o] := o_used[o] + c;
					used_total := used_total + c;
					o_changed[o] := true;
				END IF;
				balances[i] := o_bal[o];
			END IF;
		END IF;
		codes[i] := code;
	END LOOP;

	-- 5. Accounts for owners that had none and now record a (free) conversation.
	FOR o IN 1..m LOOP
		IF o_records[o] AND o_acct[o] IS NULL THEN
			INSERT INTO credit_accounts (id, agency_id, sub_account_id, created_at, updated_at)
			VALUES (p_owner_new_id[o], p_owner_agency[o], nullif(p_owner_sub[o], ''), p_now, p_now)
			ON CONFLICT DO NOTHING;
			SELECT a.id, a.ctid INTO STRICT new_id, new_tid FROM credit_accounts a
			WHERE a.agency_id = p_owner_agency[o] AND coalesce(a.sub_account_id, '') = p_owner_sub[o];
			o_acct[o] := new_id;
			o_tid[o] := new_tid;
		END IF;
	END LOOP;

	-- 6. The report lock of the batch's agencies, shared (docs/reports.md, "Rollups"): the sealing
	--    job takes it alone, so the statement below sees either none or all of a sealing, and a
	--    sealing sees this batch's rows or waits for them. Taken before the statement that reads
	--    the seal marks, so that statement's snapshot is taken after it.
	PERFORM pg_advisory_xact_lock_shared(17017, hashtext(x.a)) FROM (SELECT DISTINCT a FROM unnest(p_owner_agency) AS a ORDER BY 1) x;

	-- 7. The writes, in one statement.
	WITH conversations AS (
		INSERT INTO usage_conversations (account_id, conversation_id, department_id, agency_id, charged, representative_id, created_at)
		SELECT o_acct[r.o], r.conv, r.dept, p_owner_agency[r.o], r.c, nullif(r.rep, ''), p_now
		FROM unnest(p_event_owner, p_conv, p_dept, p_rep, rec, charged) AS r(o, conv, dept, rep, ok, c)
		WHERE r.ok
	), daily AS (
		-- The usage rollup, in the same statement as the conversations it counts (so it always
		-- equals them): one row per account, day, department and representative. Rows are keyed
		-- by account, whose lock this batch holds: no other batch touches them meanwhile.
		INSERT INTO usage_daily AS u (agency_id, day, account_id, sub_account_id, department_id, representative_id, conversations, credits)
		SELECT p_owner_agency[r.o], o_day[r.o], o_acct[r.o], nullif(p_owner_sub[r.o], ''), r.dept, r.rep, count(*), sum(r.c)
		FROM unnest(p_event_owner, p_dept, p_rep, rec, charged) AS r(o, dept, rep, ok, c)
		WHERE r.ok
		GROUP BY r.o, r.dept, r.rep
		ON CONFLICT (agency_id, day, account_id, department_id, representative_id)
		DO UPDATE SET conversations = u.conversations + excluded.conversations, credits = u.credits + excluded.credits
	), entries AS (
		INSERT INTO credit_ledger (account_id, agency_id, sub_account_id, delta, balance_after, reason, reference, created_at, data)
		SELECT o_acct[r.o], p_owner_agency[r.o], nullif(p_owner_sub[r.o], ''), -r.c, r.b, 'consume', r.conv, p_now, jsonb_build_object('departmentId', r.dept)
		FROM unnest(p_event_owner, p_conv, p_dept, rec, charged, balances) WITH ORDINALITY AS r(o, conv, dept, ok, c, b, i)
		WHERE r.ok AND r.c > 0
		ORDER BY r.i
	), lots AS (
		-- Each owner's consumption out of its live lots, by the one FIFO rule (credit_lots_take).
		SELECT t.taken FROM credit_lots_take(o_acct, o_used) t WHERE used_total > 0
	), accounts AS (
		UPDATE credit_accounts a SET balance = u.bal, updated_at = p_now
		FROM unnest(o_tid, o_bal, o_thr, o_notified, o_changed) AS u(tid, bal, thr, notified, ch)
		WHERE u.ch AND a.ctid = u.tid
		RETURNING a.id, u.bal < u.thr AND NOT u.notified AS crossed
	)
	SELECT array_agg(a.id) FILTER (WHERE a.crossed), (SELECT coalesce(sum(t.taken), 0) FROM lots t)
	INTO crossed, taken FROM accounts a;

	-- 8. A day already sealed (a batch whose clock is behind the sealing job's): its second-level
	--    rows too. Normally none (the job seals closed days only), so one probe of the marks
	--    decides; the report lock taken in step 6 keeps the mark still until this commits.
	IF EXISTS (SELECT 1 FROM report_rollup_marks m JOIN unnest(p_owner_agency, o_day) AS w(agency_id, day)
			ON m.agency_id = w.agency_id AND w.day <= m.sealed_through) THEN
		WITH batch AS (
			SELECT p_owner_agency[r.o] AS agency_id, o_day[r.o] AS day, o_acct[r.o] AS account_id, nullif(p_owner_sub[r.o], '') AS sub_account_id,
				r.dept AS department_id, r.rep AS representative_id, count(*) AS conversations, sum(r.c) AS credits
			FROM unnest(p_event_owner, p_dept, p_rep, rec, charged) AS r(o, dept, rep, ok, c)
			WHERE r.ok
			GROUP BY r.o, r.dept, r.rep
		), late AS (
			SELECT b.* FROM batch b JOIN report_rollup_marks m ON m.agency_id = b.agency_id AND b.day <= m.sealed_through
		), late_days AS (
			INSERT INTO usage_agency_daily AS u (agency_id, day, department_id, conversations, credits)
			SELECT agency_id, day, department_id, sum(conversations), sum(credits) FROM late GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
			ON CONFLICT (agency_id, day, department_id)
			DO UPDATE SET conversations = u.conversations + excluded.conversations, credits = u.credits + excluded.credits
		), late_months AS (
			INSERT INTO usage_monthly AS u (agency_id, month, account_id, sub_account_id, department_id, representative_id, conversations, credits)
			SELECT agency_id, date_trunc('month', day)::date, account_id, sub_account_id, department_id, representative_id, conversations, credits FROM late ORDER BY 1, 2, 3, 4, 5, 6
			ON CONFLICT (agency_id, month, account_id, department_id, representative_id)
			DO UPDATE SET conversations = u.conversations + excluded.conversations, credits = u.credits + excluded.credits
		), late_account_months AS (
			INSERT INTO usage_account_monthly AS u (agency_id, month, account_id, sub_account_id, conversations, credits)
			SELECT agency_id, date_trunc('month', day)::date, account_id, min(sub_account_id), sum(conversations), sum(credits) FROM late GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
			ON CONFLICT (agency_id, month, account_id)
			DO UPDATE SET conversations = u.conversations + excluded.conversations, credits = u.credits + excluded.credits
		)
		INSERT INTO usage_representative_monthly AS u (agency_id, month, account_id, representative_id, sub_account_id, conversations, credits)
		SELECT agency_id, date_trunc('month', day)::date, account_id, representative_id, min(sub_account_id), sum(conversations), sum(credits) FROM late GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
		ON CONFLICT (agency_id, month, account_id, representative_id)
		DO UPDATE SET conversations = u.conversations + excluded.conversations, credits = u.credits + excluded.credits;
	END IF;
	-- Balance = sum of lots is an invariant; if the lots could not cover what the balance allowed,
	-- nothing of this batch is applied.
	IF taken <> used_total THEN
		RAISE EXCEPTION 'usage_apply: the lots do not cover the debit (balance and lots disagree)';
	END IF;
END
$$;
