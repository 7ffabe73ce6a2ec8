-- hand-written: a web process caches each session's row (src/web/session-store.ts, docs/decisions.md);
-- every update or deletion of a row, by any process, is announced at commit on kontor_access as
-- `sid:<id>` (a flash message written, a sign-out, a password change ending the other sessions, the
-- pruning of expired ones), a truncation as `*`. Insertions need no announcement: a session not found
-- is never cached.
CREATE TRIGGER sessions_access AFTER UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION access_notify('sid', 'sid');--> statement-breakpoint
CREATE TRIGGER sessions_access_truncate AFTER TRUNCATE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION access_notify();
