-- Privacy compliance: the inventory of systems and data sources, Privacy
-- Threshold Analyses, Privacy Impact Assessments with every version and
-- every workflow step, and privacy compliance reviews. Whether a data
-- source may be used is never stored: the gate derives it.

-- Information systems, with their owner, security officer, FIPS 199 impact
-- level and authority to operate.
CREATE TABLE systems (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	component   TEXT NOT NULL REFERENCES components (code),
	owner_id    INTEGER NOT NULL REFERENCES people (id),
	isso_id     INTEGER NOT NULL REFERENCES people (id),
	impact      TEXT NOT NULL,
	ato_granted TIMESTAMP,
	ato_expires TIMESTAMP,
	created_at  TIMESTAMP NOT NULL,
	updated_at  TIMESTAMP NOT NULL,
	UNIQUE (component, name)
);

-- Data sources. credential_ref names where the connector credential is
-- kept (never the secret); a source is suspended while suspended_at is set.
CREATE TABLE data_sources (
	id                       INTEGER PRIMARY KEY,
	name                     TEXT NOT NULL UNIQUE,
	title                    TEXT NOT NULL,
	component                TEXT NOT NULL REFERENCES components (code),
	system_id                INTEGER NOT NULL REFERENCES systems (id),
	vendor                   TEXT NOT NULL,
	contract_number          TEXT NOT NULL,
	contract_start           TIMESTAMP,
	contract_end             TIMESTAMP,
	categories               TEXT NOT NULL,
	connector                TEXT NOT NULL,
	rules_key                TEXT NOT NULL,
	credential_ref           TEXT NOT NULL DEFAULT '',
	credential_configured_at TIMESTAMP,
	suspended_at             TIMESTAMP,
	suspended_by             TEXT NOT NULL DEFAULT '',
	suspended_reason         TEXT NOT NULL DEFAULT '',
	created_at               TIMESTAMP NOT NULL,
	updated_at               TIMESTAMP NOT NULL
);
CREATE INDEX data_sources_component ON data_sources (component);
CREATE INDEX data_sources_system ON data_sources (system_id);

-- Privacy Threshold Analyses: the answers and the outcome they decided.
CREATE TABLE ptas (
	id         INTEGER PRIMARY KEY,
	subject    TEXT NOT NULL,
	component  TEXT NOT NULL,
	answers    TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	author_id  INTEGER NOT NULL REFERENCES people (id),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX ptas_subject ON ptas (subject);

-- Privacy Impact Assessments, one per data source: the working copy's
-- status, its approval, and the version in force (effective_*).
CREATE TABLE pias (
	id                     INTEGER PRIMARY KEY,
	source_id              INTEGER NOT NULL UNIQUE REFERENCES data_sources (id),
	component              TEXT NOT NULL,
	title                  TEXT NOT NULL,
	status                 TEXT NOT NULL,
	version                INTEGER NOT NULL,
	cycle_start            INTEGER NOT NULL,
	submitted_version      INTEGER NOT NULL DEFAULT 0,
	submitted_at           TIMESTAMP,
	submitted_by           INTEGER NOT NULL DEFAULT 0,
	approved_version       INTEGER NOT NULL DEFAULT 0,
	approved_by            INTEGER NOT NULL DEFAULT 0,
	approved_at            TIMESTAMP,
	expires_at             TIMESTAMP,
	effective_version      INTEGER NOT NULL DEFAULT 0,
	effective_approved_at  TIMESTAMP,
	effective_expires_at   TIMESTAMP,
	effective_published_at TIMESTAMP,
	effective_prior        TEXT NOT NULL DEFAULT '',
	update_required_at     TIMESTAMP,
	update_reason          TEXT NOT NULL DEFAULT '',
	created_at             TIMESTAMP NOT NULL,
	updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX pias_component ON pias (component);

-- Every saved version of every PIA; never changed.
CREATE TABLE pia_versions (
	pia_id     INTEGER NOT NULL REFERENCES pias (id),
	version    INTEGER NOT NULL,
	document   TEXT NOT NULL,
	digest     TEXT NOT NULL,
	author_id  INTEGER NOT NULL REFERENCES people (id),
	note       TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (pia_id, version)
);

-- Every workflow step taken or refused.
CREATE TABLE pia_steps (
	id          INTEGER PRIMARY KEY,
	pia_id      INTEGER NOT NULL REFERENCES pias (id),
	action      TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	version     INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	person_id   INTEGER NOT NULL DEFAULT 0,
	comments    TEXT NOT NULL DEFAULT '',
	refused     TEXT NOT NULL DEFAULT '',
	at          TIMESTAMP NOT NULL
);
CREATE INDEX pia_steps_pia ON pia_steps (pia_id, id);

-- Privacy compliance reviews: tasks with due dates on a source or system.
CREATE TABLE pcrs (
	id           INTEGER PRIMARY KEY,
	subject      TEXT NOT NULL,
	component    TEXT NOT NULL,
	title        TEXT NOT NULL,
	assignee_id  INTEGER NOT NULL REFERENCES people (id),
	due_at       TIMESTAMP NOT NULL,
	assigned_by  TEXT NOT NULL,
	assigned_at  TIMESTAMP NOT NULL,
	completed_at TIMESTAMP,
	completed_by INTEGER NOT NULL DEFAULT 0,
	result       TEXT NOT NULL DEFAULT '',
	findings     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pcrs_open ON pcrs (due_at) WHERE completed_at IS NULL;
CREATE INDEX pcrs_subject ON pcrs (subject);
