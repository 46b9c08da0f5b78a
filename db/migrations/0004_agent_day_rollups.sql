-- Per-day totals of the agent counts, so that a report over weeks reads a row per agent and day
-- instead of every call of the window (issue #4: a 30-day /api/v1/agents in 500 ms).
--
-- Days are UTC days, whatever the site's time zone: a report window then splits into a partial
-- first day and a partial last day, counted from the calls as before, and the whole days between,
-- read from here. A day's totals are exactly the sums live.agent_counts gives for that day, so a
-- report adds up to the same figures either way (docs/metrics.md).

-- One row per UTC day whose totals were computed, with the thresholds they were computed under:
-- totals computed under other thresholds than a reader's are never used. A day on which a hold
-- was still open when it was computed (its end unknown: no later hold event, call not ended) gets
-- a row with holds_open > 0 and no totals: how long that hold lasts, and so whether it is over the
-- limit, depends on the report's end; such a day is counted from the calls until the hold ends.
CREATE TABLE agent_days (
    day             date             PRIMARY KEY,
    answer_target_s double precision NOT NULL,
    hold_limit_s    double precision NOT NULL,
    holds_open      integer          NOT NULL,
    rolled_up_at    timestamptz      NOT NULL DEFAULT now()
);

-- The counts of live.agent_counts for one agent and one UTC day [day, day + 1).
CREATE TABLE agent_day_counts (
    day               date    NOT NULL REFERENCES agent_days ON DELETE CASCADE,
    agent             text    NOT NULL,
    answered          integer NOT NULL,
    answered_on_time  integer NOT NULL,
    answer_seconds    numeric NOT NULL,  -- exact (microseconds), so that sums equal the raw sum
    handled           integer NOT NULL,
    resolution_known  integer NOT NULL,
    resolved          integer NOT NULL,
    agent_released    integer NOT NULL,
    surveys           integer NOT NULL,
    satisfied         integer NOT NULL,
    holds             integer NOT NULL,
    holds_over_limit  integer NOT NULL,
    callbacks_due     integer NOT NULL,
    callbacks_on_time integer NOT NULL,
    PRIMARY KEY (day, agent)
);

-- Days whose totals no longer match the calls: the ingest marks a day here, in the transaction
-- that changes anything counted on it (a late event changes rows decided on other days, e.g. a
-- late call.queued the answer speed of a call answered the next day). Readers count a marked day
-- from the calls; the ingest's roll-up loop computes it again and removes the mark.
CREATE TABLE stale_days (
    day       date        PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);
