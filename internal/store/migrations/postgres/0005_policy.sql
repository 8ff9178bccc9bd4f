-- Policy: the versions of each policy set (the department floor, the
-- default component set, and components' own sets) with their workflow,
-- and the recorded inputs of policy decisions that impact analysis
-- replays.

-- Policy set versions. scope is 'department', 'default' or a component
-- code. A version is stored only once its text parses and validates; at
-- most one version of a scope is active.
CREATE TABLE policy_versions (
	id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope               text NOT NULL,
	version             integer NOT NULL,
	status              text NOT NULL,
	text                text NOT NULL,
	digest              text NOT NULL,
	limits              text,
	summary             text NOT NULL,
	permits             integer NOT NULL,
	forbids             integer NOT NULL,
	proposed_by         text NOT NULL,
	proposed_by_person  bigint NOT NULL DEFAULT 0,
	proposed_at         timestamptz NOT NULL,
	analysed_by         text NOT NULL DEFAULT '',
	analysed_at         timestamptz,
	base_department     bigint NOT NULL DEFAULT 0,
	base_scope          bigint NOT NULL DEFAULT 0,
	impact_days         bigint NOT NULL DEFAULT 0,
	impact_summary      text,
	impact              text,
	approved_by         text NOT NULL DEFAULT '',
	approved_by_person  bigint NOT NULL DEFAULT 0,
	approved_at         timestamptz,
	activated_by        text NOT NULL DEFAULT '',
	activated_at        timestamptz,
	superseded_at       timestamptz,
	rejected_by         text NOT NULL DEFAULT '',
	rejected_at         timestamptz,
	reject_reason       text NOT NULL DEFAULT '',
	UNIQUE (scope, version)
);
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (scope) WHERE status = 'active';
CREATE INDEX policy_versions_status ON policy_versions (status);

-- Refused workflow steps, kept with the version (the ledger records them
-- too).
CREATE TABLE policy_refusals (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	version_id bigint NOT NULL REFERENCES policy_versions (id),
	step       text NOT NULL,
	status     text NOT NULL,
	code       text NOT NULL,
	reason     text NOT NULL,
	actor      text NOT NULL,
	person_id  bigint NOT NULL DEFAULT 0,
	at         timestamptz NOT NULL
);
CREATE INDEX policy_refusals_version ON policy_refusals (version_id);

-- Recorded decisions: what each data-use decision was asked (its Cedar
-- input, as JSON) and answered, written in the transaction of the action
-- it decided. policies holds the determining policy IDs (a JSON array).
CREATE TABLE policy_decisions (
	id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	decided_at         timestamptz NOT NULL,
	person_id          bigint NOT NULL DEFAULT 0,
	actor              text NOT NULL,
	component          text NOT NULL,
	action             text NOT NULL,
	resource           text NOT NULL,
	input              text NOT NULL,
	allowed            boolean NOT NULL,
	policies           text NOT NULL,
	department_version bigint NOT NULL DEFAULT 0,
	component_version  bigint NOT NULL DEFAULT 0
);
CREATE INDEX policy_decisions_time ON policy_decisions (decided_at);
CREATE INDEX policy_decisions_component_time ON policy_decisions (component, decided_at);
