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
