-- Announcing a change to the dashboards (db/changes.py).

-- name: take_announce_lock
-- Wait for every other announcing transaction to end: the rows read after this statement include
-- every change announced before this one. Held until the transaction ends; a statement of its own,
-- so that the reads after it take their snapshot once it is held.
SELECT pg_advisory_xact_lock($1);

-- name: notify
-- Send the payloads $2 on channel $1, in order; delivered when the transaction commits.
SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload;
