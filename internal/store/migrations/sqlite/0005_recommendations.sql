-- The compliance program's recommendation tracker: audit reports (an
-- inspector general's, GAO's, an internal audit's) and their
-- recommendations, with the policies, controls and evidence linked to each
-- and the history of their status. Dates that are days, not instants (a
-- report's date, a target date) are kept as YYYY-MM-DD text.
CREATE TABLE audit_reports (
	id         INTEGER PRIMARY KEY,
	issuer     TEXT NOT NULL CHECK (issuer IN ('inspector_general', 'gao', 'internal')),
	number     TEXT NOT NULL,
	title      TEXT NOT NULL,
	issued_on  TEXT NOT NULL CHECK (length(issued_on) = 10),
	url        TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL
);
-- One report per issuer and number, whatever the case.
CREATE UNIQUE INDEX audit_reports_number ON audit_reports (issuer, upper(number));

-- owner_component is NULL for the department's own recommendations.
CREATE TABLE recommendations (
	id              INTEGER PRIMARY KEY,
	report_id       INTEGER NOT NULL REFERENCES audit_reports (id),
	number          TEXT NOT NULL,
	text            TEXT NOT NULL,
	owner_component TEXT REFERENCES components (code),
	owner_id        INTEGER NOT NULL REFERENCES people (id),
	status          TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'closed')),
	target_on       TEXT CHECK (target_on IS NULL OR length(target_on) = 10),
	resolved_on     TEXT,
	resolution_note TEXT NOT NULL DEFAULT '',
	resolved_by     TEXT NOT NULL DEFAULT '',
	resolved_at     TIMESTAMP,
	closed_on       TEXT,
	closure_note    TEXT NOT NULL DEFAULT '',
	closed_by       TEXT NOT NULL DEFAULT '',
	closed_at       TIMESTAMP,
	version         INTEGER NOT NULL DEFAULT 1,
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	CHECK ((status = 'open') = (resolved_at IS NULL)),
	CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX recommendations_number ON recommendations (report_id, upper(number));
CREATE INDEX recommendations_component ON recommendations (owner_component, status);
CREATE INDEX recommendations_owner ON recommendations (owner_id);

-- What answers a recommendation: typed references (policy, control,
-- evidence) to things Probity or others hold. Removing a link deletes it
-- here; the ledger keeps that it existed.
CREATE TABLE recommendation_links (
	id                INTEGER PRIMARY KEY,
	recommendation_id INTEGER NOT NULL REFERENCES recommendations (id),
	kind              TEXT NOT NULL CHECK (kind IN ('policy', 'control', 'evidence')),
	ref               TEXT NOT NULL,
	note              TEXT NOT NULL DEFAULT '',
	added_at          TIMESTAMP NOT NULL,
	added_by          TEXT NOT NULL,
	UNIQUE (recommendation_id, kind, ref)
);

-- Every status step, for the recommendation's history, and every one
-- refused (for the wrong role, or out of order): refused says why, and the
-- status stays as it was.
CREATE TABLE recommendation_steps (
	id                INTEGER PRIMARY KEY,
	recommendation_id INTEGER NOT NULL REFERENCES recommendations (id),
	action            TEXT NOT NULL CHECK (action IN ('resolved', 'closed', 'reopened')),
	from_status       TEXT NOT NULL,
	to_status         TEXT NOT NULL,
	on_date           TEXT,
	note              TEXT NOT NULL,
	refused           TEXT NOT NULL DEFAULT '',
	by_actor          TEXT NOT NULL,
	recorded_at       TIMESTAMP NOT NULL
);
CREATE INDEX recommendation_steps_rec ON recommendation_steps (recommendation_id, id);
