-- Policy: the versions of each policy set (the department floor, the
-- default component set, and components' own sets) with their workflow,
-- and the recorded inputs of policy decisions that impact analysis
-- replays.

-- Policy set versions. scope is 'department', 'default' or a component
-- code. A version is stored only once its text parses and validates; at
-- most one version of a scope is active.
CREATE TABLE policy_versions (
	id                  INTEGER PRIMARY KEY,
	scope               TEXT NOT NULL,
	version             INTEGER NOT NULL,
	status              TEXT NOT NULL,
	text                TEXT NOT NULL,
	digest              TEXT NOT NULL,
	limits              TEXT,
	summary             TEXT NOT NULL,
	permits             INTEGER NOT NULL,
	forbids             INTEGER NOT NULL,
	proposed_by         TEXT NOT NULL,
	proposed_by_person  INTEGER NOT NULL DEFAULT 0,
	proposed_at         TIMESTAMP NOT NULL,
	analysed_by         TEXT NOT NULL DEFAULT '',
	analysed_at         TIMESTAMP,
	base_department     INTEGER NOT NULL DEFAULT 0,
	base_scope          INTEGER NOT NULL DEFAULT 0,
	impact_days         INTEGER NOT NULL DEFAULT 0,
	impact_summary      TEXT,
	impact              TEXT,
	approved_by         TEXT NOT NULL DEFAULT '',
	approved_by_person  INTEGER NOT NULL DEFAULT 0,
	approved_at         TIMESTAMP,
	activated_by        TEXT NOT NULL DEFAULT '',
	activated_at        TIMESTAMP,
	superseded_at       TIMESTAMP,
	rejected_by         TEXT NOT NULL DEFAULT '',
	rejected_at         TIMESTAMP,
	reject_reason       TEXT NOT NULL DEFAULT '',
	UNIQUE (scope, version)
);
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (scope) WHERE status = 'active';
CREATE INDEX policy_versions_status ON policy_versions (status);

-- Refused workflow steps, kept with the version (the ledger records them
-- too).
CREATE TABLE policy_refusals (
	id         INTEGER PRIMARY KEY,
	version_id INTEGER NOT NULL REFERENCES policy_versions (id),
	step       TEXT NOT NULL,
	status     TEXT NOT NULL,
	code       TEXT NOT NULL,
	reason     TEXT NOT NULL,
	actor      TEXT NOT NULL,
	person_id  INTEGER NOT NULL DEFAULT 0,
	at         TIMESTAMP NOT NULL
);
CREATE INDEX policy_refusals_version ON policy_refusals (version_id);

-- Recorded decisions: what each data-use decision was asked (its Cedar
-- input, as JSON) and answered, written in the transaction of the action
-- it decided. policies holds the determining policy IDs (a JSON array).
CREATE TABLE policy_decisions (
	id                 INTEGER PRIMARY KEY,
	decided_at         TIMESTAMP NOT NULL,
	person_id          INTEGER NOT NULL DEFAULT 0,
	actor              TEXT NOT NULL,
	component          TEXT NOT NULL,
	action             TEXT NOT NULL,
	resource           TEXT NOT NULL,
	input              TEXT NOT NULL,
	allowed            BOOLEAN NOT NULL,
	policies           TEXT NOT NULL,
	department_version INTEGER NOT NULL DEFAULT 0,
	component_version  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX policy_decisions_time ON policy_decisions (decided_at);
CREATE INDEX policy_decisions_component_time ON policy_decisions (component, decided_at);
