-- Repeat callers (issue #16): a call from the same number within 24 h after a call that was not
-- resolved, or was abandoned, is a repeat (docs/metrics.md). Calls are linked by a keyed hash of the
-- caller's number, never by the number itself, so that repeats stay countable once the numbers are
-- erased.

-- The key: 32 random bytes made here, once per database (gen_random_uuid draws from the server's
-- strong random source). Whoever cannot read this table cannot tell which number a hash is of.
CREATE TABLE caller_hash_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key      bytea   NOT NULL
);
INSERT INTO caller_hash_key (key)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

-- The keyed hash of a number: SHA-256 of the key followed by the number's digits; NULL for a
-- number of fewer than 7 digits (withheld, or an extension), which links no calls.
CREATE FUNCTION caller_hash(number text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN length(digits) >= 7
                THEN sha256((SELECT key FROM caller_hash_key) || convert_to(digits, 'UTF8')) END
    FROM (SELECT regexp_replace(number, '[^0-9]', '', 'g') AS digits) d
$$;

ALTER TABLE calls ADD COLUMN caller_hash bytea;
UPDATE calls SET caller_hash = caller_hash(caller) WHERE caller IS NOT NULL;
-- A call's earlier calls from the same number, by queue time.
CREATE INDEX calls_of_caller ON calls (caller_hash, queued_at) WHERE caller_hash IS NOT NULL;

-- Every repeat call: a call offered from a number within a day after a call from it that ended
-- not resolved, or was abandoned (never answered); with the queue of the latest such call and the
-- agent who ended it (none for an abandoned call), whom the repeat counts for. The one definition
-- the trends and the agents' report read (docs/metrics.md).
CREATE VIEW repeat_calls AS
SELECT r.feed, r.call_id, r.queued_at, f.queue, f.agent
FROM calls r
CROSS JOIN LATERAL (
    SELECT p.queue, p.last_agent AS agent
    FROM calls p
    WHERE p.caller_hash = r.caller_hash
      AND p.queued_at >= r.queued_at - interval '1 day' AND p.queued_at < r.queued_at
      AND (p.resolved = false OR (p.abandoned_at IS NOT NULL AND p.answered_at IS NULL))
    ORDER BY p.queued_at DESC
    LIMIT 1
) f
WHERE r.caller_hash IS NOT NULL;

-- Agent totals and quarter-hour floor totals count repeats too: days rolled up before this have
-- none, so every day is computed again.
ALTER TABLE agent_day_counts ADD COLUMN repeats integer NOT NULL DEFAULT 0;
ALTER TABLE floor_quarter_counts_by_agent ADD COLUMN repeats integer NOT NULL DEFAULT 0;
ALTER TABLE floor_quarter_counts ADD COLUMN repeats integer NOT NULL DEFAULT 0;
INSERT INTO stale_days (day) SELECT day FROM agent_days ON CONFLICT DO NOTHING;
