-- credit_lots_take: the source of this database function. Migrations are made from this file
-- (npm run db:function -- credit_lots_take); test/db/functions.test.ts fails when the
-- database's function differs from it.
--
-- The FIFO rule of the credit ledger, the only place it is written: takes p_amount credits from
-- the account's live lots (remaining > 0), the lot that expires first, then the oldest, lots
-- without expiry last; ties by created_at, then id (byte order). Lowers credit_lots.remaining and
-- returns what it took from each lot, in that order. Raises (and takes nothing) if the lots do not
-- cover the amount. It writes neither credit_ledger nor credit_accounts: the caller holds the
-- account's lock, sweeps expired lots first and writes the entry and the balance (src/credits:
-- debitAccount, writeCreditMovements; usage_apply).
CREATE OR REPLACE FUNCTION credit_lots_take(p_account text, p_amount bigint)
RETURNS TABLE(lot_id text, taken bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
	ids text[];
	takes bigint[];
	total bigint;
BEGIN
	IF p_amount IS NULL OR p_amount < 0 THEN
		RAISE EXCEPTION 'credit_lots_take: amount % is not a non-negative number of credits', p_amount;
	END IF;
	IF p_amount = 0 THEN
		RETURN;
	END IF;
	WITH f AS (
		SELECT l.ctid AS tid, l.remaining,
			sum(l.remaining) OVER (ORDER BY l.expires_at NULLS LAST, l.created_at, l.id COLLATE "C") AS cum
		FROM credit_lots l WHERE l.account_id = p_account AND l.remaining > 0
	), t AS (
		UPDATE credit_lots l SET remaining = f.remaining - least(f.remaining, p_amount - (f.cum - f.remaining))
		FROM f
		WHERE l.ctid = f.tid AND f.cum - f.remaining < p_amount
		RETURNING l.id, f.remaining - l.remaining AS took, f.cum
	)
	SELECT array_agg(t.id ORDER BY t.cum), array_agg(t.took ORDER BY t.cum), coalesce(sum(t.took), 0)
	INTO ids, takes, total FROM t;
	IF total <> p_amount THEN
		RAISE EXCEPTION 'credit_lots_take: the lots of account % hold % of the % credits to take', p_account, total, p_amount;
	END IF;
	RETURN QUERY SELECT * FROM unnest(ids, takes);
END
$$;
