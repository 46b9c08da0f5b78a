-- Per-day totals of the agent counts (the agent_days and agent_day_counts tables) and per-quarter-hour
-- totals of the queue and floor counts (queue_quarter_counts, floor_quarter_counts and
-- floor_quarter_counts_by_agent): computed by the
-- ingest's roll-up loop (ingest/rollup.py), read by the reports (dashboard/data.py) and the trends
-- (dashboard/history.py). Days are UTC days; a day is complete once it has ended (by the database's
-- clock). See db/migrations/0004_agent_day_rollups.sql and 0008_quarter_rollups.sql for why these
-- tables exist and how they stay right.

-- name: ingest_in_flight_since
-- Whether a transaction that changes floor state and began before $1 is still in flight: those
-- hold the lock "CallRoll" shared (ingest.create_staging, ingest.keep_days_open); its 64-bit key
-- shows in pg_locks as two halves. One that began before a day ended may have judged the day not
-- yet complete, and so not marked it when changing it: the day waits until it has committed.
SELECT EXISTS (
    SELECT FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.classid = (4855281085777407084 >> 32)::oid AND l.objid = (4855281085777407084 & 4294967295)::oid
      AND l.objsubid = 1 AND a.xact_start < $1
);

-- name: mark_days_without_totals
-- Mark stale each complete day of the last $1 days that has no totals computed under answer
-- target $2, hold limit $3 and short-abandon threshold $4 (a new database, the thresholds changed,
-- or a day just ended).
INSERT INTO stale_days (day)
SELECT day
FROM generate_series(1, $1::int) AS back,
     LATERAL (SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date - back AS day) d
WHERE NOT EXISTS (SELECT FROM agent_days a WHERE a.day = d.day AND a.answer_target_s = $2 AND a.hold_limit_s = $3
                                             AND a.short_abandon_s = $4)
ORDER BY day
ON CONFLICT DO NOTHING;

-- name: next_stale_day
-- The latest complete day marked stale before $1, and the number of its latest marking.
SELECT day, mark
FROM stale_days
WHERE day < (clock_timestamp() AT TIME ZONE 'UTC')::date AND marked_at < $1
ORDER BY day DESC
LIMIT 1;

-- name: unmark_day
-- Take day $1 off the stale list if its latest marking is still $2 (nothing changed it since the
-- totals being stored were computed); the day, or nothing. Last in the transaction that stores the
-- totals: a batch marking the day again waits for this row until that transaction ends.
DELETE FROM stale_days WHERE day = $1 AND mark = $2 RETURNING day;

-- name: forget_day
-- Drop day $1's totals, whatever thresholds they were computed under.
DELETE FROM agent_days WHERE day = $1;

-- name: store_day
-- Day $1's agent totals under answer target $2, hold limit $3 and short-abandon threshold $4, with
-- $5 holds still open on it (then without counts: the day is counted from the calls), and one row
-- per agent from the arrays $6 (agent) and $7.. (the counts, in the order of the agent_day_counts
-- columns). Its quarter hours follow (store_queue_quarters, store_floor_quarters).
WITH day AS (
    INSERT INTO agent_days (day, answer_target_s, hold_limit_s, short_abandon_s, holds_open)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING day
)
INSERT INTO agent_day_counts (day, agent, answered, answered_on_time, answer_seconds, handled, resolution_known,
                              resolved, agent_released, surveys, satisfied, holds, holds_over_limit,
                              callbacks_due, callbacks_on_time, repeats)
SELECT day.day, c.*
FROM day,
     unnest($6::text[], $7::int[], $8::int[], $9::numeric[], $10::int[], $11::int[], $12::int[], $13::int[],
            $14::int[], $15::int[], $16::int[], $17::int[], $18::int[], $19::int[], $20::int[])
         AS c(agent, answered, answered_on_time, answer_seconds, handled, resolution_known, resolved,
              agent_released, surveys, satisfied, holds, holds_over_limit, callbacks_due, callbacks_on_time,
              repeats)
ORDER BY c.agent;

-- name: store_queue_quarters
-- Day $1's queue counts per quarter hour: rows of live.queue_counts run over the day's quarters $2
-- (bucket n is the quarter $2[n]), as arrays $3 (bucket), $4 (queue), $5.. (the counts).
INSERT INTO queue_quarter_counts (day, quarter, queue, offered, answered, answered_on_time, answer_seconds,
                                  abandoned, short_abandoned)
SELECT $1, ($2::timestamptz[])[c.bucket], c.queue, c.offered, c.answered, c.answered_on_time, c.answer_seconds,
       c.abandoned, c.short_abandoned
FROM unnest($3::int[], $4::text[], $5::int[], $6::int[], $7::int[], $8::numeric[], $9::int[], $10::int[])
     AS c(bucket, queue, offered, answered, answered_on_time, answer_seconds, abandoned, short_abandoned)
ORDER BY 2, 3;

-- name: store_floor_quarters
-- Day $1's floor counts per quarter hour: rows of trends.floor_counts run over the day's quarters
-- $2, as arrays $3 (bucket), $4 (queue), $5 (agent), $6.. (the counts); then added up per queue.
WITH by_agent AS (
    INSERT INTO floor_quarter_counts_by_agent (day, quarter, queue, agent, holds, holds_over_limit, callbacks_due,
                                               callbacks_on_time, repeats)
    SELECT $1, ($2::timestamptz[])[c.bucket], c.queue, c.agent, c.holds, c.holds_over_limit, c.callbacks_due,
           c.callbacks_on_time, c.repeats
    FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[])
         AS c(bucket, queue, agent, holds, holds_over_limit, callbacks_due, callbacks_on_time, repeats)
    RETURNING *
)
INSERT INTO floor_quarter_counts (day, quarter, queue, holds, holds_over_limit, callbacks_due, callbacks_on_time,
                                  repeats)
