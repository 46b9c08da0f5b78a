-- Reads behind the managers' trends, beside live.queue_counts (which they share with the live
-- view). Counts only; the figures are formed in callboard/metrics.py (docs/metrics.md).

-- name: floor_counts
-- Per bucket of [$1[1], $2) (bucket n runs from $1[n] to $1[n + 1], the last one to $2, as in
-- live.queue_counts): holds started, and those of them longer than $3 seconds; promised callbacks
-- decided (made, or due before now $4 without one) and those made by their due time. Each is
-- counted as in live.agent_counts: a hold ends at its call's next hold event, else at the call's
-- end, else it counts its age at now or $2, whichever is sooner. $5: only the calls of these
-- queues (a complaint's, its call's), or NULL for all; $6: only the agents of this team, or NULL.
WITH held AS (
    SELECT width_bucket(h.ts, $1::timestamptz[]) AS bucket,
           count(*) AS holds,
           count(*) FILTER (WHERE coalesce(n.ts, c.ended_at, least($4, $2::timestamptz)) - h.ts
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
    GROUP BY 1
), promised AS (
    SELECT width_bucket(least(k.callback_at, k.due), $1::timestamptz[]) AS bucket,
           count(*) AS callbacks_due,
           count(*) FILTER (WHERE k.callback_at <= k.due) AS callbacks_on_time
    FROM complaints k
    LEFT JOIN calls c ON c.feed = k.feed AND c.call_id = k.call_id
    LEFT JOIN agents d ON d.agent = k.agent
    WHERE least(k.callback_at, k.due) >= ($1::timestamptz[])[1] AND least(k.callback_at, k.due) < least($4, $2)
      AND k.agent IS NOT NULL  -- not before its complaint.opened, which names the agent, has arrived
      AND ($5::text[] IS NULL OR c.queue = any($5::text[]))
      AND ($6::text IS NULL OR d.team = $6)
    GROUP BY 1
)
SELECT bucket,
       coalesce(h.holds, 0) AS holds, coalesce(h.holds_over_limit, 0) AS holds_over_limit,
       coalesce(p.callbacks_due, 0) AS callbacks_due, coalesce(p.callbacks_on_time, 0) AS callbacks_on_time
FROM held h
FULL JOIN promised p USING (bucket);

-- name: queues_offered
-- The queues that had calls queued in [$1, $2): what the trends' queue filter offers.
SELECT DISTINCT queue FROM calls WHERE queued_at >= $1 AND queued_at < $2 AND queue IS NOT NULL ORDER BY queue;

-- name: teams
-- Every team an agent has been seen in: what the trends' team filter offers.
SELECT DISTINCT team FROM agents WHERE team IS NOT NULL ORDER BY team;
