-- Post-hoc review of every executed query (completed or withheld), keyed
-- by the query: its reviewer (a supervisor above the requester; NULL for
-- the component's privacy office), when it is due, how often it was
-- escalated, and the decision with its note.
CREATE TABLE reviews (
	query_id     bigint PRIMARY KEY REFERENCES queries (id),
	component    text NOT NULL,
	requester_id bigint NOT NULL REFERENCES people (id),
	tier         bigint NOT NULL,
	break_glass  boolean NOT NULL DEFAULT false,
	completed_at timestamptz NOT NULL,
	due_at       timestamptz NOT NULL,
	assignee_id  bigint REFERENCES people (id),
	escalations  bigint NOT NULL DEFAULT 0,
	status       text NOT NULL CHECK (status IN ('pending', 'decided')),
	decision     text NOT NULL DEFAULT '' CHECK (decision IN ('', 'appropriate', 'needs_explanation', 'refer_to_privacy')),
	note         text NOT NULL DEFAULT '',
	decided_by   bigint REFERENCES people (id),
	decided_at   timestamptz,
	bulk         boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX reviews_queue ON reviews (status, tier, completed_at);
CREATE INDEX reviews_due ON reviews (status, due_at);
CREATE INDEX reviews_assignee ON reviews (assignee_id, status);

-- Misuse alerts raised by the detectors (and by reviewers referring a
-- query to the privacy office). The evidence is kept here; the ledger
-- commits to its digest.
CREATE TABLE alerts (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	detector        text NOT NULL,
	severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
	component       text NOT NULL,
	query_id        bigint REFERENCES queries (id),
	person_id       bigint REFERENCES people (id),
	explanation     text NOT NULL,
	evidence        text NOT NULL DEFAULT '{}',
	evidence_digest text NOT NULL,
	status          text NOT NULL CHECK (status IN ('new', 'triage', 'referred', 'dismissed', 'resolved')),
	assignee_id     bigint REFERENCES people (id),
	referred_at     timestamptz,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	closed_at       timestamptz
);
CREATE INDEX alerts_component ON alerts (component, status, created_at);
CREATE INDEX alerts_query ON alerts (query_id);
CREATE INDEX alerts_assignee ON alerts (assignee_id, status);

-- Every step of an alert, with its note.
CREATE TABLE alert_steps (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	alert_id    bigint NOT NULL REFERENCES alerts (id),
	action      text NOT NULL,
	from_status text NOT NULL,
	to_status   text NOT NULL,
	actor       text NOT NULL,
	capacity    text NOT NULL,
	note        text NOT NULL DEFAULT '',
	at          timestamptz NOT NULL
);
CREATE INDEX alert_steps_alert ON alert_steps (alert_id, id);

-- The notification outbox: one row per message (an email to one person,
-- or one webhook call), written in the transaction of the action that
-- causes it, and delivered (with retries) by the dispatcher. It records
-- who was told what and when; the text holds no sensitive detail, only
-- what happened and where to look. dedupe keeps one message per event
-- and recipient.
CREATE TABLE notifications (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
	recipient       text NOT NULL,
	person_id       bigint REFERENCES people (id),
	kind            text NOT NULL,
	subject         text NOT NULL,
	component       text NOT NULL DEFAULT '',
	title           text NOT NULL,
	body            text NOT NULL,
	link            text NOT NULL DEFAULT '',
	dedupe          text NOT NULL UNIQUE,
	status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
	attempts        bigint NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	last_error      text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	sent_at         timestamptz
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_subject ON notifications (subject);

-- Every delivery attempt of a notification.
CREATE TABLE notification_attempts (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	notification_id bigint NOT NULL REFERENCES notifications (id),
	attempt         bigint NOT NULL,
	at              timestamptz NOT NULL,
	ok              boolean NOT NULL,
	error           text NOT NULL DEFAULT ''
);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id, id);
