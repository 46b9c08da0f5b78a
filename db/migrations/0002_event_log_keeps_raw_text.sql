-- The event log keeps each event's JSON text exactly as the feed sent it: `json` is checked to be
-- JSON but not re-encoded, and costs the ingest far less to store than `jsonb`. Derived state
-- is written from the fields the ingest has already parsed, so nothing reads the body on the
-- hot path; ad-hoc queries still use ->, ->> and json_to_record on it.
ALTER TABLE event_log ALTER COLUMN body TYPE json USING body::json;
