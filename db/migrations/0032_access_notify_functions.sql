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
--> statement-breakpoint
-- hand-written: what the web processes' access cache reads (src/web/access-cache.ts) announces its changes.
CREATE TRIGGER users_access AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION access_notify('u', 'id');--> statement-breakpoint
CREATE TRIGGER memberships_access AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION access_notify('u', 'user_id');--> statement-breakpoint
CREATE TRIGGER agencies_access AFTER UPDATE OR DELETE ON agencies FOR EACH ROW EXECUTE FUNCTION access_notify('a', 'id');--> statement-breakpoint
CREATE TRIGGER sub_accounts_access AFTER UPDATE OR DELETE ON sub_accounts FOR EACH ROW EXECUTE FUNCTION access_notify('s', 'id');--> statement-breakpoint
CREATE TRIGGER platform_access AFTER UPDATE OR DELETE ON platform FOR EACH ROW EXECUTE FUNCTION access_notify('*', 'id');--> statement-breakpoint
CREATE TRIGGER representatives_access AFTER INSERT OR UPDATE OR DELETE ON representatives FOR EACH ROW EXECUTE FUNCTION access_notify('x', 'account_id');--> statement-breakpoint
CREATE TRIGGER channel_integrations_access AFTER INSERT OR UPDATE OR DELETE ON channel_integrations FOR EACH ROW EXECUTE FUNCTION access_notify('x', 'account_id');--> statement-breakpoint
CREATE TRIGGER users_access_truncate AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER memberships_access_truncate AFTER TRUNCATE ON memberships FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER agencies_access_truncate AFTER TRUNCATE ON agencies FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER sub_accounts_access_truncate AFTER TRUNCATE ON sub_accounts FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER platform_access_truncate AFTER TRUNCATE ON platform FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER representatives_access_truncate AFTER TRUNCATE ON representatives FOR EACH STATEMENT EXECUTE FUNCTION access_notify();--> statement-breakpoint
CREATE TRIGGER channel_integrations_access_truncate AFTER TRUNCATE ON channel_integrations FOR EACH STATEMENT EXECUTE FUNCTION access_notify();
