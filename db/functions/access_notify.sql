-- access_notify: the source of this database function. Migrations are made from this file
-- (npm run db:function -- access_notify); test/db/functions.test.ts fails when the database's
-- function differs from it.
--
-- Web processes cache who a session is and whether its account may be served (src/web/access-cache.ts).
-- Every change to what those answers are read from is announced on the channel kontor_access, sent
-- at commit to every process: `<tag>:<id>` for one row (TG_ARGV[0] is the tag, TG_ARGV[1] the column
-- holding the id; the old and the new row's ids both), `*` (drop everything) for a truncation or a
-- tag of `*`.
CREATE OR REPLACE FUNCTION access_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' OR TG_ARGV[0] = '*' THEN
		PERFORM pg_notify('kontor_access', '*');
		RETURN NULL;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM pg_notify('kontor_access', coalesce(TG_ARGV[0] || ':' || (to_jsonb(NEW) ->> TG_ARGV[1]), '*'));
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM pg_notify('kontor_access', coalesce(TG_ARGV[0] || ':' || (to_jsonb(OLD) ->> TG_ARGV[1]), '*'));
	END IF;
	RETURN NULL;
END
$$;
