-- Writes made by the ingest service, all inside one transaction per batch.
-- A batch is appended to the event log, the events the log did not hold yet are staged in the
-- session's incoming_events table, and applied to the derived state from there (apply_*).
-- The apply_* writes leave the same rows when an event repeats or events come in another order:
-- the earliest timestamp wins.

-- name: create_staging
-- First in every transaction that writes events: show the roll-up that a change of floor state is
-- in flight (the lock "CallRoll", shared: nothing waits for it; rollup.ingest_in_flight_since looks
-- for it), so that a day this transaction may judge not yet complete is not computed before it
-- ends. Then the batch's new events, shaped like the event log, and the days its changes were decided
-- on before (apply_derived_state); private to the connection, emptied at every commit.
SELECT pg_advisory_xact_lock_shared(4855281085777407084);
CREATE TEMP TABLE IF NOT EXISTS incoming_events (LIKE event_log) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS decided_before (day date) ON COMMIT DELETE ROWS;

-- name: keep_days_open
-- As in create_staging, for the other transactions that change floor state.
SELECT pg_advisory_xact_lock_shared(4855281085777407084);

-- name: append_events
-- Append the batch to the log, skipping events already stored (same feed, event_id and ts), and
-- stage the new ones in incoming_events, so that only they reach the derived state. $1: the feed;
-- $2: the events' JSON texts as one JSON array; $3: their seqs; $4, $5: their ts and receipt time
-- in microseconds since the Unix epoch (all already parsed and checked; $3-$5 as array literals,
-- '{1,NULL,3}'). Returns new events by type.
WITH stored AS (
    INSERT INTO event_log (feed, event_id, seq, type, ts, call_id, received_at, stored_at, body)
    SELECT $1, e.id, t.seq, e.type,
           timestamptz 'epoch' + t.ts_us * interval '1 microsecond', e.call_id,
           timestamptz 'epoch' + t.received_us * interval '1 microsecond', now(), j.body
    FROM json_array_elements($2::text::json) WITH ORDINALITY AS j(body, position)
    JOIN unnest($3::text::bigint[], $4::text::bigint[], $5::text::bigint[]) WITH ORDINALITY
         AS t(seq, ts_us, received_us, position) USING (position)
    CROSS JOIN LATERAL json_to_record(j.body) AS e(id text, type text, call_id text)
    ORDER BY e.id  -- the same lock order in every batch (see apply_derived_state)
    ON CONFLICT (feed, event_id, ts) DO NOTHING
    RETURNING feed, event_id, seq, type, ts, call_id, received_at, stored_at, body
), staged AS (
    INSERT INTO incoming_events (feed, event_id, seq, type, ts, call_id, received_at, stored_at, body)
    SELECT feed, event_id, seq, type, ts, call_id, received_at, stored_at, body FROM stored
)
SELECT type, count(*) AS events FROM stored GROUP BY type;

-- name: insert_dead_letters
-- Keep rejected input verbatim with the reason it was rejected.
INSERT INTO dead_letters (feed, received_at, kind, reason, event_id, raw)
SELECT $1, d.received_at, d.kind, d.reason, d.event_id, d.raw
FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS d(received_at, kind, reason, event_id, raw);

-- name: record_commit
-- Remember the feed's highest stored sequence number and when the ingest last committed.
INSERT INTO feeds AS f (feed, last_seq, last_commit_at)
VALUES ($1, $2, now())
ON CONFLICT (feed) DO UPDATE
SET last_seq = greatest(f.last_seq, excluded.last_seq),
    last_commit_at = excluded.last_commit_at;

-- name: record_connection
-- Note that the feed connection went up or down (shown by the dashboard).
INSERT INTO feeds AS f (feed, connected, status_changed_at)
VALUES ($1, $2, now())
ON CONFLICT (feed) DO UPDATE
SET connected = excluded.connected,
    status_changed_at = excluded.status_changed_at;

-- name: record_heartbeat
-- The ingest is alive and still watching this feed (quiet floors send no events for a while).
INSERT INTO feeds AS f (feed, heartbeat_at)
VALUES ($1, now())
ON CONFLICT (feed) DO UPDATE
SET heartbeat_at = excluded.heartbeat_at;

