-- Mobile-app releases: apps (each a system of the privacy inventory with
-- its own PIA) and their versioned scan policies; releases bound to their
-- artifact's SHA-256 digest; the scans imported into them; findings,
-- de-duplicated per app and scan type by fingerprint and never deleted,
-- with where each scan saw them; risk exceptions; deliverable documents;
-- and every gate decision. Whether a finding is overdue is never stored:
-- it is computed from when it was first seen and the policy's SLA.

CREATE TABLE apps (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name           text NOT NULL,
	component      text NOT NULL REFERENCES components (code),
	platform       text NOT NULL CHECK (platform IN ('ios', 'android')),
	bundle_id      text NOT NULL,
	developer      text NOT NULL,
	system_id      bigint NOT NULL REFERENCES systems (id),
	pia_id         bigint NOT NULL REFERENCES pias (id),
	policy_version bigint NOT NULL,
	created_by     text NOT NULL,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	UNIQUE (platform, bundle_id)
);
CREATE INDEX apps_component ON apps (component, name);

-- Every version of every app's scan policy, as JSON; never changed.
CREATE TABLE scan_policies (
	app_id     bigint NOT NULL REFERENCES apps (id),
	version    bigint NOT NULL,
	policy     text NOT NULL,
	digest     text NOT NULL,
	note       text NOT NULL DEFAULT '',
	created_by text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (app_id, version)
);

CREATE TABLE releases (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_id        bigint NOT NULL REFERENCES apps (id),
	component     text NOT NULL,
	version       text NOT NULL,
	build         text NOT NULL,
	sha256        text NOT NULL,
	digest_source text NOT NULL CHECK (digest_source IN ('upload', 'declared')),
	store_listing text NOT NULL DEFAULT '',
	submitted_by  bigint NOT NULL REFERENCES people (id),
	status        text NOT NULL CHECK (status IN ('submitted', 'approved')),
	approved_by   bigint REFERENCES people (id),
	approved_at   timestamptz,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	UNIQUE (app_id, sha256),
	UNIQUE (app_id, version, build)
);

-- Imported scans. sha256 is the release's artifact digest the scan was
-- bound to; head says whether the scan was the app's latest of its type
-- when imported (only those resolve findings they no longer report).
CREATE TABLE scans (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	release_id      bigint NOT NULL REFERENCES releases (id),
	app_id          bigint NOT NULL REFERENCES apps (id),
	scan_type       text NOT NULL CHECK (scan_type IN ('static', 'sbom', 'mobile', 'dynamic')),
	sha256          text NOT NULL,
	format          text NOT NULL,
	tool            text NOT NULL,
	tool_version    text NOT NULL DEFAULT '',
	subject_name    text NOT NULL DEFAULT '',
	subject_version text NOT NULL DEFAULT '',
	subject_sha256  text NOT NULL DEFAULT '',
	report_created  timestamptz,
	raw_digest      text NOT NULL,
	findings        bigint NOT NULL DEFAULT 0,
	components      bigint NOT NULL DEFAULT 0,
	new_findings    bigint NOT NULL DEFAULT 0,
	reopened        bigint NOT NULL DEFAULT 0,
	resolved        bigint NOT NULL DEFAULT 0,
	head            boolean NOT NULL,
	imported_by     bigint NOT NULL REFERENCES people (id),
	imported_at     timestamptz NOT NULL,
	UNIQUE (release_id, scan_type, raw_digest)
);
CREATE INDEX scans_release ON scans (release_id, scan_type, id);
CREATE INDEX scans_app ON scans (app_id, scan_type, release_id);

-- The components an SBOM lists, in its order.
CREATE TABLE scan_components (
	scan_id bigint NOT NULL REFERENCES scans (id),
	seq     bigint NOT NULL,
	name    text NOT NULL,
	version text NOT NULL DEFAULT '',
	purl    text NOT NULL DEFAULT '',
	license text NOT NULL DEFAULT '',
	PRIMARY KEY (scan_id, seq)
);

