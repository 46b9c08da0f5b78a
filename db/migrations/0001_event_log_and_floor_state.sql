-- The event log and the floor state derived from it.
--
-- Personal data lives only in: calls.caller, complaints.customer and event_log.body (the raw
-- events) and dead_letters.raw. Tables that grow with history carry a timestamp column to
-- partition on later (event_log.ts, calls.queued_at, agent_states.started_at, ...).

-- Every accepted event, once per (feed, event_id): the idempotency key.
CREATE TABLE event_log (
    feed        text        NOT NULL,
    event_id    text        NOT NULL,
    seq         bigint,
    type        text        NOT NULL,
    ts          timestamptz NOT NULL,
    call_id     text,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    body        jsonb       NOT NULL,
    PRIMARY KEY (feed, event_id)
);
CREATE INDEX event_log_call_idx ON event_log (call_id, ts) WHERE call_id IS NOT NULL;
CREATE INDEX event_log_ts_idx ON event_log USING brin (ts);

-- Input that could not be accepted, kept verbatim with a readable reason.
CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    feed        text        NOT NULL,
    received_at timestamptz NOT NULL,
    kind        text        NOT NULL,
    reason      text        NOT NULL,
    event_id    text,
    raw         text        NOT NULL
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at);

-- One row per feed: where to resume, whether it is connected, and the ingest's heartbeat.
CREATE TABLE feeds (
    feed              text        PRIMARY KEY,
    last_seq          bigint,
    last_commit_at    timestamptz,
    connected         boolean     NOT NULL DEFAULT false,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at      timestamptz
);

-- One row per call. Each column is set by the event that decides it; when events repeat or
-- arrive out of order the earliest timestamp wins, so the outcome does not depend on order.
CREATE TABLE calls (
    call_id      text PRIMARY KEY,
    queue        text,
    caller       text,                -- personal data
    queued_at    timestamptz,
    answered_at  timestamptz,          -- the first answer: it decides answer speed
    answered_by  text,
    requeued_at      timestamptz,      -- the latest transfer back to a queue
    last_answered_at timestamptz,      -- the latest answer (after a transfer back, the new one)
    abandoned_at timestamptz,
    ended_at     timestamptz,
    last_agent   text,
    released_by  text,
    resolved     boolean,
    disposition  text
);
CREATE INDEX calls_queued_idx ON calls (queued_at);
CREATE INDEX calls_answered_idx ON calls (answered_at);
CREATE INDEX calls_abandoned_idx ON calls (abandoned_at);
CREATE INDEX calls_ended_idx ON calls (ended_at);
-- The calls that are still open are few; the live views start from them.
CREATE INDEX calls_waiting_idx ON calls (queued_at)
    WHERE abandoned_at IS NULL AND ended_at IS NULL
      AND (answered_at IS NULL OR requeued_at > last_answered_at);
CREATE INDEX calls_talking_idx ON calls (answered_at)
    WHERE answered_at IS NOT NULL AND ended_at IS NULL;
-- Calls answered or ended but never queued: dead-lettered if the queueing never comes.
CREATE INDEX calls_never_queued_idx ON calls (call_id) WHERE queued_at IS NULL;

-- Hold starts and ends as they happened; spans are paired in the hold_spans view.
CREATE TABLE hold_events (
    call_id text        NOT NULL,
    ts      timestamptz NOT NULL,
    kind    text        NOT NULL CHECK (kind IN ('start', 'end')),
    agent   text        NOT NULL,
    PRIMARY KEY (call_id, ts, kind)
);

-- A hold span runs from a start to the next event of the same call: its end, or, when the end
-- never came, the call's end (NULL while the call is still going).
CREATE VIEW hold_spans AS
SELECT h.call_id,
       h.agent,
       h.ts AS started_at,
       coalesce(h.next_ts, c.ended_at) AS ended_at
FROM (
    SELECT call_id, agent, kind, ts,
           lead(ts) OVER (PARTITION BY call_id ORDER BY ts, kind DESC) AS next_ts
    FROM hold_events
) h
JOIN calls c USING (call_id)
WHERE h.kind = 'start';

-- The agent directory: the latest name and team each agent was announced with.
CREATE TABLE agents (
    agent text PRIMARY KEY,
    name  text,
    team  text
);

-- Every agent state change; an interval runs until the agent's next change.
CREATE TABLE agent_states (
    agent      text        NOT NULL,
    started_at timestamptz NOT NULL,
    state      text        NOT NULL,
    reason     text,
    PRIMARY KEY (agent, started_at)
);

CREATE TABLE complaints (
    complaint_id   text PRIMARY KEY,
    agent          text,
    call_id        text,
    customer       text,              -- personal data
    severity       text,
    opened_at      timestamptz,
    due            timestamptz,
    callback_at    timestamptz,
    callback_agent text,
    closed_at      timestamptz,
    resolved       boolean
);
CREATE INDEX complaints_open_idx ON complaints (due)
    WHERE callback_at IS NULL AND closed_at IS NULL;

CREATE TABLE surveys (
    call_id text PRIMARY KEY,
    agent   text        NOT NULL,
    score   smallint    NOT NULL,
    ts      timestamptz NOT NULL
);
CREATE INDEX surveys_ts_idx ON surveys (ts);
