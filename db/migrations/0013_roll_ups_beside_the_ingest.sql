-- The roll-up computes a day from a snapshot, beside the ingest instead of holding it off
-- (ingest/rollup.py): each marking of a stale day takes a new number, and a day's totals are
-- stored only if the day has not been marked again since the snapshot they were computed from.
CREATE SEQUENCE stale_day_marks;
ALTER TABLE stale_days ADD COLUMN mark bigint NOT NULL DEFAULT nextval('stale_day_marks');
