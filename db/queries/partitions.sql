-- The event log's daily partitions (db/migrations/0011...) and the monthly tables' months (0016...):
-- made ahead, made on demand for history; the log's days dropped when older than the retention.

-- name: make_partitions
-- Make the partitions of days $1 that do not exist yet: the log's days and their months.
SELECT event_log_partition(day) FROM unnest($1::date[]) AS day ORDER BY day;

-- name: days_before
-- The days held in the log before day $1, oldest first, with their partitions.
SELECT day, partition FROM event_log_days WHERE day < $1 ORDER BY day;

-- name: detaching
-- Partitions whose detachment was begun and not finished (a stop in the middle of one).
SELECT c.relname AS partition
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_log'::regclass AND i.inhdetachpending;