-- name: dead_letter_calls_never_queued
-- Calls of feed $2 answered or ended whose first event arrived more than $1 seconds ago without a
-- call.queued ever following are impossible: move their events from the log to dead_letters and
-- forget the call. Rows locked by a write in progress (perhaps the late call.queued itself) are
-- left for next time. The complete days their counts were on are marked stale (see apply_derived_state).
WITH orphan AS (
    SELECT c.feed, c.call_id
    FROM calls c
    WHERE c.feed = $2 AND c.queued_at IS NULL
      AND (SELECT min(l.received_at) FROM event_log l WHERE l.feed = c.feed AND l.call_id = c.call_id)
          < now() - make_interval(secs => $1)
    FOR UPDATE OF c SKIP LOCKED
), moved AS (
    DELETE FROM event_log l
    USING orphan o
    WHERE l.feed = o.feed AND l.call_id = o.call_id
      AND (l.type LIKE 'call.%' OR l.type = 'survey.completed')  -- a complaint stays a complaint
    RETURNING l.feed, l.received_at, l.event_id, l.type, l.call_id, l.body
), lettered AS (
    INSERT INTO dead_letters (feed, received_at, kind, reason, event_id, raw)
    SELECT feed, received_at, 'impossible_transition',
           type || ' for call ' || call_id || ', which was never queued (no call.queued within '
                || $1 || ' s)',
           event_id, body::text
    FROM moved
), stale AS (
    INSERT INTO stale_days (day)
    SELECT DISTINCT (decided_at AT TIME ZONE 'UTC')::date
    FROM (
        SELECT unnest(ARRAY[c.answered_at, c.ended_at]) FROM calls c JOIN orphan USING (feed, call_id)
        UNION ALL
        SELECT h.ts FROM hold_events h JOIN orphan USING (feed, call_id) WHERE h.kind = 'start'
        UNION ALL
        SELECT s.ts FROM surveys s JOIN orphan USING (feed, call_id)
    ) d(decided_at)
    WHERE (decided_at AT TIME ZONE 'UTC')::date < (clock_timestamp() AT TIME ZONE 'UTC')::date
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark, marked_at = excluded.marked_at
), forgotten_holds AS (
    DELETE FROM hold_events h USING orphan o WHERE h.feed = o.feed AND h.call_id = o.call_id
), forgotten_surveys AS (
    DELETE FROM surveys s USING orphan o WHERE s.feed = o.feed AND s.call_id = o.call_id
)
DELETE FROM calls c
USING orphan o
WHERE c.feed = o.feed AND c.call_id = o.call_id
RETURNING c.call_id;

-- name: resume_position
-- The highest sequence number stored for a feed, to resume after.
SELECT last_seq FROM feeds WHERE feed = $1;

-- name: apply_derived_state
-- Bring the floor state up to date from the events staged and new to the log. Every table is
-- written by one statement, in this order, each writing its rows in key order: two batches in
-- flight at once then take their row locks in the same order and never deadlock. (Several
-- statements, sent as one; they take no parameters.)

-- Days whose agent and quarter-hour totals this batch may change (see stale_days in
-- db/migrations/0004...), part 1 of 2: the days on which the rows it touches were decided before it
-- (offered, answered, abandoned, ended, surveyed, called back, and the day after the offer, when a
-- repeat of the call may come); part 2, at the end, marks
-- them stale with the days they are decided on after it (one write, in key order, like the rest).
-- Only complete UTC days, the only ones ever rolled up (by the clock after create_staging: a day
-- that ended after that is computed only once this transaction has ended, rollup.ingest_in_flight_since).
-- A day marked again takes a new mark: a roll-up computed before this transaction's changes does
-- not take it off the list (rollup.unmark_day).
-- The rows of the batch's calls and complaints are looked up one by one through their keys
-- (ARRAY(subquery) cannot be turned into a join): joined, the planner, which knows nothing of the
-- staged batch's size, may read those whole tables by hash join, a cost that grows with the history.
WITH touched_calls AS (
    SELECT DISTINCT feed, call_id FROM incoming_events WHERE call_id IS NOT NULL
), touched_complaints AS (
    SELECT DISTINCT feed, body->>'complaint_id' AS complaint_id FROM incoming_events WHERE type LIKE 'complaint.%'
)
INSERT INTO decided_before (day)
SELECT DISTINCT (decided_at AT TIME ZONE 'UTC')::date
FROM (
    SELECT unnest(
        ARRAY(SELECT unnest(ARRAY[c.queued_at, c.queued_at + interval '1 day', c.answered_at, c.abandoned_at,
                                  c.ended_at])
              FROM calls c WHERE c.feed = t.feed AND c.call_id = t.call_id)
        || ARRAY(SELECT s.ts FROM surveys s WHERE s.feed = t.feed AND s.call_id = t.call_id)
        -- a complaint's callback counts in its call's queue
        || ARRAY(SELECT least(k.callback_at, k.due) FROM complaints k WHERE k.feed = t.feed AND k.call_id = t.call_id))
    FROM touched_calls t
    UNION ALL
    SELECT (SELECT least(k.callback_at, k.due) FROM complaints k
            WHERE k.feed = t.feed AND k.complaint_id = t.complaint_id)
    FROM touched_complaints t
) d(decided_at)
WHERE (decided_at AT TIME ZONE 'UTC')::date < (clock_timestamp() AT TIME ZONE 'UTC')::date;

