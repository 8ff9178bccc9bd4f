-- Location queries: every attempt, refused ones included, with the
-- request, the policy decision and the risk that set its tier; their
-- approvals; their results (sealed, kept until their retention date); and
-- the per-case pseudonym keys and the devices each case has seen.
CREATE TABLE queries (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id      bigint NOT NULL REFERENCES people (id),
	employee_id    text NOT NULL,
	component      text NOT NULL,
	case_id        bigint REFERENCES cases (id),
	case_number    text NOT NULL,
	source_id      bigint REFERENCES data_sources (id),
	source_name    text NOT NULL,
	kind           text NOT NULL,
	device         text NOT NULL DEFAULT '',
	status         text NOT NULL CHECK (status IN ('refused', 'awaiting_approval', 'approved', 'rejected', 'expired', 'running', 'completed', 'withheld', 'failed')),
	tier           bigint NOT NULL DEFAULT 0,
	request        text NOT NULL,
	request_digest text NOT NULL,
	decision       text NOT NULL DEFAULT '{}',
	risk           text NOT NULL DEFAULT '{}',
	reasons        text NOT NULL DEFAULT '[]',
	break_glass    boolean NOT NULL DEFAULT false,
	result_count   bigint NOT NULL DEFAULT 0,
	result_digest  text NOT NULL DEFAULT '',
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	completed_at   timestamptz,
	purged_at      timestamptz
);
CREATE INDEX queries_person ON queries (person_id, created_at);
CREATE INDEX queries_case ON queries (case_id, created_at);
CREATE INDEX queries_status ON queries (status, created_at);

CREATE TABLE query_approvals (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	query_id    bigint NOT NULL REFERENCES queries (id),
	person_id   bigint NOT NULL REFERENCES people (id),
	employee_id text NOT NULL,
	capacity    text NOT NULL CHECK (capacity IN ('supervisor', 'privacy_officer')),
	decision    text NOT NULL CHECK (decision IN ('approved', 'rejected')),
	reason      text NOT NULL DEFAULT '',
	decided_at  timestamptz NOT NULL,
	UNIQUE (query_id, capacity)
);

-- body is the result's JSON sealed under the secrets key; digest is the
-- SHA-256 of the JSON, which the query's ledger entry commits to.
CREATE TABLE query_results (
	query_id     bigint PRIMARY KEY REFERENCES queries (id),
	body         bytea NOT NULL,
	digest       text NOT NULL,
	retain_until timestamptz NOT NULL
);
CREATE INDEX query_results_retain ON query_results (retain_until);

CREATE TABLE case_keys (
	case_id    bigint PRIMARY KEY REFERENCES cases (id),
	sealed     bytea NOT NULL,
	created_at timestamptz NOT NULL
);

-- The devices a case's results named: the pseudonym and the sealed source
-- identifier behind it, for device histories by pseudonym and unmasking.
CREATE TABLE case_devices (
	case_id        bigint NOT NULL REFERENCES cases (id),
	pseudonym      text NOT NULL,
	source_id      bigint NOT NULL REFERENCES data_sources (id),
	sealed         bytea NOT NULL,
	first_query_id bigint NOT NULL REFERENCES queries (id),
	retain_until   timestamptz NOT NULL,
	PRIMARY KEY (case_id, pseudonym)
);
CREATE INDEX case_devices_retain ON case_devices (retain_until);
