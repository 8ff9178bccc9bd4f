-- Mobile-app releases: apps (each a system of the privacy inventory with
-- its own PIA) and their versioned scan policies; releases bound to their
-- artifact's SHA-256 digest; the scans imported into them; findings,
-- de-duplicated per app and scan type by fingerprint and never deleted,
-- with where each scan saw them; risk exceptions; deliverable documents;
-- and every gate decision. Whether a finding is overdue is never stored:
-- it is computed from when it was first seen and the policy's SLA.

CREATE TABLE apps (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL,
	component      TEXT NOT NULL REFERENCES components (code),
	platform       TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
	bundle_id      TEXT NOT NULL,
	developer      TEXT NOT NULL,
	system_id      INTEGER NOT NULL REFERENCES systems (id),
	pia_id         INTEGER NOT NULL REFERENCES pias (id),
	policy_version INTEGER NOT NULL,
	created_by     TEXT NOT NULL,
	created_at     TIMESTAMP NOT NULL,
	updated_at     TIMESTAMP NOT NULL,
	UNIQUE (platform, bundle_id)
);
CREATE INDEX apps_component ON apps (component, name);

-- Every version of every app's scan policy, as JSON; never changed.
CREATE TABLE scan_policies (
	app_id     INTEGER NOT NULL REFERENCES apps (id),
	version    INTEGER NOT NULL,
	policy     TEXT NOT NULL,
	digest     TEXT NOT NULL,
	note       TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (app_id, version)
);

CREATE TABLE releases (
	id            INTEGER PRIMARY KEY,
	app_id        INTEGER NOT NULL REFERENCES apps (id),
	component     TEXT NOT NULL,
	version       TEXT NOT NULL,
	build         TEXT NOT NULL,
	sha256        TEXT NOT NULL,
	digest_source TEXT NOT NULL CHECK (digest_source IN ('upload', 'declared')),
	store_listing TEXT NOT NULL DEFAULT '',
	submitted_by  INTEGER NOT NULL REFERENCES people (id),
	status        TEXT NOT NULL CHECK (status IN ('submitted', 'approved')),
	approved_by   INTEGER REFERENCES people (id),
	approved_at   TIMESTAMP,
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL,
	UNIQUE (app_id, sha256),
	UNIQUE (app_id, version, build)
);

-- Imported scans. sha256 is the release's artifact digest the scan was
-- bound to; head says whether the scan was the app's latest of its type
-- when imported (only those resolve findings they no longer report).
CREATE TABLE scans (
	id              INTEGER PRIMARY KEY,
	release_id      INTEGER NOT NULL REFERENCES releases (id),
	app_id          INTEGER NOT NULL REFERENCES apps (id),
	scan_type       TEXT NOT NULL CHECK (scan_type IN ('static', 'sbom', 'mobile', 'dynamic')),
	sha256          TEXT NOT NULL,
	format          TEXT NOT NULL,
	tool            TEXT NOT NULL,
	tool_version    TEXT NOT NULL DEFAULT '',
	subject_name    TEXT NOT NULL DEFAULT '',
	subject_version TEXT NOT NULL DEFAULT '',
	subject_sha256  TEXT NOT NULL DEFAULT '',
	report_created  TIMESTAMP,
	raw_digest      TEXT NOT NULL,
	findings        INTEGER NOT NULL DEFAULT 0,
	components      INTEGER NOT NULL DEFAULT 0,
	new_findings    INTEGER NOT NULL DEFAULT 0,
	reopened        INTEGER NOT NULL DEFAULT 0,
	resolved        INTEGER NOT NULL DEFAULT 0,
	head            INTEGER NOT NULL,
	imported_by     INTEGER NOT NULL REFERENCES people (id),
	imported_at     TIMESTAMP NOT NULL,
	UNIQUE (release_id, scan_type, raw_digest)
);
CREATE INDEX scans_release ON scans (release_id, scan_type, id);
CREATE INDEX scans_app ON scans (app_id, scan_type, release_id);

-- The components an SBOM lists, in its order.
CREATE TABLE scan_components (
	scan_id INTEGER NOT NULL REFERENCES scans (id),
	seq     INTEGER NOT NULL,
	name    TEXT NOT NULL,
	version TEXT NOT NULL DEFAULT '',
	purl    TEXT NOT NULL DEFAULT '',
	license TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (scan_id, seq)
) WITHOUT ROWID;

