-- Processes cache API keys (src/api-keys/key-cache.ts). A change that can alter what a key
-- authenticates as (revoked, re-hashed, moved, deleted) is announced to every process on the
-- channel kontor_api_keys with the key's id; touching last_used_at is not.
CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('kontor_api_keys', OLD.id);
	RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER api_keys_changed AFTER UPDATE ON api_keys FOR EACH ROW
	WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.key_hash IS DISTINCT FROM NEW.key_hash
		OR OLD.scope IS DISTINCT FROM NEW.scope OR OLD.agency_id IS DISTINCT FROM NEW.agency_id
		OR OLD.sub_account_id IS DISTINCT FROM NEW.sub_account_id)
	EXECUTE FUNCTION api_keys_notify();--> statement-breakpoint
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_notify();
