-- Privacy compliance: the inventory of systems and data sources, Privacy
-- Threshold Analyses, Privacy Impact Assessments with every version and
-- every workflow step, and privacy compliance reviews. Whether a data
-- source may be used is never stored: the gate derives it.

-- Information systems, with their owner, security officer, FIPS 199 impact
-- level and authority to operate.
CREATE TABLE systems (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text NOT NULL,
	component   text NOT NULL REFERENCES components (code),
	owner_id    bigint NOT NULL REFERENCES people (id),
	isso_id     bigint NOT NULL REFERENCES people (id),
	impact      text NOT NULL,
	ato_granted timestamptz,
	ato_expires timestamptz,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	UNIQUE (component, name)
);

-- Data sources. credential_ref names where the connector credential is
-- kept (never the secret); a source is suspended while suspended_at is set.
CREATE TABLE data_sources (
	id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name                     text NOT NULL UNIQUE,
	title                    text NOT NULL,
	component                text NOT NULL REFERENCES components (code),
	system_id                bigint NOT NULL REFERENCES systems (id),
	vendor                   text NOT NULL,
	contract_number          text NOT NULL,
	contract_start           timestamptz,
	contract_end             timestamptz,
	categories               text NOT NULL,
	connector                text NOT NULL,
	rules_key                text NOT NULL,
	credential_ref           text NOT NULL DEFAULT '',
	credential_configured_at timestamptz,
	suspended_at             timestamptz,
	suspended_by             text NOT NULL DEFAULT '',
	suspended_reason         text NOT NULL DEFAULT '',
	created_at               timestamptz NOT NULL,
	updated_at               timestamptz NOT NULL
);
CREATE INDEX data_sources_component ON data_sources (component);
CREATE INDEX data_sources_system ON data_sources (system_id);

-- Privacy Threshold Analyses: the answers and the outcome they decided.
CREATE TABLE ptas (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject    text NOT NULL,
	component  text NOT NULL,
	answers    text NOT NULL,
	outcome    text NOT NULL,
	author_id  bigint NOT NULL REFERENCES people (id),
	created_at timestamptz NOT NULL
);
CREATE INDEX ptas_subject ON ptas (subject);

-- Privacy Impact Assessments, one per data source: the working copy's
-- status, its approval, and the version in force (effective_*).
CREATE TABLE pias (
	id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_id              bigint NOT NULL UNIQUE REFERENCES data_sources (id),
	component              text NOT NULL,
	title                  text NOT NULL,
	status                 text NOT NULL,
	version                bigint NOT NULL,
	cycle_start            bigint NOT NULL,
	submitted_version      bigint NOT NULL DEFAULT 0,
	submitted_at           timestamptz,
	submitted_by           bigint NOT NULL DEFAULT 0,
	approved_version       bigint NOT NULL DEFAULT 0,
	approved_by            bigint NOT NULL DEFAULT 0,
	approved_at            timestamptz,
	expires_at             timestamptz,
	effective_version      bigint NOT NULL DEFAULT 0,
	effective_approved_at  timestamptz,
	effective_expires_at   timestamptz,
	effective_published_at timestamptz,
	effective_prior        text NOT NULL DEFAULT '',
	update_required_at     timestamptz,
	update_reason          text NOT NULL DEFAULT '',
	created_at             timestamptz NOT NULL,
	updated_at             timestamptz NOT NULL
);
CREATE INDEX pias_component ON pias (component);

-- Every saved version of every PIA; never changed.
CREATE TABLE pia_versions (
	pia_id     bigint NOT NULL REFERENCES pias (id),
	version    bigint NOT NULL,
	document   text NOT NULL,
	digest     text NOT NULL,
	author_id  bigint NOT NULL REFERENCES people (id),
	note       text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	PRIMARY KEY (pia_id, version)
);

-- Every workflow step taken or refused.
CREATE TABLE pia_steps (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	pia_id      bigint NOT NULL REFERENCES pias (id),
	action      text NOT NULL,
	from_status text NOT NULL,
	to_status   text NOT NULL,
	version     bigint NOT NULL,
	actor       text NOT NULL,
	person_id   bigint NOT NULL DEFAULT 0,
	comments    text NOT NULL DEFAULT '',
	refused     text NOT NULL DEFAULT '',
	at          timestamptz NOT NULL
);
CREATE INDEX pia_steps_pia ON pia_steps (pia_id, id);

-- Privacy compliance reviews: tasks with due dates on a source or system.
CREATE TABLE pcrs (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject      text NOT NULL,
	component    text NOT NULL,
	title        text NOT NULL,
	assignee_id  bigint NOT NULL REFERENCES people (id),
	due_at       timestamptz NOT NULL,
	assigned_by  text NOT NULL,
	assigned_at  timestamptz NOT NULL,
	completed_at timestamptz,
	completed_by bigint NOT NULL DEFAULT 0,
	result       text NOT NULL DEFAULT '',
	findings     text NOT NULL DEFAULT ''
);
CREATE INDEX pcrs_open ON pcrs (due_at) WHERE completed_at IS NULL;
CREATE INDEX pcrs_subject ON pcrs (subject);