-- Findings, one per app, scan type and fingerprint. state is the current
-- state; triaged_state the latest reviewer decision, kept when a re-scan
-- resolves the finding so that it returns if the finding does.
-- severity_rank orders severities (0 critical … 4 info) for the triage
-- list's index.
CREATE TABLE findings (
	id               INTEGER PRIMARY KEY,
	app_id           INTEGER NOT NULL REFERENCES apps (id),
	component        TEXT NOT NULL,
	scan_type        TEXT NOT NULL,
	fingerprint      TEXT NOT NULL,
	rule_id          TEXT NOT NULL,
	title            TEXT NOT NULL,
	description      TEXT NOT NULL DEFAULT '',
	severity         TEXT NOT NULL,
	severity_rank    INTEGER NOT NULL,
	severity_basis   TEXT NOT NULL DEFAULT '',
	location         TEXT NOT NULL DEFAULT '',
	cwe              TEXT NOT NULL DEFAULT '[]',
	cve              TEXT NOT NULL DEFAULT '[]',
	suppressed       INTEGER NOT NULL DEFAULT 0,
	state            TEXT NOT NULL CHECK (state IN ('new', 'confirmed', 'false_positive', 'accepted_risk', 'fixed', 'resolved_by_rescan')),
	triaged_state    TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	triaged_by       INTEGER REFERENCES people (id),
	triaged_at       TIMESTAMP,
	exception_id     INTEGER,
	risk_expires_at  TIMESTAMP,
	first_seen_at    TIMESTAMP NOT NULL,
	first_scan_id    INTEGER NOT NULL REFERENCES scans (id),
	last_seen_at     TIMESTAMP NOT NULL,
	last_scan_id     INTEGER NOT NULL REFERENCES scans (id),
	resolved_at      TIMESTAMP,
	resolved_scan_id INTEGER REFERENCES scans (id),
	updated_at       TIMESTAMP NOT NULL,
	UNIQUE (app_id, scan_type, fingerprint)
);
-- The triage list is read in (severity, first seen, id) order, of every
-- state or of one state at a time; counts by state and overdue counts
-- (first seen before a severity's SLA) are ranges of findings_triage.
CREATE INDEX findings_triage ON findings (app_id, state, severity_rank, first_seen_at, id);
CREATE INDEX findings_list ON findings (app_id, severity_rank, first_seen_at, id);
CREATE INDEX findings_expiry ON findings (state, risk_expires_at);

-- An app's findings by scan type and stored state, kept by every change
-- in its transaction, so that the triage list's counts (of an app, or of
-- a release whose scans are the app's latest) cost the same for a
-- hundred findings or a hundred thousand.
CREATE TABLE finding_counts (
	app_id    INTEGER NOT NULL REFERENCES apps (id),
	scan_type TEXT NOT NULL,
	state     TEXT NOT NULL,
	n         INTEGER NOT NULL,
	PRIMARY KEY (app_id, scan_type, state)
);

-- Which findings each scan reported, with the severity it gave them.
CREATE TABLE scan_findings (
	scan_id    INTEGER NOT NULL REFERENCES scans (id),
	finding_id INTEGER NOT NULL REFERENCES findings (id),
	severity   TEXT NOT NULL,
	PRIMARY KEY (scan_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX scan_findings_finding ON scan_findings (finding_id, scan_id);

-- Risk exceptions: at most one waiting for a decision per finding.
CREATE TABLE finding_exceptions (
	id                    INTEGER PRIMARY KEY,
	finding_id            INTEGER NOT NULL REFERENCES findings (id),
	app_id                INTEGER NOT NULL REFERENCES apps (id),
	component             TEXT NOT NULL,
	justification         TEXT NOT NULL,
	compensating_controls TEXT NOT NULL,
	expires_at            TIMESTAMP NOT NULL,
	status                TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'expired', 'withdrawn')),
	requested_by          INTEGER NOT NULL REFERENCES people (id),
	requested_at          TIMESTAMP NOT NULL,
	decided_by            INTEGER REFERENCES people (id),
	decided_at            TIMESTAMP,
	decision_note         TEXT NOT NULL DEFAULT '',
	updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX finding_exceptions_finding ON finding_exceptions (finding_id, id);
CREATE INDEX finding_exceptions_app ON finding_exceptions (app_id, status, id);
CREATE INDEX finding_exceptions_due ON finding_exceptions (status, expires_at);
CREATE UNIQUE INDEX finding_exceptions_waiting ON finding_exceptions (finding_id) WHERE status = 'requested';

-- Deliverable documents (the data-flow and permissions manifest, the
-- traceability answers), every one received; the latest of a kind counts.
CREATE TABLE release_deliverables (
	id          INTEGER PRIMARY KEY,
	release_id  INTEGER NOT NULL REFERENCES releases (id),
	kind        TEXT NOT NULL CHECK (kind IN ('data_flow_manifest', 'traceability_answers')),
	document    TEXT NOT NULL,
	digest      TEXT NOT NULL,
	items       INTEGER NOT NULL,
	received_by INTEGER NOT NULL REFERENCES people (id),
	received_at TIMESTAMP NOT NULL
);
CREATE INDEX release_deliverables_release ON release_deliverables (release_id, kind, id);

-- Every gate decision on a release's approval, with its reasons (JSON).
CREATE TABLE release_decisions (
	id             INTEGER PRIMARY KEY,
	release_id     INTEGER NOT NULL REFERENCES releases (id),
	approved       INTEGER NOT NULL,
	reasons        TEXT NOT NULL,
	policy_version INTEGER NOT NULL,
	decided_by     INTEGER NOT NULL REFERENCES people (id),
	note           TEXT NOT NULL DEFAULT '',
	decided_at     TIMESTAMP NOT NULL
);
CREATE INDEX release_decisions_release ON release_decisions (release_id, id);
