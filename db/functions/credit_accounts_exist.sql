-- credit_accounts_exist: the source of this database function. Migrations are made from this file
-- (npm run db:function -- credit_accounts_exist); test/db/functions.test.ts fails when the database's
-- function differs from it.
CREATE OR REPLACE FUNCTION credit_accounts_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	missing text;
BEGIN
	SELECT n.account_id INTO missing FROM (SELECT DISTINCT account_id FROM written) n
	WHERE NOT EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = n.account_id) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'insert or update on table "%" violates the account rule: credit account "%" does not exist', TG_TABLE_NAME, missing
			USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
	END IF;
	RETURN NULL;
END
$$;
