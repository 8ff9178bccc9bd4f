-- The compliance program's recommendation tracker: audit reports (an
-- inspector general's, GAO's, an internal audit's) and their
-- recommendations, with the policies, controls and evidence linked to each
-- and the history of their status. Dates that are days, not instants (a
-- report's date, a target date) are kept as YYYY-MM-DD text.
CREATE TABLE audit_reports (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	issuer     text NOT NULL CHECK (issuer IN ('inspector_general', 'gao', 'internal')),
	number     text NOT NULL,
	title      text NOT NULL,
	issued_on  text NOT NULL CHECK (length(issued_on) = 10),
	url        text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	created_by text NOT NULL
);
-- One report per issuer and number, whatever the case.
CREATE UNIQUE INDEX audit_reports_number ON audit_reports (issuer, upper(number));

-- owner_component is NULL for the department's own recommendations.
CREATE TABLE recommendations (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id       bigint NOT NULL REFERENCES audit_reports (id),
	number          text NOT NULL,
	text            text NOT NULL,
	owner_component text REFERENCES components (code),
	owner_id        bigint NOT NULL REFERENCES people (id),
	status          text NOT NULL CHECK (status IN ('open', 'resolved', 'closed')),
	target_on       text CHECK (target_on IS NULL OR length(target_on) = 10),
	resolved_on     text,
	resolution_note text NOT NULL DEFAULT '',
	resolved_by     text NOT NULL DEFAULT '',
	resolved_at     timestamptz,
	closed_on       text,
	closure_note    text NOT NULL DEFAULT '',
	closed_by       text NOT NULL DEFAULT '',
	closed_at       timestamptz,
	version         bigint NOT NULL DEFAULT 1,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
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
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recommendation_id bigint NOT NULL REFERENCES recommendations (id),
	kind              text NOT NULL CHECK (kind IN ('policy', 'control', 'evidence')),
	ref               text NOT NULL,
	note              text NOT NULL DEFAULT '',
	added_at          timestamptz NOT NULL,
	added_by          text NOT NULL,
	UNIQUE (recommendation_id, kind, ref)
);

-- Every status step, for the recommendation's history, and every one
-- refused (for the wrong role, or out of order): refused says why, and the
-- status stays as it was.
CREATE TABLE recommendation_steps (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recommendation_id bigint NOT NULL REFERENCES recommendations (id),
	action            text NOT NULL CHECK (action IN ('resolved', 'closed', 'reopened')),
	from_status       text NOT NULL,
	to_status         text NOT NULL,
	on_date           text,
	note              text NOT NULL,
	refused           text NOT NULL DEFAULT '',
	by_actor          text NOT NULL,
	recorded_at       timestamptz NOT NULL
);
CREATE INDEX recommendation_steps_rec ON recommendation_steps (recommendation_id, id);
