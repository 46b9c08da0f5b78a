-- The derived tables that only ever grow by time, partitioned by UTC month like the event log is
-- by day: the agents' state changes (agent_states, by started_at) and the roll-ups (the per-day
-- agent totals by day, the quarter-hour totals by quarter). Each month is a table of its own,
-- named <table>_YYYYMM, so that a month's indexes stay small while it is written and a month can
-- be dropped whole. Trends and scorecards read the roll-ups by time, so they read only the months
-- of their window.
--
-- The tables keyed by call (calls, hold_events, surveys, complaints) stay whole: a row is written
-- by events over minutes or hours, and every ingest batch looks them up by call, which a table
-- split by time would answer by searching every month (docs/scaling.md).
--
-- Months are made with the event log's days (event_log_partition: the ingest makes them ahead,
-- and history's on demand). Rows stored before are copied into their months: stop the ingest,
-- migrate, then start the new version.

-- The tables partitioned by month, and whether their key is a date (else a timestamptz).
CREATE VIEW monthly_tables(parent, keyed_by_date) AS
VALUES ('agent_states', false),
       ('agent_day_counts', true),
       ('queue_quarter_counts', false),
       ('floor_quarter_counts_by_agent', false),
       ('floor_quarter_counts', false);

-- Make the month of ``day`` of the monthly table ``parent`` unless it exists, and return its name.
-- Made apart and then attached, as the log's days are. A timestamptz key's bounds are written
-- with their offset, so the session's time zone cannot move them.
CREATE FUNCTION month_partition(parent text, day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', day)::date;
    name  text := parent || '_' || to_char(day, 'YYYYMM');
    by_date boolean := (SELECT keyed_by_date FROM monthly_tables t WHERE t.parent = month_partition.parent);
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('event_log_partition'));  -- one maker at a time
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name,
                       CASE WHEN by_date THEN month::text ELSE (month::timestamp AT TIME ZONE 'UTC')::text END,
                       CASE WHEN by_date THEN (month + interval '1 month')::date::text
                            ELSE ((month + interval '1 month') AT TIME ZONE 'UTC')::text END);
    END IF;
    RETURN name;
END
$$;

ALTER TABLE agent_states RENAME TO agent_states_whole;
ALTER TABLE agent_day_counts RENAME TO agent_day_counts_whole;
ALTER TABLE queue_quarter_counts RENAME TO queue_quarter_counts_whole;
ALTER TABLE floor_quarter_counts_by_agent RENAME TO floor_quarter_counts_by_agent_whole;
ALTER TABLE floor_quarter_counts RENAME TO floor_quarter_counts_whole;

CREATE TABLE agent_states (
    LIKE agent_states_whole INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (agent, started_at)
) PARTITION BY RANGE (started_at);

CREATE TABLE agent_day_counts (
    LIKE agent_day_counts_whole INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (day, agent),
    FOREIGN KEY (day) REFERENCES agent_days ON DELETE CASCADE
) PARTITION BY RANGE (day);

CREATE TABLE queue_quarter_counts (
    LIKE queue_quarter_counts_whole INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (quarter, queue),
    FOREIGN KEY (day) REFERENCES agent_days ON DELETE CASCADE
) PARTITION BY RANGE (quarter);

CREATE TABLE floor_quarter_counts_by_agent (
    LIKE floor_quarter_counts_by_agent_whole INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    FOREIGN KEY (day) REFERENCES agent_days ON DELETE CASCADE
) PARTITION BY RANGE (quarter);

CREATE TABLE floor_quarter_counts (
    LIKE floor_quarter_counts_whole INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    FOREIGN KEY (day) REFERENCES agent_days ON DELETE CASCADE
) PARTITION BY RANGE (quarter);

DROP INDEX queue_quarter_counts_day, floor_quarter_counts_by_agent_quarter, floor_quarter_counts_by_agent_day,
           floor_quarter_counts_quarter, floor_quarter_counts_day;
CREATE INDEX queue_quarter_counts_day ON queue_quarter_counts (day);
CREATE INDEX floor_quarter_counts_by_agent_quarter ON floor_quarter_counts_by_agent (quarter);
CREATE INDEX floor_quarter_counts_by_agent_day ON floor_quarter_counts_by_agent (day);
CREATE INDEX floor_quarter_counts_quarter ON floor_quarter_counts (quarter);
CREATE INDEX floor_quarter_counts_day ON floor_quarter_counts (day);

-- The months of every day the event log holds and of every row of the old tables; then the rows.
SELECT month_partition(t.parent, m.month)
FROM monthly_tables t
CROSS JOIN (
    SELECT DISTINCT date_trunc('month', day)::date
    FROM (
        SELECT day FROM event_log_days
        UNION SELECT (started_at AT TIME ZONE 'UTC')::date FROM agent_states_whole
        UNION SELECT day FROM agent_days
    ) d(day)
) m(month)
ORDER BY t.parent, m.month;

INSERT INTO agent_states SELECT * FROM agent_states_whole;
INSERT INTO agent_day_counts SELECT * FROM agent_day_counts_whole;
INSERT INTO queue_quarter_counts SELECT * FROM queue_quarter_counts_whole;
INSERT INTO floor_quarter_counts_by_agent SELECT * FROM floor_quarter_counts_by_agent_whole;
INSERT INTO floor_quarter_counts SELECT * FROM floor_quarter_counts_whole;
DROP TABLE agent_states_whole, agent_day_counts_whole, queue_quarter_counts_whole,
           floor_quarter_counts_by_agent_whole, floor_quarter_counts_whole;

-- A day of the event log comes with the months of the derived tables it falls in: whatever makes
-- the log's days ahead, or on demand for history, makes those months too.
CREATE OR REPLACE FUNCTION event_log_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'event_log_' || to_char(day, 'YYYYMMDD');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('event_log_partition'));  -- one maker at a time
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I (LIKE event_log INCLUDING DEFAULTS)', name);
        EXECUTE format('ALTER TABLE event_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name,
                       day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
    PERFORM month_partition(parent, day) FROM monthly_tables;
    RETURN name;
END
$$;
