-- Reads behind the managers' trends, beside live.queue_counts (which they share with the live
-- view). Counts only; the figures are formed in callboard/metrics.py (docs/metrics.md).

-- name: floor_counts
-- Per bucket of [$1[1], $2) (bucket n runs from $1[n] to $1[n + 1], the last one to $2, as in
-- live.queue_counts), queue (of the hold's call, of the complaint's call, of a repeat's first call)
-- and agent (who held, whose complaint, who ended a repeat's first call): holds started, and those
-- of them longer than $3 seconds; promised callbacks decided (made, or due before $4 without one)
-- and those made by their due time; repeat calls offered (docs/metrics.md). Each is counted
-- as in live.agent_counts: a hold ends at its call's next hold event, else at the call's end, else
-- it counts its age at $4. $4: now, or the end of the trend's window if that is sooner (a trend
-- counted in pieces passes each piece the window's). $5: only the calls of these
-- queues (a complaint's, its call's), or NULL for all; $6: only the agents of this team, or NULL.
WITH held AS (
    SELECT width_bucket(h.ts, $1::timestamptz[]) AS bucket, c.queue, h.agent,
           count(*) AS holds,
           count(*) FILTER (WHERE coalesce(n.ts, c.ended_at, $4::timestamptz) - h.ts
                                  > make_interval(secs => $3)) AS holds_over_limit
    FROM hold_events h
    JOIN calls c USING (feed, call_id)
    LEFT JOIN agents d ON d.agent = h.agent
    LEFT JOIN LATERAL (
        SELECT e.ts
        FROM hold_events e
        WHERE e.feed = h.feed AND e.call_id = h.call_id AND (e.ts > h.ts OR (e.ts = h.ts AND e.kind < h.kind))
        ORDER BY e.ts, e.kind DESC
        LIMIT 1
    ) n ON true
    WHERE h.kind = 'start' AND h.ts >= ($1::timestamptz[])[1] AND h.ts < $2
      AND ($5::text[] IS NULL OR c.queue = any($5::text[]))
      AND ($6::text IS NULL OR d.team = $6)
    GROUP BY 1, 2, 3
), promised AS (
    SELECT width_bucket(least(k.callback_at, k.due), $1::timestamptz[]) AS bucket, c.queue, k.agent,
           count(*) AS callbacks_due,
           count(*) FILTER (WHERE k.callback_at <= k.due) AS callbacks_on_time
    FROM complaints k
    LEFT JOIN calls c ON c.feed = k.feed AND c.call_id = k.call_id
    LEFT JOIN agents d ON d.agent = k.agent
    WHERE least(k.callback_at, k.due) >= ($1::timestamptz[])[1] AND least(k.callback_at, k.due) < least($4, $2)
      AND k.agent IS NOT NULL  -- not before its complaint.opened, which names the agent, has arrived
      AND ($5::text[] IS NULL OR c.queue = any($5::text[]))
      AND ($6::text IS NULL OR d.team = $6)
    GROUP BY 1, 2, 3
), repeated AS (
    SELECT width_bucket(r.queued_at, $1::timestamptz[]) AS bucket, r.queue, r.agent, count(*) AS repeats
    FROM repeat_calls r
    LEFT JOIN agents d ON d.agent = r.agent
    WHERE r.queued_at >= ($1::timestamptz[])[1] AND r.queued_at < $2
      AND ($5::text[] IS NULL OR r.queue = any($5::text[]))
      AND ($6::text IS NULL OR d.team = $6)
    GROUP BY 1, 2, 3
)
SELECT bucket, queue, agent,
       coalesce(h.holds, 0) AS holds, coalesce(h.holds_over_limit, 0) AS holds_over_limit,
       coalesce(p.callbacks_due, 0) AS callbacks_due, coalesce(p.callbacks_on_time, 0) AS callbacks_on_time,
       coalesce(r.repeats, 0) AS repeats
FROM held h
FULL JOIN promised p USING (bucket, queue, agent)
FULL JOIN repeated r USING (bucket, queue, agent);

-- name: queues_offered
-- The queues that had calls queued in [$1, $2): what the trends' queue filter offers.
SELECT DISTINCT queue FROM calls WHERE queued_at >= $1 AND queued_at < $2 AND queue IS NOT NULL ORDER BY queue;

-- name: teams
-- Every team an agent has been seen in: what the trends' team filter offers.
SELECT DISTINCT team FROM agents WHERE team IS NOT NULL ORDER BY team;
