-- Alerts for on-call leads (issue #17): the alerts, one row per state change of each, and the
-- outbox of notifications written in the same transaction as the change they announce.
-- (0005 is left to the rekeying of calls and complaints by feed.)

-- One row per alert. subject says what it is about: '<feed>/<complaint_id>', '<feed>/<call_id>',
-- 'queue:<name>' or 'feed:<name>'. At most one alert of a kind per subject is not yet resolved, so
-- that two rule engines raising the same alert raise it once.
CREATE TABLE alerts (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL,
    subject          text        NOT NULL,
    state            text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    raised_at        timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    escalation_level integer     NOT NULL DEFAULT 0,
    details          jsonb       NOT NULL DEFAULT '{}',
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX alerts_one_unresolved_per_subject ON alerts (kind, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_history ON alerts (raised_at DESC);

-- One row per state change: raised, escalated (to the next level of the rota), acknowledged,
-- resolved. details is what the alert's details were at that change; messages are made from it.
CREATE TABLE alert_events (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id bigint      NOT NULL REFERENCES alerts ON DELETE CASCADE,
    change   text        NOT NULL CHECK (change IN ('raised', 'escalated', 'acknowledged', 'resolved')),
    at       timestamptz NOT NULL,
    by       text,
    level    integer     NOT NULL,
    details  jsonb       NOT NULL
);
CREATE INDEX alert_events_of_alert ON alert_events (alert_id, id);

-- The outbox: one row per recipient per state change (person, and the channel that reaches them),
-- sent by a sender that claims it (claimed_by, until claimed_until) and records the outcome.
-- idempotency_key goes with every attempt, so a receiver can drop a repeat after a crash.
CREATE TABLE notifications (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_event_id  bigint      NOT NULL REFERENCES alert_events ON DELETE CASCADE,
    recipient       text        NOT NULL,
    channel         text        NOT NULL,
    address         text,
    language        text,
    idempotency_key uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    claimed_until   timestamptz,
    sent_at         timestamptz,
    dead_at         timestamptz,
    last_error      text,
    UNIQUE (alert_event_id, recipient, channel),
    CHECK (sent_at IS NULL OR dead_at IS NULL)
);
-- What senders look for: rows neither sent nor dead, by when they may next be tried.
CREATE INDEX notifications_unsent ON notifications (next_attempt_at) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX notifications_of_event ON notifications (alert_event_id);
