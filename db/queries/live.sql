-- Reads behind the live views and the JSON API. They return counts and timestamps; rates and
-- scores are formed from them in callboard/metrics.py (see docs/metrics.md).
-- Parameters named in each description; windows are [from, to).

-- name: queue_counts
-- Per queue and bucket, the calls decided in [$1[1], $2): offered (by queue time), answered and
-- abandoned (by the time of the deciding event), answered within $3 seconds, summed answer
-- seconds, short abandons (waited less than $4 seconds). $1 holds the buckets' start times in
-- order (bucket n runs from $1[n] to $1[n + 1], the last one to $2); $5 the queues, or NULL for all.
SELECT queue,
       width_bucket(decided_at, $1::timestamptz[])                                     AS bucket,
       count(*) FILTER (WHERE kind = 'offered')                                        AS offered,
       count(*) FILTER (WHERE kind = 'answered')                                       AS answered,
       count(*) FILTER (WHERE kind = 'answered' AND waited <= make_interval(secs => $3)) AS answered_on_time,
       coalesce(sum(extract(epoch FROM waited)) FILTER (WHERE kind = 'answered'), 0) AS answer_seconds,  -- exact
       count(*) FILTER (WHERE kind = 'abandoned')                                      AS abandoned,
       count(*) FILTER (WHERE kind = 'abandoned' AND waited < make_interval(secs => $4)) AS short_abandoned
FROM (
    SELECT queue, 'offered' AS kind, queued_at AS decided_at, NULL::interval AS waited
    FROM calls
    WHERE queued_at >= ($1::timestamptz[])[1] AND queued_at < $2
    UNION ALL
    SELECT queue, 'answered', answered_at, answered_at - queued_at
    FROM calls
    WHERE answered_at >= ($1::timestamptz[])[1] AND answered_at < $2 AND queued_at IS NOT NULL
    UNION ALL
    -- A call is decided once: a caller answered, sent back to a queue and gone before a second
    -- answer counts as answered only.
    SELECT queue, 'abandoned', abandoned_at, abandoned_at - queued_at
    FROM calls
    WHERE abandoned_at >= ($1::timestamptz[])[1] AND abandoned_at < $2 AND queued_at IS NOT NULL
      AND answered_at IS NULL
) decided
WHERE queue IS NOT NULL AND ($5::text[] IS NULL OR queue = any($5::text[]))
GROUP BY queue, bucket;

-- name: waiting
-- Per queue, callers waiting now (queued, or sent back to a queue, and not answered since,
-- abandoned or ended) and the oldest time they started waiting.
SELECT queue, count(*) AS waiting, min(coalesce(requeued_at, queued_at)) AS oldest_queued_at
FROM calls
WHERE abandoned_at IS NULL AND ended_at IS NULL
  AND (answered_at IS NULL OR requeued_at > last_answered_at)
  AND queued_at IS NOT NULL
GROUP BY queue;

-- name: abandoned_calls
-- The latest $3 calls of each queue abandoned in [$1, $2), newest first: call, queue, when the
-- caller started the wait they gave up on (queued, or sent back to a queue) and hung up, and the
-- caller's number (personal data: masked by callboard.privacy before anyone sees it). Reads only
-- the window's abandons (calls_abandoned_idx).
SELECT feed, call_id, queue, waiting_since, abandoned_at, caller
FROM (
    SELECT feed, call_id, queue, coalesce(requeued_at, queued_at) AS waiting_since, abandoned_at, caller,
           row_number() OVER (PARTITION BY queue ORDER BY abandoned_at DESC, feed, call_id) AS latest
    FROM calls
    WHERE abandoned_at >= $1 AND abandoned_at < $2 AND queued_at IS NOT NULL AND queue IS NOT NULL
) a
WHERE latest <= $3
ORDER BY abandoned_at DESC, feed, call_id;

