-- Cases: the purpose every query of location data serves. A case belongs
-- to a component (its number starts with the component's code); its
-- members, its legal process and the history of its status are kept in
-- tables of their own. Dates that are days, not instants (when legal
-- process was issued and expires) are kept as YYYY-MM-DD text.
CREATE TABLE cases (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	number          text NOT NULL UNIQUE,
	title           text NOT NULL,
	legal_authority text NOT NULL,
	predicate       text NOT NULL,
	status          text NOT NULL CHECK (status IN ('open', 'suspended', 'closed')),
	status_reason   text NOT NULL DEFAULT '',
	component       text NOT NULL REFERENCES components (code),
	unit_id         bigint REFERENCES units (id),
	evidence_hold   boolean NOT NULL DEFAULT FALSE,
	hold_reason     text NOT NULL DEFAULT '',
	hold_changed_at timestamptz,
	hold_changed_by text NOT NULL DEFAULT '',
	created_by      text NOT NULL,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	closed_at       timestamptz,
	CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX cases_component ON cases (component, status);
-- The retention job looks for closed cases whose grace period has ended.
CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;

-- Who is, and was, assigned to a case: a removed member's row stays, with
-- when and by whom they were removed.
CREATE TABLE case_members (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id    bigint NOT NULL REFERENCES cases (id),
	person_id  bigint NOT NULL REFERENCES people (id),
	added_at   timestamptz NOT NULL,
	added_by   text NOT NULL,
	removed_at timestamptz,
	removed_by text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX case_members_current ON case_members (case_id, person_id) WHERE removed_at IS NULL;
CREATE INDEX case_members_person ON case_members (person_id) WHERE removed_at IS NULL;

-- Warrants, court orders and subpoenas obtained for a case.
CREATE TABLE case_legal_process (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id    bigint NOT NULL REFERENCES cases (id),
	kind       text NOT NULL CHECK (kind IN ('warrant', 'court_order', 'subpoena')),
	reference  text NOT NULL,
	issued_on  text NOT NULL CHECK (length(issued_on) = 10),
	expires_on text CHECK (expires_on IS NULL OR length(expires_on) = 10),
	added_at   timestamptz NOT NULL,
	added_by   text NOT NULL,
	UNIQUE (case_id, reference)
);

-- Every change of a case's status, its opening included (from_status '').
CREATE TABLE case_status_history (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id     bigint NOT NULL REFERENCES cases (id),
	from_status text NOT NULL,
	to_status   text NOT NULL,
	reason      text NOT NULL,
	changed_by  text NOT NULL,
	changed_at  timestamptz NOT NULL
);
CREATE INDEX case_status_history_case ON case_status_history (case_id);
