-- Reads behind the floor view's drill-down: one agent's calls, one call's timeline. Bounded to one
-- agent and one day, or one call; never the caller's number or a complaint's customer.

-- name: agent_calls
-- The calls agent $1 answered or ended in [$2, $3), newest first, at most $4: queue, when queued,
-- answered (first answer) and ended, how the call ended, its holds (count, longest, by anyone on
-- the call) and its survey score. Reads the window's answered and ended calls through their indexes.
SELECT c.feed, c.call_id, c.queue, c.queued_at, c.answered_at, c.answered_by, c.ended_at, c.last_agent,
       c.abandoned_at, c.released_by, c.resolved, c.disposition,
       coalesce(h.holds, 0) AS holds, h.longest_hold_s, s.score AS survey_score
FROM (
    SELECT feed, call_id FROM calls WHERE answered_at >= $2 AND answered_at < $3 AND answered_by = $1
    UNION
    SELECT feed, call_id FROM calls WHERE ended_at >= $2 AND ended_at < $3 AND last_agent = $1
) mine
JOIN calls c USING (feed, call_id)
LEFT JOIN LATERAL (
    SELECT count(*) AS holds, max(extract(epoch FROM coalesce(ended_at, $3) - started_at))::float8 AS longest_hold_s
    FROM hold_spans
    WHERE feed = c.feed AND call_id = c.call_id
) h ON true
LEFT JOIN surveys s USING (feed, call_id)
ORDER BY coalesce(c.answered_at, c.ended_at) DESC, c.feed, c.call_id
LIMIT $4;

-- name: call_timeline
-- Every stored event of call $2 of feed $1 in order: type, time, and the fields that say what happened
-- (agent, queue, transfer, release, resolution, survey score); never the caller's number.
SELECT type, ts, seq,
       coalesce(body ->> 'agent', body ->> 'from_agent') AS agent,
       body ->> 'queue' AS queue,
       body ->> 'to_agent' AS to_agent,
       body ->> 'to_queue' AS to_queue,
       body ->> 'released_by' AS released_by,
       (body ->> 'resolved')::boolean AS resolved,
       (body ->> 'score')::int AS score
FROM event_log
WHERE feed = $1 AND call_id = $2
ORDER BY ts, seq NULLS LAST, event_id;

-- name: agent_name
-- Agent $1's name as last announced (their id when never announced).
SELECT coalesce((SELECT name FROM agents WHERE agent = $1), $1);