-- calls: for each column, the event that decides it: the call's earliest event of that type in the
-- batch (the latest, for the answer and the transfer back to a queue that say whether a caller
-- waits); when the row exists, the earlier of the two wins. (Each "first" row is alone in its
-- type, so max() of it is just its value: cheaper than an ordered aggregate per column.)
-- "excluded.x_at < coalesce(c.x_at, 'infinity')": this batch has an x, and the row has none or a later one.
WITH call_events AS MATERIALIZED (
    SELECT i.feed, i.type, i.ts, e.*
    FROM incoming_events i,
         json_to_record(i.body) AS e(call_id text, queue text, caller text, agent text, to_queue text,
                                     released_by text, resolved boolean, disposition text)
    WHERE i.type IN ('call.queued', 'call.answered', 'call.transferred', 'call.abandoned', 'call.ended')
), firsts AS (  -- each call's earliest event of each type
    SELECT DISTINCT ON (feed, call_id, type) *
    FROM call_events
    ORDER BY feed, call_id, type, ts
), latest AS (
    SELECT feed, call_id,
           max(ts) FILTER (WHERE type = 'call.answered') AS last_answered_at,
           max(ts) FILTER (WHERE type = 'call.transferred' AND to_queue IS NOT NULL) AS requeued_at
    FROM call_events
    GROUP BY feed, call_id
)
INSERT INTO calls AS c (feed, call_id, queue, caller, caller_hash, queued_at, answered_at, answered_by,
                        last_answered_at, requeued_at, abandoned_at, ended_at, last_agent, released_by, resolved,
                        disposition)
SELECT f.feed, f.call_id,
       max(f.queue) FILTER (WHERE f.type = 'call.queued'),
       max(f.caller) FILTER (WHERE f.type = 'call.queued'),
       caller_hash(max(f.caller) FILTER (WHERE f.type = 'call.queued')),
       max(f.ts) FILTER (WHERE f.type = 'call.queued'),
       max(f.ts) FILTER (WHERE f.type = 'call.answered'),
       max(f.agent) FILTER (WHERE f.type = 'call.answered'),
       max(l.last_answered_at),
       max(l.requeued_at),
       max(f.ts) FILTER (WHERE f.type = 'call.abandoned'),
       max(f.ts) FILTER (WHERE f.type = 'call.ended'),
       max(f.agent) FILTER (WHERE f.type = 'call.ended'),
       max(f.released_by) FILTER (WHERE f.type = 'call.ended'),
       bool_or(f.resolved) FILTER (WHERE f.type = 'call.ended'),
       max(f.disposition) FILTER (WHERE f.type = 'call.ended')
FROM firsts f
JOIN latest l USING (feed, call_id)
GROUP BY f.feed, f.call_id
ORDER BY f.feed, f.call_id
ON CONFLICT (feed, call_id) DO UPDATE
SET queue       = CASE WHEN excluded.queued_at < coalesce(c.queued_at, 'infinity') THEN excluded.queue ELSE c.queue END,
    caller      = CASE WHEN excluded.queued_at < coalesce(c.queued_at, 'infinity') THEN excluded.caller ELSE c.caller END,
    caller_hash = CASE WHEN excluded.queued_at < coalesce(c.queued_at, 'infinity') THEN excluded.caller_hash ELSE c.caller_hash END,
    queued_at   = least(c.queued_at, excluded.queued_at),
    answered_by = CASE WHEN excluded.answered_at < coalesce(c.answered_at, 'infinity') THEN excluded.answered_by ELSE c.answered_by END,
    answered_at = least(c.answered_at, excluded.answered_at),
    last_answered_at = greatest(c.last_answered_at, excluded.last_answered_at),
    requeued_at = greatest(c.requeued_at, excluded.requeued_at),
    abandoned_at = least(c.abandoned_at, excluded.abandoned_at),
    last_agent  = CASE WHEN excluded.ended_at < coalesce(c.ended_at, 'infinity') THEN excluded.last_agent ELSE c.last_agent END,
    released_by = CASE WHEN excluded.ended_at < coalesce(c.ended_at, 'infinity') THEN excluded.released_by ELSE c.released_by END,
    resolved    = CASE WHEN excluded.ended_at < coalesce(c.ended_at, 'infinity') THEN excluded.resolved ELSE c.resolved END,
    disposition = CASE WHEN excluded.ended_at < coalesce(c.ended_at, 'infinity') THEN excluded.disposition ELSE c.disposition END,
    ended_at    = least(c.ended_at, excluded.ended_at);

