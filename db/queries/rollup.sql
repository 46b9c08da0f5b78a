-- Per-day totals of the agent counts (the agent_days and agent_day_counts tables): computed by the
-- ingest's roll-up loop (ingest/rollup.py), read by the reports (dashboard/data.py).
-- Days are UTC days; a day is complete once it has ended (by the database's clock). See
-- db/migrations/0004_agent_day_rollups.sql for why these tables exist and how they stay right.

-- name: lock_for_roll_up
-- Wait until no ingest transaction is in flight and keep new ones out until this transaction ends
-- (they take the same lock, "CallRoll", shared: ingest.create_staging). A day is then computed
-- from a state every ingest commit either precedes or follows in full, so every later change to
-- it marks it stale again.
SELECT pg_advisory_xact_lock(4855281085777407084);

-- name: try_lock_for_roll_up
-- lock_for_roll_up, if no ingest transaction is in flight now; true if taken. Waiting for the lock
-- would hold off every new ingest transaction until those in flight end.
SELECT pg_try_advisory_xact_lock(4855281085777407084);

-- name: mark_days_without_totals
-- Mark stale each complete day of the last $1 days that has no totals computed under answer
-- target $2 and hold limit $3 (a new database, the thresholds changed, or a day just ended).
INSERT INTO stale_days (day)
SELECT day
FROM generate_series(1, $1::int) AS back,
     LATERAL (SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date - back AS day) d
WHERE NOT EXISTS (SELECT FROM agent_days a WHERE a.day = d.day AND a.answer_target_s = $2 AND a.hold_limit_s = $3)
ORDER BY day
ON CONFLICT DO NOTHING;

-- name: any_stale_day
-- Whether a complete day marked stale before $1 waits (asked before taking the lock, which holds
-- the ingest off, so that a pass with nothing to do does not).
SELECT EXISTS (SELECT FROM stale_days
               WHERE day < (clock_timestamp() AT TIME ZONE 'UTC')::date AND marked_at < $1);

-- name: claim_stale_day
-- Take the latest complete day marked stale before $1 off the list, to compute it in this same
-- transaction; it is marked again by any ingest that changes it after this transaction.
DELETE FROM stale_days
WHERE day = (SELECT day FROM stale_days
             WHERE day < (clock_timestamp() AT TIME ZONE 'UTC')::date AND marked_at < $1
             ORDER BY day DESC
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
RETURNING day;

-- name: forget_day
-- Drop day $1's totals, whatever thresholds they were computed under.
DELETE FROM agent_days WHERE day = $1;

-- name: store_day
-- Day $1's totals under answer target $2 and hold limit $3, with $4 holds still open on it (then
-- without counts: the day is counted from the calls), and one row per agent from the arrays
-- $5 (agent) and $6.. (the counts, in the order of the agent_day_counts columns).
WITH day AS (
    INSERT INTO agent_days (day, answer_target_s, hold_limit_s, holds_open)
    VALUES ($1, $2, $3, $4)
    RETURNING day
)
INSERT INTO agent_day_counts (day, agent, answered, answered_on_time, answer_seconds, handled, resolution_known,
                              resolved, agent_released, surveys, satisfied, holds, holds_over_limit,
                              callbacks_due, callbacks_on_time)
SELECT day.day, c.*
FROM day,
     unnest($5::text[], $6::int[], $7::int[], $8::numeric[], $9::int[], $10::int[], $11::int[], $12::int[],
            $13::int[], $14::int[], $15::int[], $16::int[], $17::int[], $18::int[])
         AS c(agent, answered, answered_on_time, answer_seconds, handled, resolution_known, resolved,
              agent_released, surveys, satisfied, holds, holds_over_limit, callbacks_due, callbacks_on_time)
ORDER BY c.agent;

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
       sum(c.callbacks_due)::bigint AS callbacks_due, sum(c.callbacks_on_time)::bigint AS callbacks_on_time
FROM agent_day_counts c
LEFT JOIN agents d USING (agent)
WHERE c.day = any($1::date[])
GROUP BY c.agent, d.name, d.team;

-- name: agent_counts_by_day
-- Per day of $1 and agent, the counts of live.agent_counts (read with days_with_totals, in the
-- same transaction): the agents' scorecards by day.
SELECT c.day, c.agent, coalesce(d.name, c.agent) AS name, d.team,
       c.answered, c.answered_on_time, c.answer_seconds, c.handled, c.resolution_known, c.resolved,
       c.agent_released, c.surveys, c.satisfied, c.holds, c.holds_over_limit, c.callbacks_due,
       c.callbacks_on_time
FROM agent_day_counts c
LEFT JOIN agents d USING (agent)
WHERE c.day = any($1::date[]);