SELECT day, quarter, queue, sum(holds), sum(holds_over_limit), sum(callbacks_due), sum(callbacks_on_time),
       sum(repeats)
FROM by_agent
GROUP BY day, quarter, queue
ORDER BY quarter, queue;

-- name: days_with_totals
-- The days in [$1, $2) whose totals are usable by a reader with answer target $3 and hold limit
-- $4: computed under those thresholds, with no hold open, and not marked stale since.
SELECT a.day
FROM agent_days a
WHERE a.day >= $1 AND a.day < $2 AND a.answer_target_s = $3 AND a.hold_limit_s = $4 AND a.holds_open = 0
  AND NOT EXISTS (SELECT FROM stale_days s WHERE s.day = a.day)
ORDER BY a.day;

-- name: agent_counts_of_days
-- Per agent, the counts of live.agent_counts summed over the days $1 (read with days_with_totals,
-- in the same transaction).
SELECT c.agent, coalesce(d.name, c.agent) AS name, d.team,
       sum(c.answered)::bigint AS answered, sum(c.answered_on_time)::bigint AS answered_on_time,
       sum(c.answer_seconds) AS answer_seconds,
       sum(c.handled)::bigint AS handled, sum(c.resolution_known)::bigint AS resolution_known,
       sum(c.resolved)::bigint AS resolved, sum(c.agent_released)::bigint AS agent_released,
       sum(c.surveys)::bigint AS surveys, sum(c.satisfied)::bigint AS satisfied,
       sum(c.holds)::bigint AS holds, sum(c.holds_over_limit)::bigint AS holds_over_limit,
       sum(c.callbacks_due)::bigint AS callbacks_due, sum(c.callbacks_on_time)::bigint AS callbacks_on_time,
       sum(c.repeats)::bigint AS repeats
FROM agent_day_counts c
LEFT JOIN agents d USING (agent)
WHERE c.day = any($1::date[])
GROUP BY c.agent, d.name, d.team;

-- name: days_with_quarters
-- The days in [$1, $2) whose quarter-hour totals are usable by a reader with answer target $3,
-- hold limit $4 and short-abandon threshold $5 (as days_with_totals).
SELECT a.day
FROM agent_days a
WHERE a.day >= $1 AND a.day < $2 AND a.answer_target_s = $3 AND a.hold_limit_s = $4 AND a.short_abandon_s = $5
  AND a.holds_open = 0
  AND NOT EXISTS (SELECT FROM stale_days s WHERE s.day = a.day)
ORDER BY a.day;

-- name: queue_counts_of_quarters
-- live.queue_counts, read from the quarter hours of days $3 (read with days_with_quarters, in the
-- same transaction) in [$1[1], $2) with buckets as there; $4: only these queues, or NULL for all.
SELECT queue, width_bucket(quarter, $1::timestamptz[]) AS bucket,
       sum(offered)::bigint AS offered, sum(answered)::bigint AS answered,
       sum(answered_on_time)::bigint AS answered_on_time, sum(answer_seconds) AS answer_seconds,
       sum(abandoned)::bigint AS abandoned, sum(short_abandoned)::bigint AS short_abandoned
FROM queue_quarter_counts
WHERE day = any($3::date[]) AND quarter >= ($1::timestamptz[])[1] AND quarter < $2
  AND ($4::text[] IS NULL OR queue = any($4::text[]))
GROUP BY queue, bucket;

-- name: floor_counts_of_quarters
-- trends.floor_counts for all agents, read from the quarter hours of days $3 in [$1[1], $2) with
-- buckets as there; $4: only the calls of these queues, or NULL for all.
SELECT width_bucket(quarter, $1::timestamptz[]) AS bucket,
       sum(holds)::bigint AS holds, sum(holds_over_limit)::bigint AS holds_over_limit,
       sum(callbacks_due)::bigint AS callbacks_due, sum(callbacks_on_time)::bigint AS callbacks_on_time,
       sum(repeats)::bigint AS repeats
FROM floor_quarter_counts
WHERE day = any($3::date[]) AND quarter >= ($1::timestamptz[])[1] AND quarter < $2
  AND ($4::text[] IS NULL OR queue = any($4::text[]))
GROUP BY 1;

-- name: team_floor_counts_of_quarters
-- floor_counts_of_quarters for the agents of team $5 only.
SELECT width_bucket(f.quarter, $1::timestamptz[]) AS bucket,
       sum(f.holds)::bigint AS holds, sum(f.holds_over_limit)::bigint AS holds_over_limit,
       sum(f.callbacks_due)::bigint AS callbacks_due, sum(f.callbacks_on_time)::bigint AS callbacks_on_time,
       sum(f.repeats)::bigint AS repeats
FROM floor_quarter_counts_by_agent f
JOIN agents d ON d.agent = f.agent
WHERE f.day = any($3::date[]) AND f.quarter >= ($1::timestamptz[])[1] AND f.quarter < $2
  AND ($4::text[] IS NULL OR f.queue = any($4::text[]))
  AND d.team = $5
GROUP BY 1;

-- name: agent_counts_by_day
-- Per day of $1 and agent, the counts of live.agent_counts (read with days_with_totals, in the
-- same transaction): the agents' scorecards by day.
SELECT c.day, c.agent, coalesce(d.name, c.agent) AS name, d.team,
       c.answered, c.answered_on_time, c.answer_seconds, c.handled, c.resolution_known, c.resolved,
       c.agent_released, c.surveys, c.satisfied, c.holds, c.holds_over_limit, c.callbacks_due,
       c.callbacks_on_time, c.repeats
FROM agent_day_counts c
LEFT JOIN agents d USING (agent)
WHERE c.day = any($1::date[]);
