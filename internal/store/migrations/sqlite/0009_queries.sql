-- Location queries: every attempt, refused ones included, with the
-- request, the policy decision and the risk that set its tier; their
-- approvals; their results (sealed, kept until their retention date); and
-- the per-case pseudonym keys and the devices each case has seen.
CREATE TABLE queries (
	id             INTEGER PRIMARY KEY,
	person_id      INTEGER NOT NULL REFERENCES people (id),
	employee_id    TEXT NOT NULL,
	component      TEXT NOT NULL,
	case_id        INTEGER REFERENCES cases (id),
	case_number    TEXT NOT NULL,
	source_id      INTEGER REFERENCES data_sources (id),
	source_name    TEXT NOT NULL,
	kind           TEXT NOT NULL,
	device         TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL CHECK (status IN ('refused', 'awaiting_approval', 'approved', 'rejected', 'expired', 'running', 'completed', 'withheld', 'failed')),
	tier           INTEGER NOT NULL DEFAULT 0,
	request        TEXT NOT NULL,
	request_digest TEXT NOT NULL,
	decision       TEXT NOT NULL DEFAULT '{}',
	risk           TEXT NOT NULL DEFAULT '{}',
	reasons        TEXT NOT NULL DEFAULT '[]',
	break_glass    INTEGER NOT NULL DEFAULT 0,
	result_count   INTEGER NOT NULL DEFAULT 0,
	result_digest  TEXT NOT NULL DEFAULT '',
	created_at     TIMESTAMP NOT NULL,
	updated_at     TIMESTAMP NOT NULL,
	completed_at   TIMESTAMP,
	purged_at      TIMESTAMP
);
CREATE INDEX queries_person ON queries (person_id, created_at);
CREATE INDEX queries_case ON queries (case_id, created_at);
CREATE INDEX queries_status ON queries (status, created_at);

CREATE TABLE query_approvals (
	id          INTEGER PRIMARY KEY,
	query_id    INTEGER NOT NULL REFERENCES queries (id),
	person_id   INTEGER NOT NULL REFERENCES people (id),
	employee_id TEXT NOT NULL,
	capacity    TEXT NOT NULL CHECK (capacity IN ('supervisor', 'privacy_officer')),
	decision    TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
	reason      TEXT NOT NULL DEFAULT '',
	decided_at  TIMESTAMP NOT NULL,
	UNIQUE (query_id, capacity)
);

-- body is the result's JSON sealed under the secrets key; digest is the
-- SHA-256 of the JSON, which the query's ledger entry commits to.
CREATE TABLE query_results (
	query_id     INTEGER PRIMARY KEY REFERENCES queries (id),
	body         BLOB NOT NULL,
	digest       TEXT NOT NULL,
	retain_until TIMESTAMP NOT NULL
);
CREATE INDEX query_results_retain ON query_results (retain_until);

CREATE TABLE case_keys (
	case_id    INTEGER PRIMARY KEY REFERENCES cases (id),
	sealed     BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL
);

-- The devices a case's results named: the pseudonym and the sealed source
-- identifier behind it, for device histories by pseudonym and unmasking.
CREATE TABLE case_devices (
	case_id        INTEGER NOT NULL REFERENCES cases (id),
	pseudonym      TEXT NOT NULL,
	source_id      INTEGER NOT NULL REFERENCES data_sources (id),
	sealed         BLOB NOT NULL,
	first_query_id INTEGER NOT NULL REFERENCES queries (id),
	retain_until   TIMESTAMP NOT NULL,
	PRIMARY KEY (case_id, pseudonym)
) WITHOUT ROWID;
CREATE INDEX case_devices_retain ON case_devices (retain_until);
