-- Bulk loads for bench/api_latency.py: months of floor history and a busy floor right now,
-- written set-based so that millions of events load in minutes. Deterministic: call i's
-- outcome follows from i. History runs over [$2, $3); "now" is $3 + 1 hour.

-- name: agents
-- $1 agents a0001.. with names and teams of 20.
INSERT INTO agents (agent, name, team)
SELECT 'a' || lpad(n::text, 4, '0'), 'Agent ' || n, 'Team ' || (n % 50 + 1)
FROM generate_series(1, $1) AS n;

-- name: history_calls
-- $1 calls spread evenly over [$2, $3) on 5 queues, among $4 agents: 95 % answered (0-39 s,
-- then 3-8 minutes of talk), 5 % abandoned after 0-29 s.
INSERT INTO calls (feed, call_id, queue, caller, queued_at, answered_at, answered_by, last_answered_at,
                   abandoned_at, ended_at, last_agent, released_by, resolved)
SELECT 'bench', 'c' || i, q.queue, '+86 138 0000 0000', q.at,
       CASE WHEN answered THEN q.at + make_interval(secs => i * 7 % 40) END,
       CASE WHEN answered THEN agent END,
       CASE WHEN answered THEN q.at + make_interval(secs => i * 7 % 40) END,
       CASE WHEN NOT answered THEN q.at + make_interval(secs => i % 30) END,
       CASE WHEN answered THEN q.at + make_interval(secs => i * 7 % 40 + 180 + i % 300) END,
       CASE WHEN answered THEN agent END,
       CASE WHEN NOT answered THEN NULL WHEN i % 17 = 0 THEN 'agent' ELSE 'customer' END,
       CASE WHEN answered THEN i % 5 <> 0 END
FROM generate_series(1, $1::bigint) AS i,
     LATERAL (SELECT $2::timestamptz + ($3::timestamptz - $2::timestamptz) * (i::float8 / $1) AS at,
                     (ARRAY['billing', 'sales', 'technical', 'retention', 'general'])[i % 5 + 1] AS queue,
                     i % 20 <> 0 AS answered,
                     'a' || lpad((i % $4 + 1)::text, 4, '0') AS agent) q;

-- name: history_holds
-- One hold of 10-99 s on every fifth answered call, 30 s after the answer.
INSERT INTO hold_events (feed, call_id, ts, kind, agent)
SELECT feed, call_id, answered_at + make_interval(secs => 30) + make_interval(secs => s.offset_s), s.kind, answered_by
FROM calls, LATERAL (VALUES ('start', 0), ('end', 10 + substr(call_id, 2)::bigint % 90)) AS s(kind, offset_s)
WHERE answered_at IS NOT NULL AND substr(call_id, 2)::bigint % 5 = 0;

-- name: history_surveys
-- A survey (score 1-5) a minute after every seventh answered call.
INSERT INTO surveys (feed, call_id, agent, score, ts)
SELECT feed, call_id, answered_by, (substr(call_id, 2)::bigint % 5 + 1)::smallint, ended_at + interval '1 minute'
FROM calls
WHERE ended_at IS NOT NULL AND substr(call_id, 2)::bigint % 7 = 0;

-- name: history_complaints
-- A complaint on every 200th answered call, due 4 hours later; two in three called back after an
-- hour, and closed a day later.
INSERT INTO complaints (feed, complaint_id, agent, call_id, customer, severity, opened_at, due, callback_at,
                        callback_agent, closed_at, resolved)
SELECT feed, 'k' || substr(call_id, 2), last_agent, call_id, 'Customer', 'medium', ended_at, ended_at + interval '4 hours',
       CASE WHEN n % 3 <> 0 THEN ended_at + interval '1 hour' END,
       CASE WHEN n % 3 <> 0 THEN last_agent END,
       ended_at + interval '1 day', true
FROM calls, LATERAL (SELECT substr(call_id, 2)::bigint AS n) x
WHERE ended_at IS NOT NULL AND n % 200 = 0;

-- name: history_agent_states
-- Every agent logs in at 07:00 UTC and out at 16:00, every day of [$1, $2) but the last.
INSERT INTO agent_states (agent, started_at, state, reason)
SELECT a.agent, d.day + s.at, s.state, NULL
FROM agents a,
     generate_series(date_trunc('day', $1::timestamptz), $2::timestamptz - interval '1 day', interval '1 day') AS d(day),
     (VALUES (interval '7 hours', 'available'), (interval '16 hours', 'logged_out')) AS s(at, state);

-- name: event_log_days
-- The event log's partitions of the days from $1 to $2 and their months, as the ingest makes them.
SELECT event_log_partition(day::date)
FROM generate_series(($1::timestamptz AT TIME ZONE 'UTC')::date, ($2::timestamptz AT TIME ZONE 'UTC')::date,
                     interval '1 day') AS day;

