-- The organization: components (tenants) of the department and their units.
CREATE TABLE components (
	code       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE units (
	id         INTEGER PRIMARY KEY,
	component  TEXT NOT NULL REFERENCES components (code),
	name       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	UNIQUE (component, name)
);

-- People: one row per named individual. Credentials live here too; the
-- TOTP seed is sealed under the secrets key, never stored in the clear.
CREATE TABLE people (
	id             INTEGER PRIMARY KEY,
	employee_id    TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	email          TEXT NOT NULL UNIQUE,
	component      TEXT REFERENCES components (code),
	unit_id        INTEGER REFERENCES units (id),
	supervisor_id  INTEGER REFERENCES people (id),
	schedule       TEXT NOT NULL,
	status         TEXT NOT NULL,
	status_reason  TEXT NOT NULL DEFAULT '',
	piv_subject    TEXT UNIQUE,
	piv_upn        TEXT UNIQUE,
	password_hash  TEXT,
	totp_sealed    BLOB,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	last_sign_in   TIMESTAMP,
	created_at     TIMESTAMP NOT NULL,
	updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX people_supervisor ON people (supervisor_id);
CREATE INDEX people_component ON people (component);

-- Role grants, each in one component or department-wide ('').
CREATE TABLE grants (
	id          INTEGER PRIMARY KEY,
	person_id   INTEGER NOT NULL REFERENCES people (id),
	role        TEXT NOT NULL,
	component   TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	granted_by  INTEGER NOT NULL DEFAULT 0,
	granted_at  TIMESTAMP NOT NULL,
	attested_at TIMESTAMP,
	ended_at    TIMESTAMP
);
CREATE UNIQUE INDEX grants_one_live ON grants (person_id, role, component) WHERE status <> 'revoked';

-- One-time enrolment links (invitations), stored hashed.
CREATE TABLE invitations (
	token_hash BLOB PRIMARY KEY,
	person_id  INTEGER NOT NULL REFERENCES people (id),
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	used_at    TIMESTAMP,
	created_by TEXT NOT NULL
);

CREATE TABLE recovery_codes (
	person_id INTEGER NOT NULL REFERENCES people (id),
	code_hash BLOB NOT NULL,
	used_at   TIMESTAMP,
	PRIMARY KEY (person_id, code_hash)
);

-- Server-side sessions, keyed by a hash of the cookie's secret.
CREATE TABLE sessions (
	id_hash      BLOB PRIMARY KEY,
	ref          TEXT NOT NULL UNIQUE,
	person_id    INTEGER NOT NULL REFERENCES people (id),
	method       TEXT NOT NULL,
	stage        TEXT NOT NULL,
	addr         TEXT NOT NULL,
	user_agent   TEXT NOT NULL,
	created_at   TIMESTAMP NOT NULL,
	last_seen_at TIMESTAMP NOT NULL,
	expires_at   TIMESTAMP NOT NULL,
	ended_at     TIMESTAMP,
	end_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person ON sessions (person_id) WHERE ended_at IS NULL;

-- Personal API tokens, stored hashed; shown once.
CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	person_id    INTEGER NOT NULL REFERENCES people (id),
	name         TEXT NOT NULL,
	token_hash   BLOB NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	created_at   TIMESTAMP NOT NULL,
	expires_at   TIMESTAMP NOT NULL,
	last_used_at TIMESTAMP,
	revoked_at   TIMESTAMP
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

-- Failed sign-in counters, per account and per client address.
CREATE TABLE auth_throttle (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start TIMESTAMP NOT NULL,
	locked_until TIMESTAMP
);

CREATE TABLE sign_ins (
	id         INTEGER PRIMARY KEY,
	person_id  INTEGER NOT NULL REFERENCES people (id),
	at         TIMESTAMP NOT NULL,
	addr       TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	method     TEXT NOT NULL
);
CREATE INDEX sign_ins_person_at ON sign_ins (person_id, at);

-- Evidence that an account may be shared; misuse detection turns these
-- into alerts.
CREATE TABLE shared_use_signals (
	id          INTEGER PRIMARY KEY,
	person_id   INTEGER NOT NULL REFERENCES people (id),
	at          TIMESTAMP NOT NULL,
	kind        TEXT NOT NULL,
	explanation TEXT NOT NULL,
	evidence    TEXT NOT NULL
);

-- Rules of behavior, every version kept, and acknowledgements.
CREATE TABLE rules (
	id           INTEGER PRIMARY KEY,
	key          TEXT NOT NULL,
	version      INTEGER NOT NULL,
	title        TEXT NOT NULL,
	body         TEXT NOT NULL,
	published_at TIMESTAMP NOT NULL,
	published_by INTEGER NOT NULL,
	UNIQUE (key, version)
);

CREATE TABLE rule_acks (
	person_id INTEGER NOT NULL REFERENCES people (id),
	key       TEXT NOT NULL,
	version   INTEGER NOT NULL,
	acked_at  TIMESTAMP NOT NULL,
	PRIMARY KEY (person_id, key, version)
);

CREATE TABLE courses (
	code         TEXT PRIMARY KEY,
	title        TEXT NOT NULL,
	valid_months INTEGER NOT NULL,
	required_for TEXT NOT NULL
);

CREATE TABLE trainings (
	id           INTEGER PRIMARY KEY,
	person_id    INTEGER NOT NULL REFERENCES people (id),
	course       TEXT NOT NULL REFERENCES courses (code),
	completed_at TIMESTAMP NOT NULL,
	expires_at   TIMESTAMP NOT NULL,
	recorded_by  INTEGER NOT NULL,
	recorded_at  TIMESTAMP NOT NULL
);
CREATE INDEX trainings_person ON trainings (person_id);

-- Recertification campaigns and the grants each must recertify.
CREATE TABLE campaigns (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	started_at TIMESTAMP NOT NULL,
	due_at     TIMESTAMP NOT NULL,
	closed_at  TIMESTAMP,
	started_by TEXT NOT NULL
);

CREATE TABLE campaign_items (
	id          INTEGER PRIMARY KEY,
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
	grant_id    INTEGER NOT NULL REFERENCES grants (id),
	person_id   INTEGER NOT NULL REFERENCES people (id),
	attester_id INTEGER,
	decision    TEXT NOT NULL,
	decided_by  INTEGER,
	decided_at  TIMESTAMP,
	UNIQUE (campaign_id, grant_id)
);
CREATE INDEX campaign_items_attester ON campaign_items (attester_id);

-- Single sign-on logins in progress (state, nonce and PKCE verifier).
CREATE TABLE oidc_logins (
	state_hash BLOB PRIMARY KEY,
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	return_to  TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL
);
