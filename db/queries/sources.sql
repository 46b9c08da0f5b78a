-- Reads of what the ingest stored of a feed, for a source that cannot replay what the telephony
-- system sent (Asterisk's AMI): after a restart it takes up the calls in progress and the agents'
-- states where the ingest left them, instead of making their events again from the system's status.

-- name: open_calls
-- The calls of feed $1 in progress: waiting (queued, or sent back to a queue, and not answered
-- since) or talking, and for one talking its latest call.answered as stored (its agent and, in its
-- source, the system's own event). Reads only the open calls (calls_waiting_idx, calls_talking_idx).
SELECT o.call_id, o.queue, o.waiting, a.body AS answered
FROM (
    SELECT feed, call_id, queue, true AS waiting
    FROM calls
    WHERE feed = $1 AND abandoned_at IS NULL AND ended_at IS NULL
      AND (answered_at IS NULL OR requeued_at > last_answered_at) AND queued_at IS NOT NULL
    UNION ALL
    SELECT feed, call_id, queue, false
    FROM calls
    WHERE feed = $1 AND answered_at IS NOT NULL AND ended_at IS NULL AND abandoned_at IS NULL
      AND NOT coalesce(requeued_at > last_answered_at, false) AND queued_at IS NOT NULL
) o
LEFT JOIN LATERAL (
    SELECT l.body
    FROM event_log l
    WHERE l.feed = o.feed AND l.call_id = o.call_id AND l.type = 'call.answered'
    ORDER BY l.ts DESC
    LIMIT 1
) a ON NOT o.waiting
ORDER BY o.call_id;

-- name: agent_states_last
-- Every agent's latest state and its reason ('' when none), logged out included.
SELECT d.agent, s.state, coalesce(s.reason, '') AS reason
FROM agents d
CROSS JOIN LATERAL (
    SELECT state, reason
    FROM agent_states
    WHERE agent = d.agent
    ORDER BY started_at DESC
    LIMIT 1
) s
ORDER BY d.agent;

-- name: queue_members
-- The queues whose members feed $1 announced last, with those members.
SELECT queue, agents FROM queue_members WHERE feed = $1 ORDER BY queue;
