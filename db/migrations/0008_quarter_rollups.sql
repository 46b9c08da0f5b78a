-- Per-quarter-hour totals of the queue and floor counts, so that trends over months read a few
-- rows per queue and quarter hour instead of every call (issue #16: a 30-day trend in 300 ms, a
-- year by day in 1 s).
--
-- They are computed with a day's agent totals, in the same transaction, from the same queries a
-- trend runs on the calls (live.queue_counts, trends.floor_counts) with the day's 96 UTC quarter
-- hours as buckets, and dropped with them: an agent_days row now says that the whole day is
-- rolled up. Every site zone's offset is a whole number of quarter hours, so local hours, days,
-- weeks, months and shifts that start on a quarter hour are made of whole UTC quarters; a trend
-- counts whatever is not (and every day not rolled up) from the calls, as before.

-- Queue counts depend on the short-abandon threshold too; days rolled up before it was recorded
-- match no reader's thresholds and are computed again (rollup.mark_days_without_totals).
ALTER TABLE agent_days ADD COLUMN short_abandon_s double precision;

-- The counts of live.queue_counts for one queue and one quarter hour [quarter, quarter + 15 min).
CREATE TABLE queue_quarter_counts (
    day              date        NOT NULL REFERENCES agent_days ON DELETE CASCADE,
    quarter          timestamptz NOT NULL,
    queue            text        NOT NULL,
    offered          integer     NOT NULL,
    answered         integer     NOT NULL,
    answered_on_time integer     NOT NULL,
    answer_seconds   numeric     NOT NULL,  -- exact, so that sums equal the raw sum
    abandoned        integer     NOT NULL,
    short_abandoned  integer     NOT NULL,
    PRIMARY KEY (quarter, queue)
);
CREATE INDEX queue_quarter_counts_day ON queue_quarter_counts (day);

-- The counts of trends.floor_counts for one quarter hour, per queue (of the hold's call, of the
-- complaint's call; NULL when that call is unknown) and agent (who held, whose complaint), so
-- that trends filtered by team read them as they read the calls (the agent's team now).
CREATE TABLE floor_quarter_counts_by_agent (
    day               date        NOT NULL REFERENCES agent_days ON DELETE CASCADE,
    quarter           timestamptz NOT NULL,
    queue             text,
    agent             text,
    holds             integer     NOT NULL,
    holds_over_limit  integer     NOT NULL,
    callbacks_due     integer     NOT NULL,
    callbacks_on_time integer     NOT NULL
);
CREATE INDEX floor_quarter_counts_by_agent_quarter ON floor_quarter_counts_by_agent (quarter);
CREATE INDEX floor_quarter_counts_by_agent_day ON floor_quarter_counts_by_agent (day);

-- The same, added up per queue: what a trend without a team filter reads (a year of them is a
-- few hundred thousand rows, where the agents' are millions).
CREATE TABLE floor_quarter_counts (
    day               date        NOT NULL REFERENCES agent_days ON DELETE CASCADE,
    quarter           timestamptz NOT NULL,
    queue             text,
    holds             integer     NOT NULL,
    holds_over_limit  integer     NOT NULL,
    callbacks_due     integer     NOT NULL,
    callbacks_on_time integer     NOT NULL
);
CREATE INDEX floor_quarter_counts_quarter ON floor_quarter_counts (quarter);
CREATE INDEX floor_quarter_counts_day ON floor_quarter_counts (day);

-- A batch that changes a call marks stale the days of its complaints' callbacks too (the call's
-- queue is theirs in the floor counts): found by the call.
CREATE INDEX complaints_of_call ON complaints (feed, call_id);