-- hold events:
INSERT INTO hold_events (feed, call_id, ts, kind, agent)
SELECT i.feed, e.call_id, i.ts, CASE i.type WHEN 'call.hold_started' THEN 'start' ELSE 'end' END, e.agent
FROM incoming_events i, json_to_record(i.body) AS e(call_id text, agent text)
WHERE i.type IN ('call.hold_started', 'call.hold_ended')
ORDER BY i.feed, e.call_id, i.ts, i.type DESC
ON CONFLICT DO NOTHING;

-- agent directory:
-- List every agent seen; name and team (each optional) come from the latest event carrying each.
-- An agent already listed so is left alone: an upsert would lock its row to the commit, and a
-- history import, which lists the same agents in every batch, would hold the live batches of those
-- agents for as long as each of its transactions.
WITH seen AS (
    SELECT e.agent,
           (array_agg(e.name ORDER BY i.ts DESC) FILTER (WHERE e.name IS NOT NULL))[1] AS name,
           (array_agg(e.team ORDER BY i.ts DESC) FILTER (WHERE e.team IS NOT NULL))[1] AS team
    FROM incoming_events i, json_to_record(i.body) AS e(agent text, name text, team text)
    WHERE i.type = 'agent.state'
    GROUP BY e.agent
)
INSERT INTO agents AS a (agent, name, team)
SELECT s.agent, s.name, s.team
FROM seen s
WHERE NOT EXISTS (SELECT FROM agents listed
                  WHERE listed.agent = s.agent
                    AND (s.name IS NULL OR listed.name = s.name) AND (s.team IS NULL OR listed.team = s.team))
ORDER BY s.agent
ON CONFLICT (agent) DO UPDATE
SET name = coalesce(excluded.name, a.name),
    team = coalesce(excluded.team, a.team);

-- agent states:
INSERT INTO agent_states (agent, started_at, state, reason)
SELECT e.agent, i.ts, e.state, e.reason
FROM incoming_events i, json_to_record(i.body) AS e(agent text, state text, reason text)
WHERE i.type = 'agent.state'
ORDER BY e.agent, i.ts
ON CONFLICT DO NOTHING;

-- complaints: as for calls, the earliest opening, callback and closing each decide their columns.
WITH firsts AS (  -- each complaint's earliest event of each type
    SELECT DISTINCT ON (i.feed, e.complaint_id, i.type) i.feed, i.type, i.ts, e.*
    FROM incoming_events i,
         json_to_record(i.body)
             AS e(complaint_id text, agent text, call_id text, customer text, severity text, due timestamptz,
                  resolved boolean)
    WHERE i.type IN ('complaint.opened', 'complaint.callback_made', 'complaint.closed')
    ORDER BY i.feed, e.complaint_id, i.type, i.ts
)
INSERT INTO complaints AS c (feed, complaint_id, agent, call_id, customer, severity, opened_at, due,
                             callback_at, callback_agent, closed_at, resolved)
SELECT feed, complaint_id,
       max(agent) FILTER (WHERE type = 'complaint.opened'),
       max(call_id) FILTER (WHERE type = 'complaint.opened'),
       max(customer) FILTER (WHERE type = 'complaint.opened'),
       max(severity) FILTER (WHERE type = 'complaint.opened'),
       max(ts) FILTER (WHERE type = 'complaint.opened'),
       max(due) FILTER (WHERE type = 'complaint.opened'),
       max(ts) FILTER (WHERE type = 'complaint.callback_made'),
       max(agent) FILTER (WHERE type = 'complaint.callback_made'),
       max(ts) FILTER (WHERE type = 'complaint.closed'),
       bool_or(resolved) FILTER (WHERE type = 'complaint.closed')