-- name: calls_talking
-- Per queue, calls in progress now: answered, and not ended, abandoned or waiting again after a
-- transfer back to a queue (each has one agent on it). Reads only the open calls.
SELECT queue, count(*) AS talking
FROM calls
WHERE answered_at IS NOT NULL AND ended_at IS NULL
  AND abandoned_at IS NULL AND NOT coalesce(requeued_at > last_answered_at, false)
GROUP BY queue;

-- name: open_holds
-- Holds running now on calls still in progress, oldest first: call, agent and their team, queue,
-- hold start.
SELECT c.feed, c.call_id, h.agent, coalesce(d.name, h.agent) AS agent_name, d.team, c.queue, h.ts AS started_at
FROM calls c
CROSS JOIN LATERAL (
    SELECT e.kind, e.agent, e.ts
    FROM hold_events e
    WHERE e.feed = c.feed AND e.call_id = c.call_id
    ORDER BY e.ts DESC, e.kind ASC
    LIMIT 1
) h
LEFT JOIN agents d ON d.agent = h.agent
WHERE c.answered_at IS NOT NULL AND c.ended_at IS NULL
  AND h.kind = 'start'
ORDER BY h.ts, c.feed, c.call_id;

-- name: open_complaints
-- Complaints with no callback made and not closed, soonest due first (the same columns as
-- complaints_opened; never the customer).
SELECT k.feed, k.complaint_id, k.agent, coalesce(d.name, k.agent) AS agent_name, d.team, k.opened_at, k.due,
       k.severity, k.callback_at, k.closed_at, k.resolved
FROM complaints k
LEFT JOIN agents d ON d.agent = k.agent
WHERE k.callback_at IS NULL AND k.closed_at IS NULL AND k.due IS NOT NULL
ORDER BY k.due, k.feed, k.complaint_id;

-- name: complaints_opened
-- Complaints opened in [$1, $2), oldest first, with their callback and closing; never the customer.
SELECT k.feed, k.complaint_id, k.agent, coalesce(d.name, k.agent) AS agent_name, d.team, k.opened_at, k.due,
       k.severity, k.callback_at, k.closed_at, k.resolved
FROM complaints k
LEFT JOIN agents d ON d.agent = k.agent
WHERE k.opened_at >= $1 AND k.opened_at < $2
ORDER BY k.opened_at, k.feed, k.complaint_id;

-- name: agent_states_now
-- Every agent who is not logged out: directory entry, current state, reason and since when.
SELECT d.agent, coalesce(d.name, d.agent) AS name, d.team, s.state, s.reason, s.started_at
FROM agents d
CROSS JOIN LATERAL (
    SELECT state, reason, started_at
    FROM agent_states
    WHERE agent = d.agent
    ORDER BY started_at DESC
    LIMIT 1
) s
WHERE s.state <> 'logged_out';

-- name: queue_members
-- Each queue's members as last announced (queue.members): the agents who take its calls now.
SELECT queue, agents FROM queue_members;

