-- The event log, partitioned by the UTC day of each event's ts: one table a day, named
-- event_log_YYYYMMDD, so that old raw events are dropped a day at a time (CALLBOARD_KEEP_EVENTS_DAYS)
-- without a row-by-row delete, and each day's indexes stay small while a day is being written.
--
-- A partition's key must be part of every unique index, so an event is now stored once per
-- (feed, event_id, ts): an event sent again carries its id and its ts unchanged (docs/events.md).
-- The ingest makes the partitions ahead of time and, for history, on demand (ingest/partitions.py).
--
-- Rows stored before are copied into their days' tables: stop the ingest, migrate, then start the
-- new version (a large log takes a while; the copy is one transaction, so nothing is half done).

ALTER TABLE event_log RENAME TO event_log_unpartitioned;
ALTER INDEX event_log_call_idx RENAME TO event_log_unpartitioned_call_idx;

CREATE TABLE event_log (
    feed        text        NOT NULL,
    event_id    text        NOT NULL,
    seq         bigint,
    type        text        NOT NULL,
    ts          timestamptz NOT NULL,
    call_id     text,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    body        json        NOT NULL,
    PRIMARY KEY (feed, event_id, ts)
) PARTITION BY RANGE (ts);
-- A call's events, for its timeline and the sweep of calls never queued.
CREATE INDEX event_log_call_idx ON event_log (feed, call_id, ts) WHERE call_id IS NOT NULL;

-- Make the day's partition unless it exists, and return its name. The table is made apart and then
-- attached, which locks the log only against other changes of its partitions, never against reads
-- and writes of events (making it with PARTITION OF would lock out both).
CREATE FUNCTION event_log_partition(day date) RETURNS text
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
    RETURN name;
END
$$;

-- The days held in the log, oldest first: what retention may drop, and what reports may still
-- show events of.
CREATE VIEW event_log_days AS
SELECT to_date(substr(c.relname, length('event_log_') + 1), 'YYYYMMDD') AS day, c.relname AS partition
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_log'::regclass AND c.relname ~ '^event_log_[0-9]{8}$';

SELECT event_log_partition(day::date)
FROM generate_series((SELECT min(ts) AT TIME ZONE 'UTC' FROM event_log_unpartitioned)::date,
                     (SELECT max(ts) AT TIME ZONE 'UTC' FROM event_log_unpartitioned)::date,
                     interval '1 day') AS day
WHERE EXISTS (SELECT FROM event_log_unpartitioned);

INSERT INTO event_log (feed, event_id, seq, type, ts, call_id, received_at, stored_at, body)
SELECT feed, event_id, seq, type, ts, call_id, received_at, stored_at, body
FROM event_log_unpartitioned
ORDER BY ts;

DROP TABLE event_log_unpartitioned;
