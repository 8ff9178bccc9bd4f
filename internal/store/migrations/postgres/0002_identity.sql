-- The organization: components (tenants) of the department and their units.
CREATE TABLE components (
	code       text PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE units (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	component  text NOT NULL REFERENCES components (code),
	name       text NOT NULL,
	created_at timestamptz NOT NULL,
	UNIQUE (component, name)
);

-- People: one row per named individual. Credentials live here too; the
-- TOTP seed is sealed under the secrets key, never stored in the clear.
CREATE TABLE people (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	employee_id    text NOT NULL UNIQUE,
	name           text NOT NULL,
	email          text NOT NULL UNIQUE,
	component      text REFERENCES components (code),
	unit_id        bigint REFERENCES units (id),
	supervisor_id  bigint REFERENCES people (id),
	schedule       text NOT NULL,
	status         text NOT NULL,
	status_reason  text NOT NULL DEFAULT '',
	piv_subject    text UNIQUE,
	piv_upn        text UNIQUE,
	password_hash  text,
	totp_sealed    bytea,
	totp_last_step bigint NOT NULL DEFAULT 0,
	last_sign_in   timestamptz,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL
);
CREATE INDEX people_supervisor ON people (supervisor_id);
CREATE INDEX people_component ON people (component);

-- Role grants, each in one component or department-wide ('').
CREATE TABLE grants (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id   bigint NOT NULL REFERENCES people (id),
	role        text NOT NULL,
	component   text NOT NULL DEFAULT '',
	status      text NOT NULL,
	granted_by  bigint NOT NULL DEFAULT 0,
	granted_at  timestamptz NOT NULL,
	attested_at timestamptz,
	ended_at    timestamptz
);
CREATE UNIQUE INDEX grants_one_live ON grants (person_id, role, component) WHERE status <> 'revoked';

-- One-time enrolment links (invitations), stored hashed.
CREATE TABLE invitations (
	token_hash bytea PRIMARY KEY,
	person_id  bigint NOT NULL REFERENCES people (id),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	created_by text NOT NULL
);

CREATE TABLE recovery_codes (
	person_id bigint NOT NULL REFERENCES people (id),
	code_hash bytea NOT NULL,
	used_at   timestamptz,
	PRIMARY KEY (person_id, code_hash)
);

-- Server-side sessions, keyed by a hash of the cookie's secret.
CREATE TABLE sessions (
	id_hash      bytea PRIMARY KEY,
	ref          text NOT NULL UNIQUE,
	person_id    bigint NOT NULL REFERENCES people (id),
	method       text NOT NULL,
	stage        text NOT NULL,
	addr         text NOT NULL,
	user_agent   text NOT NULL,
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	ended_at     timestamptz,
	end_reason   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person ON sessions (person_id) WHERE ended_at IS NULL;

-- Personal API tokens, stored hashed; shown once.
CREATE TABLE api_tokens (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id    bigint NOT NULL REFERENCES people (id),
	name         text NOT NULL,
	token_hash   bytea NOT NULL UNIQUE,
	scopes       text NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

-- Failed sign-in counters, per account and per client address.
CREATE TABLE auth_throttle (
	key          text PRIMARY KEY,
	failures     bigint NOT NULL,
	window_start timestamptz NOT NULL,
	locked_until timestamptz
);

CREATE TABLE sign_ins (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id  bigint NOT NULL REFERENCES people (id),
	at         timestamptz NOT NULL,
	addr       text NOT NULL,
	user_agent text NOT NULL,
	method     text NOT NULL
);
CREATE INDEX sign_ins_person_at ON sign_ins (person_id, at);

-- Evidence that an account may be shared; misuse detection turns these
-- into alerts.
CREATE TABLE shared_use_signals (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id   bigint NOT NULL REFERENCES people (id),
	at          timestamptz NOT NULL,
	kind        text NOT NULL,
	explanation text NOT NULL,
	evidence    text NOT NULL
);

-- Rules of behavior, every version kept, and acknowledgements.
CREATE TABLE rules (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key          text NOT NULL,
	version      bigint NOT NULL,
	title        text NOT NULL,
	body         text NOT NULL,
	published_at timestamptz NOT NULL,
	published_by bigint NOT NULL,
	UNIQUE (key, version)
);

CREATE TABLE rule_acks (
	person_id bigint NOT NULL REFERENCES people (id),
	key       text NOT NULL,
	version   bigint NOT NULL,
	acked_at  timestamptz NOT NULL,
	PRIMARY KEY (person_id, key, version)
);

CREATE TABLE courses (
	code         text PRIMARY KEY,
	title        text NOT NULL,
	valid_months bigint NOT NULL,
	required_for text NOT NULL
);

CREATE TABLE trainings (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id    bigint NOT NULL REFERENCES people (id),
	course       text NOT NULL REFERENCES courses (code),
	completed_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	recorded_by  bigint NOT NULL,
	recorded_at  timestamptz NOT NULL
);
CREATE INDEX trainings_person ON trainings (person_id);

-- Recertification campaigns and the grants each must recertify.
CREATE TABLE campaigns (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text NOT NULL,
	started_at timestamptz NOT NULL,
	due_at     timestamptz NOT NULL,
	closed_at  timestamptz,
	started_by text NOT NULL
);

CREATE TABLE campaign_items (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	campaign_id bigint NOT NULL REFERENCES campaigns (id),
	grant_id    bigint NOT NULL REFERENCES grants (id),
	person_id   bigint NOT NULL REFERENCES people (id),
	attester_id bigint,
	decision    text NOT NULL,
	decided_by  bigint,
	decided_at  timestamptz,
	UNIQUE (campaign_id, grant_id)
);
CREATE INDEX campaign_items_attester ON campaign_items (attester_id);

-- Single sign-on logins in progress (state, nonce and PKCE verifier).
CREATE TABLE oidc_logins (
	state_hash bytea PRIMARY KEY,
	nonce      text NOT NULL,
	verifier   text NOT NULL,
	return_to  text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