-- name: agent_counts
-- Per agent, the counts behind the agent scores for [$1, $2); $3 = answer target seconds,
-- $4 = hold limit seconds, $5 = now, $6 = the end of the report that [$1, $2) is a piece of ($2
-- when it is the whole report), $7 = whether to count repeat calls (reports do; the live snapshot,
-- which does not show them, spares itself the look-up of every call's earlier calls). Each count is
-- taken at the time of the event that decides it, so
-- the counts of the pieces of a report add up to the report's. Also holds_open: holds started in
-- [$1, $2) whose end is not known yet. Every part reads only the window's rows through an index,
-- never the whole history.
WITH answered AS (
    SELECT answered_by AS agent,
           count(*) AS answered,
           count(*) FILTER (WHERE answered_at - queued_at <= make_interval(secs => $3)) AS answered_on_time,
           coalesce(sum(extract(epoch FROM answered_at - queued_at)), 0) AS answer_seconds  -- exact: numeric
    FROM calls
    WHERE answered_at >= $1 AND answered_at < $2 AND queued_at IS NOT NULL AND answered_by IS NOT NULL
    GROUP BY answered_by
), ended AS (
    SELECT last_agent AS agent,
           count(*) AS handled,
           count(*) FILTER (WHERE resolved IS NOT NULL) AS resolution_known,
           count(*) FILTER (WHERE resolved) AS resolved,
           count(*) FILTER (WHERE released_by = 'agent') AS agent_released
    FROM calls
    WHERE ended_at >= $1 AND ended_at < $2 AND last_agent IS NOT NULL
    GROUP BY last_agent
), rated AS (
    SELECT agent, count(*) AS surveys, count(*) FILTER (WHERE score >= 4) AS satisfied
    FROM surveys
    WHERE ts >= $1 AND ts < $2
    GROUP BY agent
), held AS (
    -- The hold spans of docs/metrics.md (as in the hold_spans view) that started in the window,
    -- read from the window's hold starts only: each ends at its call's next hold event, else at
    -- the call's end; one still open counts its age at the report's end (or now, if sooner).
    SELECT h.agent,
           count(*) AS holds,
           count(*) FILTER (WHERE coalesce(n.ts, c.ended_at, least($5, $6::timestamptz)) - h.ts
                                  > make_interval(secs => $4)) AS holds_over_limit,
           count(*) FILTER (WHERE n.ts IS NULL AND c.ended_at IS NULL) AS holds_open
    FROM hold_events h
    JOIN calls c USING (feed, call_id)
    LEFT JOIN LATERAL (
        SELECT e.ts
        FROM hold_events e
        WHERE e.feed = h.feed AND e.call_id = h.call_id AND (e.ts > h.ts OR (e.ts = h.ts AND e.kind < h.kind))
        ORDER BY e.ts, e.kind DESC
        LIMIT 1
    ) n ON true
    WHERE h.kind = 'start' AND h.ts >= $1 AND h.ts < $2
    GROUP BY h.agent
), promised AS (
    SELECT agent,
           count(*) AS callbacks_due,
           count(*) FILTER (WHERE callback_at <= due) AS callbacks_on_time
    FROM complaints
    WHERE least(callback_at, due) >= $1 AND least(callback_at, due) < least($5, $2)
      AND agent IS NOT NULL  -- not before its complaint.opened, which names the agent, has arrived
    GROUP BY agent
), repeated AS (  -- repeat calls offered in the window, counted for who ended the call repeated
    SELECT agent, count(*) AS repeats
    FROM repeat_calls
    WHERE $7::boolean AND queued_at >= $1 AND queued_at < $2 AND agent IS NOT NULL
    GROUP BY agent
), everyone AS (
    SELECT agent FROM answered UNION SELECT agent FROM ended UNION SELECT agent FROM rated
    UNION SELECT agent FROM held UNION SELECT agent FROM promised UNION SELECT agent FROM repeated
)
SELECT e.agent, coalesce(d.name, e.agent) AS name, d.team,
       coalesce(a.answered, 0) AS answered, coalesce(a.answered_on_time, 0) AS answered_on_time,
       coalesce(a.answer_seconds, 0) AS answer_seconds,
       coalesce(n.handled, 0) AS handled, coalesce(n.resolution_known, 0) AS resolution_known,
       coalesce(n.resolved, 0) AS resolved, coalesce(n.agent_released, 0) AS agent_released,
       coalesce(r.surveys, 0) AS surveys, coalesce(r.satisfied, 0) AS satisfied,
       coalesce(h.holds, 0) AS holds, coalesce(h.holds_over_limit, 0) AS holds_over_limit,
       coalesce(h.holds_open, 0) AS holds_open,
       coalesce(p.callbacks_due, 0) AS callbacks_due, coalesce(p.callbacks_on_time, 0) AS callbacks_on_time,
       coalesce(x.repeats, 0) AS repeats
FROM everyone e
LEFT JOIN agents d USING (agent)
LEFT JOIN answered a USING (agent)
LEFT JOIN ended n USING (agent)
LEFT JOIN rated r USING (agent)
LEFT JOIN held h USING (agent)
LEFT JOIN promised p USING (agent)
LEFT JOIN repeated x USING (agent);

-- name: freshness
-- When the ingest last committed events, its oldest heartbeat across feeds, and whether every
-- feed is connected.
SELECT max(last_commit_at) AS last_commit_at,
       min(heartbeat_at) AS heartbeat_at,
       coalesce(bool_and(connected), false) AS feeds_connected
FROM feeds;

-- The live state in memory (dashboard/live_state.py) is built from, and kept up to date with, the
-- rows below: read whole at the start of a day, then by key for what each committed batch touched.

-- name: calls_of_the_day
-- The calls that may count in a live figure of the day that began at $1: decided (offered,
-- answered, abandoned, ended) since, held or surveyed since, or open now (waiting or in progress).
-- Each part reads its own index.
SELECT feed, call_id FROM calls WHERE queued_at >= $1
UNION SELECT feed, call_id FROM calls WHERE answered_at >= $1
UNION SELECT feed, call_id FROM calls WHERE abandoned_at >= $1
UNION SELECT feed, call_id FROM calls WHERE ended_at >= $1
UNION SELECT feed, call_id FROM calls
      WHERE abandoned_at IS NULL AND ended_at IS NULL AND (answered_at IS NULL OR requeued_at > last_answered_at)
UNION SELECT feed, call_id FROM calls WHERE answered_at IS NOT NULL AND ended_at IS NULL
UNION SELECT feed, call_id FROM hold_events WHERE kind = 'start' AND ts >= $1
UNION SELECT feed, call_id FROM surveys WHERE ts >= $1;

-- name: calls_by_key
-- The calls of feeds $1 and ids $2 (pairwise, each once), as stored (the caller's number is masked by
-- callboard.privacy before anyone sees it; ``stored`` false for a key with no call row), each with
-- its hold events as (ts, kind, agent) and its survey (NULL when none). One look-up per key and
-- table, whatever the history.
SELECT k.feed, k.call_id, c.call_id IS NOT NULL AS stored, c.queue, c.caller, c.queued_at, c.answered_at,
       c.answered_by, c.last_answered_at, c.requeued_at, c.abandoned_at, c.ended_at, c.last_agent, c.released_by,
       c.resolved,
       ARRAY(SELECT ROW(h.ts, h.kind, h.agent) FROM hold_events h
             WHERE h.feed = k.feed AND h.call_id = k.call_id) AS holds,
       s.agent AS survey_agent, s.score AS survey_score, s.ts AS survey_ts
FROM unnest($1::text[], $2::text[]) AS k(feed, call_id)
LEFT JOIN calls c ON c.feed = k.feed AND c.call_id = k.call_id
LEFT JOIN surveys s ON s.feed = k.feed AND s.call_id = k.call_id;

-- name: complaints_of_the_day
-- The complaints that may count in a live figure of the day that began at $1: open now (no
-- callback, not closed), or with a callback made or due since.
SELECT feed, complaint_id FROM complaints WHERE callback_at IS NULL AND closed_at IS NULL
UNION SELECT feed, complaint_id FROM complaints WHERE least(callback_at, due) >= $1;

-- name: complaints_by_key
-- The complaints of feeds $1 and ids $2 (pairwise); never the customer.
SELECT k.feed, k.complaint_id, k.agent, k.opened_at, k.due, k.severity, k.callback_at, k.closed_at, k.resolved
FROM unnest($1::text[], $2::text[]) AS w(feed, complaint_id)
JOIN complaints k ON k.feed = w.feed AND k.complaint_id = w.complaint_id;

-- name: agents_by_key
-- The directory entries of agents $1 (every agent when NULL), with their latest state if any.
SELECT d.agent, d.name, d.team, s.state, s.reason, s.started_at
FROM agents d
LEFT JOIN LATERAL (
    SELECT state, reason, started_at
    FROM agent_states
    WHERE agent = d.agent
    ORDER BY started_at DESC
    LIMIT 1
) s ON true
WHERE $1::text[] IS NULL OR d.agent = any($1::text[]);
