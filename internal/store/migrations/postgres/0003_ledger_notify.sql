-- Appends no longer send NOTIFY from a trigger. A transaction that has sent
-- a notification holds a database-wide lock from its commit until the commit
-- is flushed, so concurrent appends committed one at a time: 16 writers were
-- no faster than one. The appending process now wakes the sequencer after
-- its commits instead (see pendingNotifier in ledger_postgres.go).
DROP TRIGGER ledger_pending_notify ON ledger_pending;
DROP FUNCTION probity_ledger_pending_notify();
