-- The event log keeps each event's JSON text as the ingest received it (an event sent alone,
-- verbatim; one from an array, as re-encoded from it): `json` is checked to be JSON but not
-- re-encoded, and costs the ingest far less to store than `jsonb`. Derived state is written
-- from a staged copy of the batch, so nothing reads the body on the hot path; ad-hoc queries
-- still use ->, ->> and json_to_record on it.
--
-- Rows stored before keep jsonb's normalised text. The column type changes with a table
-- rewrite under an exclusive lock: stop the ingest, migrate, then start the new version.
ALTER TABLE event_log ALTER COLUMN body TYPE json USING body::json;
