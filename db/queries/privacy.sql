-- Erasing customers' personal data (callboard/privacy.py names it) older than the keep period:
-- a batch at a time, each its own short transaction (ingest/erasure.py). Every figure stays: they
-- never read these values (repeat callers are found by calls.caller_hash, which stays).

-- name: erase_callers
-- Forget the number of at most $2 calls queued before $1 (rows the ingest is writing are skipped).
WITH chosen AS (
    SELECT feed, call_id FROM calls
    WHERE caller IS NOT NULL AND queued_at < $1
    ORDER BY queued_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE calls c SET caller = NULL
FROM chosen WHERE c.feed = chosen.feed AND c.call_id = chosen.call_id;

-- name: erase_customers
-- Forget the customer of at most $2 complaints opened before $1 (rows being written are skipped).
WITH chosen AS (
    SELECT feed, complaint_id FROM complaints
    WHERE customer IS NOT NULL AND opened_at < $1
    ORDER BY opened_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE complaints k SET customer = NULL
FROM chosen WHERE k.feed = chosen.feed AND k.complaint_id = chosen.complaint_id;

-- name: erase_dead_letters
-- Forget the raw text and the reason (which may quote a field) of at most $2 dead letters received
-- before $1; their feed, kind, event id and time stay.
WITH chosen AS (
    SELECT id FROM dead_letters
    WHERE raw <> '' AND received_at < $1
    ORDER BY received_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE dead_letters d SET raw = '', reason = ''
FROM chosen WHERE d.id = chosen.id;

-- name: days_to_erase
-- The event log's days before day $1 whose bodies are not erased yet, oldest first.
SELECT d.day FROM event_log_days d
WHERE d.day < $1 AND NOT EXISTS (SELECT FROM event_log_days_erased e WHERE e.day = d.day)
ORDER BY d.day;

-- name: erase_event_bodies
-- Take the fields $6 out of the bodies of the next $5 events of [$1, $2) after (feed, event_id)
-- ($3, $4), every other field kept: how many held one, and the last event looked at (no row when
-- none was left).
WITH chunk AS (
    SELECT feed, event_id, ts FROM event_log
    WHERE ts >= $1 AND ts < $2 AND (feed, event_id) > ($3::text, $4::text)
    ORDER BY feed, event_id LIMIT $5
), erased AS (
    UPDATE event_log e SET body = (e.body::jsonb - $6::text[])::json
    FROM chunk c
    WHERE e.feed = c.feed AND e.event_id = c.event_id AND e.ts = c.ts AND e.body::jsonb ?| $6::text[]
    RETURNING 1
)
SELECT (SELECT count(*) FROM erased) AS erased, last.feed, last.event_id
FROM (SELECT feed, event_id FROM chunk ORDER BY feed DESC, event_id DESC LIMIT 1) last;

-- name: mark_day_erased
-- Day $1 of the event log holds no personal data any more.
INSERT INTO event_log_days_erased (day) VALUES ($1) ON CONFLICT DO NOTHING;

-- name: callers_of_calls
-- The caller's number of each call named by feeds $1 and call ids $2 (taken pairwise), for those
-- allowed to see it (the dashboard masks it for everyone else).
SELECT c.feed, c.call_id, c.caller
FROM calls c
JOIN unnest($1::text[], $2::text[]) AS wanted(feed, call_id) USING (feed, call_id);

-- name: customers_of_complaints
-- The customer of each complaint named by feeds $1 and complaint ids $2 (taken pairwise), for those
-- allowed to see it (the dashboard masks it for everyone else).
SELECT k.feed, k.complaint_id, k.customer
FROM complaints k
JOIN unnest($1::text[], $2::text[]) AS wanted(feed, complaint_id) USING (feed, complaint_id);
