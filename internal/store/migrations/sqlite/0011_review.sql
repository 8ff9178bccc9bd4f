-- Post-hoc review of every executed query (completed or withheld), keyed
-- by the query: its reviewer (a supervisor above the requester; NULL for
-- the component's privacy office), when it is due, how often it was
-- escalated, and the decision with its note.
CREATE TABLE reviews (
	query_id     INTEGER PRIMARY KEY REFERENCES queries (id),
	component    TEXT NOT NULL,
	requester_id INTEGER NOT NULL REFERENCES people (id),
	tier         INTEGER NOT NULL,
	break_glass  INTEGER NOT NULL DEFAULT 0,
	completed_at TIMESTAMP NOT NULL,
	due_at       TIMESTAMP NOT NULL,
	assignee_id  INTEGER REFERENCES people (id),
	escalations  INTEGER NOT NULL DEFAULT 0,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'decided')),
	decision     TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'appropriate', 'needs_explanation', 'refer_to_privacy')),
	note         TEXT NOT NULL DEFAULT '',
	decided_by   INTEGER REFERENCES people (id),
	decided_at   TIMESTAMP,
	bulk         INTEGER NOT NULL DEFAULT 0,
	created_at   TIMESTAMP NOT NULL,
	updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX reviews_queue ON reviews (status, tier, completed_at);
CREATE INDEX reviews_due ON reviews (status, due_at);
CREATE INDEX reviews_assignee ON reviews (assignee_id, status);

-- Misuse alerts raised by the detectors (and by reviewers referring a
-- query to the privacy office). The evidence is kept here; the ledger
-- commits to its digest.
CREATE TABLE alerts (
	id              INTEGER PRIMARY KEY,
	detector        TEXT NOT NULL,
	severity        TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
	component       TEXT NOT NULL,
	query_id        INTEGER REFERENCES queries (id),
	person_id       INTEGER REFERENCES people (id),
	explanation     TEXT NOT NULL,
	evidence        TEXT NOT NULL DEFAULT '{}',
	evidence_digest TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('new', 'triage', 'referred', 'dismissed', 'resolved')),
	assignee_id     INTEGER REFERENCES people (id),
	referred_at     TIMESTAMP,
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	closed_at       TIMESTAMP
);
CREATE INDEX alerts_component ON alerts (component, status, created_at);
CREATE INDEX alerts_query ON alerts (query_id);
CREATE INDEX alerts_assignee ON alerts (assignee_id, status);

-- Every step of an alert, with its note.
CREATE TABLE alert_steps (
	id          INTEGER PRIMARY KEY,
	alert_id    INTEGER NOT NULL REFERENCES alerts (id),
	action      TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	actor       TEXT NOT NULL,
	capacity    TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	at          TIMESTAMP NOT NULL
);
CREATE INDEX alert_steps_alert ON alert_steps (alert_id, id);

-- The notification outbox: one row per message (an email to one person,
-- or one webhook call), written in the transaction of the action that
-- causes it, and delivered (with retries) by the dispatcher. It records
-- who was told what and when; the text holds no sensitive detail, only
-- what happened and where to look. dedupe keeps one message per event
-- and recipient.
CREATE TABLE notifications (
	id              INTEGER PRIMARY KEY,
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	recipient       TEXT NOT NULL,
	person_id       INTEGER REFERENCES people (id),
	kind            TEXT NOT NULL,
	subject         TEXT NOT NULL,
	component       TEXT NOT NULL DEFAULT '',
	title           TEXT NOT NULL,
	body            TEXT NOT NULL,
	link            TEXT NOT NULL DEFAULT '',
	dedupe          TEXT NOT NULL UNIQUE,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TIMESTAMP NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMP NOT NULL,
	sent_at         TIMESTAMP
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_subject ON notifications (subject);

-- Every delivery attempt of a notification.
CREATE TABLE notification_attempts (
	id              INTEGER PRIMARY KEY,
	notification_id INTEGER NOT NULL REFERENCES notifications (id),
	attempt         INTEGER NOT NULL,
	at              TIMESTAMP NOT NULL,
	ok              INTEGER NOT NULL,
	error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id, id);
