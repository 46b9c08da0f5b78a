-- Calls and complaints keyed by (feed, id): call ids are unique only within the telephony system
-- that made them, so two PBXs (or two sites) sending "C1001" are two calls, never one.
--
-- Existing rows take the feed of the events they were derived from (a database with one feed,
-- the only kind there was before this migration, gets that feed on every row). Agents stay keyed
-- by their id alone: an agent id names one person across the centre's feeds.

-- Each call's and complaint's feed, from the event log (read once through event_log_call_idx).
CREATE TEMP TABLE call_feeds ON COMMIT DROP AS
SELECT DISTINCT ON (call_id) call_id, feed
FROM event_log
WHERE call_id IS NOT NULL
ORDER BY call_id, feed;

CREATE TEMP TABLE complaint_feeds ON COMMIT DROP AS
SELECT DISTINCT ON (body ->> 'complaint_id') body ->> 'complaint_id' AS complaint_id, feed
FROM event_log
WHERE type LIKE 'complaint.%'
ORDER BY body ->> 'complaint_id', feed;

-- The feed of a row no event names (none should exist): the one feed, if there is just one.
CREATE TEMP TABLE only_feed ON COMMIT DROP AS
SELECT CASE WHEN count(*) = 1 THEN min(feed) ELSE '' END AS feed FROM feeds;

-- calls
ALTER TABLE calls ADD COLUMN feed text;
UPDATE calls c
SET feed = coalesce((SELECT f.feed FROM call_feeds f WHERE f.call_id = c.call_id), (SELECT feed FROM only_feed));
ALTER TABLE calls ALTER COLUMN feed SET NOT NULL;
ALTER TABLE calls DROP CONSTRAINT calls_pkey;
ALTER TABLE calls ADD PRIMARY KEY (feed, call_id);
DROP INDEX calls_never_queued_idx;
CREATE INDEX calls_never_queued_idx ON calls (feed, call_id) WHERE queued_at IS NULL;

-- hold events
ALTER TABLE hold_events ADD COLUMN feed text;
UPDATE hold_events h
SET feed = coalesce((SELECT f.feed FROM call_feeds f WHERE f.call_id = h.call_id), (SELECT feed FROM only_feed));
ALTER TABLE hold_events ALTER COLUMN feed SET NOT NULL;
ALTER TABLE hold_events DROP CONSTRAINT hold_events_pkey;
ALTER TABLE hold_events ADD PRIMARY KEY (feed, call_id, ts, kind);

-- surveys
ALTER TABLE surveys ADD COLUMN feed text;
UPDATE surveys s
SET feed = coalesce((SELECT f.feed FROM call_feeds f WHERE f.call_id = s.call_id), (SELECT feed FROM only_feed));
ALTER TABLE surveys ALTER COLUMN feed SET NOT NULL;
ALTER TABLE surveys DROP CONSTRAINT surveys_pkey;
ALTER TABLE surveys ADD PRIMARY KEY (feed, call_id);

-- complaints (their call_id names a call of the same feed)
ALTER TABLE complaints ADD COLUMN feed text;
UPDATE complaints k
SET feed = coalesce((SELECT f.feed FROM complaint_feeds f WHERE f.complaint_id = k.complaint_id),
                    (SELECT feed FROM only_feed));
ALTER TABLE complaints ALTER COLUMN feed SET NOT NULL;
ALTER TABLE complaints DROP CONSTRAINT complaints_pkey;
ALTER TABLE complaints ADD PRIMARY KEY (feed, complaint_id);

-- A call's events, for its timeline and the sweep of calls never queued.
DROP INDEX event_log_call_idx;
CREATE INDEX event_log_call_idx ON event_log (feed, call_id, ts) WHERE call_id IS NOT NULL;

-- A hold span runs from a start to the next event of the same call: its end, or, when the end
-- never came, the call's end (NULL while the call is still going).
DROP VIEW hold_spans;
CREATE VIEW hold_spans AS
SELECT h.feed,
       h.call_id,
       h.agent,
       h.ts AS started_at,
       coalesce(h.next_ts, c.ended_at) AS ended_at
FROM (
    SELECT feed, call_id, agent, kind, ts,
           lead(ts) OVER (PARTITION BY feed, call_id ORDER BY ts, kind DESC) AS next_ts
    FROM hold_events
) h
JOIN calls c USING (feed, call_id)
WHERE h.kind = 'start';