-- Findings, one per app, scan type and fingerprint. state is the current
-- state; triaged_state the latest reviewer decision, kept when a re-scan
-- resolves the finding so that it returns if the finding does.
-- severity_rank orders severities (0 critical … 4 info) for the triage
-- list's index.
CREATE TABLE findings (
	id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_id           bigint NOT NULL REFERENCES apps (id),
	component        text NOT NULL,
	scan_type        text NOT NULL,
	fingerprint      text NOT NULL,
	rule_id          text NOT NULL,
	title            text NOT NULL,
	description      text NOT NULL DEFAULT '',
	severity         text NOT NULL,
	severity_rank    bigint NOT NULL,
	severity_basis   text NOT NULL DEFAULT '',
	location         text NOT NULL DEFAULT '',
	cwe              text NOT NULL DEFAULT '[]',
	cve              text NOT NULL DEFAULT '[]',
	suppressed       boolean NOT NULL DEFAULT false,
	state            text NOT NULL CHECK (state IN ('new', 'confirmed', 'false_positive', 'accepted_risk', 'fixed', 'resolved_by_rescan')),
	triaged_state    text NOT NULL DEFAULT '',
	reason           text NOT NULL DEFAULT '',
	triaged_by       bigint REFERENCES people (id),
	triaged_at       timestamptz,
	exception_id     bigint,
	risk_expires_at  timestamptz,
	first_seen_at    timestamptz NOT NULL,
	first_scan_id    bigint NOT NULL REFERENCES scans (id),
	last_seen_at     timestamptz NOT NULL,
	last_scan_id     bigint NOT NULL REFERENCES scans (id),
	resolved_at      timestamptz,
	resolved_scan_id bigint REFERENCES scans (id),
	updated_at       timestamptz NOT NULL,
	UNIQUE (app_id, scan_type, fingerprint)
) WITH (fillfactor = 70); -- room on each page for a re-scan's updates of unindexed columns (HOT)
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
	app_id    bigint NOT NULL REFERENCES apps (id),
	scan_type text NOT NULL,
	state     text NOT NULL,
	n         bigint NOT NULL,
	PRIMARY KEY (app_id, scan_type, state)
);

-- Which findings each scan reported, with the severity it gave them.
CREATE TABLE scan_findings (
	scan_id    bigint NOT NULL REFERENCES scans (id),
	finding_id bigint NOT NULL REFERENCES findings (id),
	severity   text NOT NULL,
	PRIMARY KEY (scan_id, finding_id)
);
CREATE INDEX scan_findings_finding ON scan_findings (finding_id, scan_id);

-- Risk exceptions: at most one waiting for a decision per finding.
CREATE TABLE finding_exceptions (
	id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	finding_id            bigint NOT NULL REFERENCES findings (id),
	app_id                bigint NOT NULL REFERENCES apps (id),
	component             text NOT NULL,
	justification         text NOT NULL,
	compensating_controls text NOT NULL,
	expires_at            timestamptz NOT NULL,
	status                text NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'expired', 'withdrawn')),
	requested_by          bigint NOT NULL REFERENCES people (id),
	requested_at          timestamptz NOT NULL,
	decided_by            bigint REFERENCES people (id),
	decided_at            timestamptz,
	decision_note         text NOT NULL DEFAULT '',
	updated_at            timestamptz NOT NULL
);
CREATE INDEX finding_exceptions_finding ON finding_exceptions (finding_id, id);
CREATE INDEX finding_exceptions_app ON finding_exceptions (app_id, status, id);
CREATE INDEX finding_exceptions_due ON finding_exceptions (status, expires_at);
CREATE UNIQUE INDEX finding_exceptions_waiting ON finding_exceptions (finding_id) WHERE status = 'requested';

-- Deliverable documents (the data-flow and permissions manifest, the
-- traceability answers), every one received; the latest of a kind counts.
CREATE TABLE release_deliverables (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	release_id  bigint NOT NULL REFERENCES releases (id),
	kind        text NOT NULL CHECK (kind IN ('data_flow_manifest', 'traceability_answers')),
	document    text NOT NULL,
	digest      text NOT NULL,
	items       bigint NOT NULL,
	received_by bigint NOT NULL REFERENCES people (id),
	received_at timestamptz NOT NULL
);
CREATE INDEX release_deliverables_release ON release_deliverables (release_id, kind, id);

-- Every gate decision on a release's approval, with its reasons (JSON).
CREATE TABLE release_decisions (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	release_id     bigint NOT NULL REFERENCES releases (id),
	approved       boolean NOT NULL,
	reasons        text NOT NULL,
	policy_version bigint NOT NULL,
	decided_by     bigint NOT NULL REFERENCES people (id),
	note           text NOT NULL DEFAULT '',
	decided_at     timestamptz NOT NULL
);
CREATE INDEX release_decisions_release ON release_decisions (release_id, id);
