-- api_keys_notify: the source of this database function. Migrations are made from this file
-- (npm run db:function -- api_keys_notify); test/db/functions.test.ts fails when the database's
-- function differs from it.
CREATE OR REPLACE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('kontor_api_keys', OLD.id);
	RETURN NULL;
END
$$;
