-- Cases: the purpose every query of location data serves. A case belongs
-- to a component (its number starts with the component's code); its
-- members, its legal process and the history of its status are kept in
-- tables of their own. Dates that are days, not instants (when legal
-- process was issued and expires) are kept as YYYY-MM-DD text.
CREATE TABLE cases (
	id              INTEGER PRIMARY KEY,
	number          TEXT NOT NULL UNIQUE,
	title           TEXT NOT NULL,
	legal_authority TEXT NOT NULL,
	predicate       TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('open', 'suspended', 'closed')),
	status_reason   TEXT NOT NULL DEFAULT '',
	component       TEXT NOT NULL REFERENCES components (code),
	unit_id         INTEGER REFERENCES units (id),
	evidence_hold   BOOLEAN NOT NULL DEFAULT FALSE,
	hold_reason     TEXT NOT NULL DEFAULT '',
	hold_changed_at TIMESTAMP,
	hold_changed_by TEXT NOT NULL DEFAULT '',
	created_by      TEXT NOT NULL,
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	closed_at       TIMESTAMP,
	CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX cases_component ON cases (component, status);
-- The retention job looks for closed cases whose grace period has ended.
CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;

-- Who is, and was, assigned to a case: a removed member's row stays, with
-- when and by whom they were removed.
CREATE TABLE case_members (
	id         INTEGER PRIMARY KEY,
	case_id    INTEGER NOT NULL REFERENCES cases (id),
	person_id  INTEGER NOT NULL REFERENCES people (id),
	added_at   TIMESTAMP NOT NULL,
	added_by   TEXT NOT NULL,
	removed_at TIMESTAMP,
	removed_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX case_members_current ON case_members (case_id, person_id) WHERE removed_at IS NULL;
CREATE INDEX case_members_person ON case_members (person_id) WHERE removed_at IS NULL;

-- Warrants, court orders and subpoenas obtained for a case.
CREATE TABLE case_legal_process (
	id         INTEGER PRIMARY KEY,
	case_id    INTEGER NOT NULL REFERENCES cases (id),
	kind       TEXT NOT NULL CHECK (kind IN ('warrant', 'court_order', 'subpoena')),
	reference  TEXT NOT NULL,
	issued_on  TEXT NOT NULL CHECK (length(issued_on) = 10),
	expires_on TEXT CHECK (expires_on IS NULL OR length(expires_on) = 10),
	added_at   TIMESTAMP NOT NULL,
	added_by   TEXT NOT NULL,
	UNIQUE (case_id, reference)
);

-- Every change of a case's status, its opening included (from_status '').
CREATE TABLE case_status_history (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	changed_by  TEXT NOT NULL,
	changed_at  TIMESTAMP NOT NULL
);
CREATE INDEX case_status_history_case ON case_status_history (case_id);