FROM firsts
GROUP BY feed, complaint_id
ORDER BY feed, complaint_id
ON CONFLICT (feed, complaint_id) DO UPDATE
SET agent     = CASE WHEN excluded.opened_at < coalesce(c.opened_at, 'infinity') THEN excluded.agent ELSE c.agent END,
    call_id   = CASE WHEN excluded.opened_at < coalesce(c.opened_at, 'infinity') THEN excluded.call_id ELSE c.call_id END,
    customer  = CASE WHEN excluded.opened_at < coalesce(c.opened_at, 'infinity') THEN excluded.customer ELSE c.customer END,
    severity  = CASE WHEN excluded.opened_at < coalesce(c.opened_at, 'infinity') THEN excluded.severity ELSE c.severity END,
    due       = CASE WHEN excluded.opened_at < coalesce(c.opened_at, 'infinity') THEN excluded.due ELSE c.due END,
    opened_at = least(c.opened_at, excluded.opened_at),
    callback_agent = CASE WHEN excluded.callback_at < coalesce(c.callback_at, 'infinity') THEN excluded.callback_agent ELSE c.callback_agent END,
    callback_at = least(c.callback_at, excluded.callback_at),
    resolved  = CASE WHEN excluded.closed_at < coalesce(c.closed_at, 'infinity') THEN excluded.resolved ELSE c.resolved END,
    closed_at = least(c.closed_at, excluded.closed_at);

-- surveys:
INSERT INTO surveys AS s (feed, call_id, agent, score, ts)
SELECT DISTINCT ON (i.feed, e.call_id) i.feed, e.call_id, e.agent, e.score::smallint, i.ts
FROM incoming_events i, json_to_record(i.body) AS e(call_id text, agent text, score numeric)  -- 4.0 is an integer too
WHERE i.type = 'survey.completed'
ORDER BY i.feed, e.call_id, i.ts
ON CONFLICT (feed, call_id) DO UPDATE
SET agent = CASE WHEN excluded.ts < s.ts THEN excluded.agent ELSE s.agent END,
    score = CASE WHEN excluded.ts < s.ts THEN excluded.score ELSE s.score END,
    ts = least(s.ts, excluded.ts);

-- queue members: the latest announcement wins, not the earliest. Each queue's latest in the batch
-- (the latest ts; at the same ts, the greatest feed and event id) replaces the stored one if later
-- by the same order, so the members do not depend on the order announcements arrive in.
INSERT INTO queue_members AS q (queue, agents, set_at, feed, event_id)
SELECT DISTINCT ON (e.queue) e.queue,
       ARRAY(SELECT DISTINCT a FROM json_array_elements_text(e.agents) AS a ORDER BY a),
       i.ts, i.feed, i.event_id
FROM incoming_events i, json_to_record(i.body) AS e(queue text, agents json)
WHERE i.type = 'queue.members'
ORDER BY e.queue, i.ts DESC, i.feed DESC, i.event_id DESC
ON CONFLICT (queue) DO UPDATE
SET agents = excluded.agents, set_at = excluded.set_at, feed = excluded.feed, event_id = excluded.event_id
WHERE (excluded.set_at, excluded.feed, excluded.event_id) > (q.set_at, q.feed, q.event_id);

-- Days whose agent and quarter-hour totals this batch may change, part 2 of 2: those of part 1, the
-- days on which the rows it touched are decided now, and those of every hold start of its calls (a
-- hold ends at the call's next hold event or at the call's end; a call's row decides whether its
-- holds count) and of every callback of its calls' complaints (counted in the call's queue).
WITH touched_calls AS (
    SELECT DISTINCT feed, call_id FROM incoming_events WHERE call_id IS NOT NULL
), touched_complaints AS (
    SELECT DISTINCT feed, body->>'complaint_id' AS complaint_id FROM incoming_events WHERE type LIKE 'complaint.%'
)
INSERT INTO stale_days (day)
SELECT day FROM decided_before
UNION
SELECT (decided_at AT TIME ZONE 'UTC')::date
FROM (
    SELECT unnest(
        ARRAY(SELECT unnest(ARRAY[c.queued_at, c.queued_at + interval '1 day', c.answered_at, c.abandoned_at,
                                  c.ended_at])
              FROM calls c WHERE c.feed = t.feed AND c.call_id = t.call_id)
        || ARRAY(SELECT h.ts FROM hold_events h WHERE h.feed = t.feed AND h.call_id = t.call_id AND h.kind = 'start')
        || ARRAY(SELECT s.ts FROM surveys s WHERE s.feed = t.feed AND s.call_id = t.call_id)
        || ARRAY(SELECT least(k.callback_at, k.due) FROM complaints k WHERE k.feed = t.feed AND k.call_id = t.call_id))
    FROM touched_calls t
    UNION ALL
    SELECT (SELECT least(k.callback_at, k.due) FROM complaints k
            WHERE k.feed = t.feed AND k.complaint_id = t.complaint_id)
    FROM touched_complaints t
) d(decided_at)
WHERE (decided_at AT TIME ZONE 'UTC')::date < (clock_timestamp() AT TIME ZONE 'UTC')::date
ORDER BY 1
ON CONFLICT (day) DO UPDATE SET mark = excluded.mark, marked_at = excluded.marked_at;
