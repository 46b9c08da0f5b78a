-- Who takes each queue's calls now: the agents of the queue's latest queue.members event
-- (docs/events.md). One row per queue, replaced whole by a later announcement: an agent left out
-- of it no longer takes the queue's calls. Written by ingest.apply_derived_state.
CREATE TABLE queue_members (
    queue    text        PRIMARY KEY,
    agents   text[]      NOT NULL,  -- agent ids, sorted
    set_at   timestamptz NOT NULL,  -- the ts of the announcement that set them
    feed     text        NOT NULL,  -- and its feed and id: of two announcements with the same ts,
    event_id text        NOT NULL   -- the greater (feed, event_id) wins, whatever the arrival order
);

-- Announcements the event log already holds (stored before this table existed).
INSERT INTO queue_members (queue, agents, set_at, feed, event_id)
SELECT DISTINCT ON (body ->> 'queue')
       body ->> 'queue',
       ARRAY(SELECT DISTINCT a FROM json_array_elements_text(body -> 'agents') AS a ORDER BY a),
       ts, feed, event_id
FROM event_log
WHERE type = 'queue.members'
ORDER BY body ->> 'queue', ts DESC, feed DESC, event_id DESC;