-- name: history_event_log
-- The event log behind the rows above: one event per fact, with the bodies the ingest stores.
INSERT INTO event_log (feed, event_id, seq, type, ts, call_id, received_at, stored_at, body)
SELECT 'bench', e.type || ':' || e.key, NULL, e.type, e.ts, e.call_id, e.ts, e.ts,
       jsonb_build_object('id', e.type || ':' || e.key, 'type', e.type, 'ts', e.ts) || e.fields
FROM (
    SELECT 'call.queued' AS type, call_id AS key, queued_at AS ts, call_id,
           jsonb_build_object('call_id', call_id, 'queue', queue, 'caller', caller) AS fields
    FROM calls
    UNION ALL
    SELECT 'call.answered', call_id, answered_at, call_id, jsonb_build_object('call_id', call_id, 'agent', answered_by)
    FROM calls WHERE answered_at IS NOT NULL
    UNION ALL
    SELECT 'call.abandoned', call_id, abandoned_at, call_id, jsonb_build_object('call_id', call_id)
    FROM calls WHERE abandoned_at IS NOT NULL
    UNION ALL
    SELECT 'call.ended', call_id, ended_at, call_id,
           jsonb_build_object('call_id', call_id, 'agent', last_agent, 'released_by', released_by, 'resolved', resolved)
    FROM calls WHERE ended_at IS NOT NULL
    UNION ALL
    SELECT CASE kind WHEN 'start' THEN 'call.hold_started' ELSE 'call.hold_ended' END, call_id || ':' || kind, ts,
           call_id, jsonb_build_object('call_id', call_id, 'agent', agent)
    FROM hold_events
    UNION ALL
    SELECT 'survey.completed', call_id, ts, call_id, jsonb_build_object('call_id', call_id, 'agent', agent, 'score', score)
    FROM surveys
    UNION ALL
    SELECT 'complaint.opened', complaint_id, opened_at, call_id,
           jsonb_build_object('complaint_id', complaint_id, 'agent', agent, 'customer', customer, 'due', due)
    FROM complaints
    UNION ALL
    SELECT 'agent.state', agent || ':' || started_at, started_at, NULL, jsonb_build_object('agent', agent, 'state', state)
    FROM agent_states
) e;

-- name: floor_now
-- The floor at $1 (now): every agent logged in; $2 callers waiting (up to 5 minutes);
-- 600 calls being talked, $3 of them on hold for up to 2 minutes; 100 open complaints; a fresh feed.
WITH waiting AS (
    INSERT INTO calls (feed, call_id, queue, caller, queued_at)
    SELECT 'bench', 'w' || i, (ARRAY['billing', 'sales', 'technical', 'retention', 'general'])[i % 5 + 1], '+86 138 0000 0000',
           $1::timestamptz - make_interval(secs => i % 300)
    FROM generate_series(1, $2) AS i
), talking AS (
    INSERT INTO calls (feed, call_id, queue, caller, queued_at, answered_at, answered_by, last_answered_at)
    SELECT 'bench', 't' || i, (ARRAY['billing', 'sales', 'technical', 'retention', 'general'])[i % 5 + 1], '+86 138 0000 0000',
           $1::timestamptz - make_interval(secs => 400 + i), $1::timestamptz - make_interval(secs => 390 + i),
           'a' || lpad(i::text, 4, '0'), $1::timestamptz - make_interval(secs => 390 + i)
    FROM generate_series(1, 600) AS i
), holds AS (
    INSERT INTO hold_events (feed, call_id, ts, kind, agent)
    SELECT 'bench', 't' || i, $1::timestamptz - make_interval(secs => i * 2), 'start', 'a' || lpad(i::text, 4, '0')
    FROM generate_series(1, $3) AS i
), states AS (
    INSERT INTO agent_states (agent, started_at, state, reason)
    SELECT agent, $1::timestamptz - make_interval(secs => substr(agent, 2)::int % 3600),
           CASE WHEN substr(agent, 2)::int <= 600 THEN 'on_call' ELSE 'available' END, NULL
    FROM agents
), complaints_open AS (
    INSERT INTO complaints (feed, complaint_id, agent, customer, severity, opened_at, due)
    SELECT 'bench', 'open' || i, 'a' || lpad(i::text, 4, '0'), 'Customer', 'high', $1::timestamptz - interval '1 hour',
           $1::timestamptz + make_interval(mins => i * 3 - 60)
    FROM generate_series(1, 100) AS i
)
INSERT INTO feeds (feed, last_seq, last_commit_at, connected, heartbeat_at)
VALUES ('bench', 0, $1::timestamptz, true, $1::timestamptz);

-- name: event_count
SELECT count(*) FROM event_log;
