-- The naive per-event debit, run by pgbench as the baseline of bench/usage.ts: lock and update
-- the balance, append a ledger row, commit. -D naccounts=1 is one hot row; 10000 spreads them.
\set aid random(1, :naccounts)
BEGIN;
UPDATE naive_accounts SET balance = balance - 1 WHERE id = :aid RETURNING balance AS bal \gset
INSERT INTO naive_ledger (account_id, delta, balance_after, reason, reference) VALUES (:aid, -1, :bal, 'consume', 'conversation');
COMMIT;
