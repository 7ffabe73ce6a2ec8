-- credit_accounts_kept: the source of this database function. Migrations are made from this file
-- (npm run db:function -- credit_accounts_kept); test/db/functions.test.ts fails when the database's
-- function differs from it.
CREATE OR REPLACE FUNCTION credit_accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'credit account "%" cannot be deleted or renamed: the ledger refers to it', OLD.id
		USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
END
$$;
