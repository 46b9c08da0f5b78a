-- The alerts and their outbox (db/migrations/0006): state changes written with their notifications
-- in one transaction, and the sender's claims and outcomes. Conditional statements return no row
-- when the change was already made (by another instance): callers check.

-- name: raise_alert
-- Raise an alert of kind $1 about subject $2 at $3 with details $4, unless one is already unresolved.
INSERT INTO alerts (kind, subject, raised_at, details)
VALUES ($1, $2, $3, $4)
ON CONFLICT (kind, subject) WHERE state <> 'resolved' DO NOTHING
RETURNING id, escalation_level AS level, details;

-- name: acknowledge_alert
-- Alert $1 acknowledged at $2 by $3, if it is still open.
UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3
WHERE id = $1 AND state = 'open'
RETURNING id, escalation_level AS level, details;

-- name: resolve_alert
-- Alert $1 resolved at $2 by $3 (a person, or the rule that saw its cause end), unless already resolved.
UPDATE alerts SET state = 'resolved', resolved_at = $2, resolved_by = $3
WHERE id = $1 AND state <> 'resolved'
RETURNING id, escalation_level AS level, details;

-- name: escalate_alert
-- Alert $1, still open, escalated to level $2 (higher than its level): once, however many ask.
UPDATE alerts SET escalation_level = $2
WHERE id = $1 AND state = 'open' AND escalation_level < $2
RETURNING id, escalation_level AS level, details;

-- name: insert_event
-- The state change $2 of alert $1 at $3, by $4, at escalation level $5, with the alert's details $6.
INSERT INTO alert_events (alert_id, change, at, by, level, details)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: insert_notifications
-- One outbox row for event $1 per (recipient, channel, address, language) of the arrays $2-$5.
INSERT INTO notifications (alert_event_id, recipient, channel, address, language)
SELECT $1, r.recipient, r.channel, r.address, r.language
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS r (recipient, channel, address, language)
ON CONFLICT (alert_event_id, recipient, channel) DO NOTHING
RETURNING id;

-- name: claim_notifications
-- Claim for sender $1, for $2 seconds, up to $3 notifications that are due and neither sent, dead nor
-- claimed by another sender whose claim still holds; count the attempt. With what the message needs.
WITH claimed AS (
    UPDATE notifications n
    SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2), attempts = n.attempts + 1
    WHERE n.id IN (
        SELECT id FROM notifications
        WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
          AND (claimed_until IS NULL OR claimed_until <= now())
        ORDER BY next_attempt_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED)
    RETURNING n.*
)
SELECT c.id, c.recipient, c.channel, c.address, c.language, c.idempotency_key, c.attempts,
       e.change, e.at, e.by, e.level, e.details, a.id AS alert_id, a.kind, a.subject
FROM claimed c
JOIN alert_events e ON e.id = c.alert_event_id
JOIN alerts a ON a.id = e.alert_id
ORDER BY c.id;

-- name: mark_sent
-- Notification $1 accepted by its receiver, if sender claim $2 still holds it.
UPDATE notifications SET sent_at = now(), claimed_until = NULL, last_error = NULL
WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND dead_at IS NULL;

-- name: mark_retry
-- Notification $1 failed with error $3 under claim $2: try again in $4 seconds.
UPDATE notifications
SET claimed_until = NULL, last_error = $3, next_attempt_at = now() + make_interval(secs => $4)
WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND dead_at IS NULL;

-- name: mark_dead
-- Notification $1 given up under claim $2, with the reason $3.
UPDATE notifications SET dead_at = now(), claimed_until = NULL, last_error = $3
WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND dead_at IS NULL;

-- name: next_due_in
-- Seconds until the first unsent notification may be claimed (0 if one may now; NULL if none waits:
-- greatest() would turn a NULL into 0, so it is applied only to a found instant).
SELECT CASE WHEN first_due IS NOT NULL THEN greatest(0, extract(epoch FROM first_due - now()))::float8 END
FROM (SELECT min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) AS first_due
      FROM notifications
      WHERE sent_at IS NULL AND dead_at IS NULL) waiting;

-- name: alert
-- Alert $1 as stored.
SELECT id, kind, subject, state, raised_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
       escalation_level, details
FROM alerts WHERE id = $1;

-- name: alert_notifications
-- Every notification about alert $1, in order: the change it announces, to whom, through what, and
-- what became of it.
SELECT n.id, e.change, e.level, n.recipient, n.channel, n.address, n.idempotency_key, n.created_at,
       n.attempts, n.sent_at, n.dead_at, n.last_error
FROM notifications n JOIN alert_events e ON e.id = n.alert_event_id
WHERE e.alert_id = $1
ORDER BY n.id;

-- name: outbox_totals
-- For /metrics: alerts raised, notifications sent, retried (tried more than once), dead and waiting.
SELECT (SELECT count(*) FROM alerts) AS raised,
       count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
       count(*) FILTER (WHERE attempts > 1) AS retried,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,
       count(*) FILTER (WHERE sent_at IS NULL AND dead_at IS NULL) AS waiting
FROM notifications;

-- name: hand_over_alert
-- Alert $1, still open at escalation level $3, passed on at rota hand-over $2 to whoever has just
-- come on call: once per hand-over, however many services ask.
UPDATE alerts SET handed_over_at = $2
WHERE id = $1 AND state = 'open' AND escalation_level = $3 AND (handed_over_at IS NULL OR handed_over_at < $2)
RETURNING id, escalation_level AS level, details;

-- name: unresolved_alerts
-- Every alert not yet resolved, for the rule engine: when someone was last asked to act on it
-- (raised, escalated or handed over), and everyone it has been sent to (recipient, channel,
-- address, language), to tell them when it is resolved.
SELECT a.id, a.kind, a.subject, a.state, a.escalation_level AS level, a.raised_at, a.details,
       (SELECT max(e.at) FROM alert_events e
        WHERE e.alert_id = a.id AND e.change IN ('raised', 'escalated', 'handed_over')) AS last_called_at,
       coalesce((SELECT jsonb_agg(DISTINCT jsonb_build_object('person', n.recipient, 'channel', n.channel,
                                                             'address', n.address, 'language', n.language))
                 FROM alert_events e JOIN notifications n ON n.alert_event_id = e.id
                 WHERE e.alert_id = a.id), '[]'::jsonb) AS notified
FROM alerts a
WHERE a.state <> 'resolved'
ORDER BY a.id;

-- name: complaints_due_by
-- Complaints waiting for their callback (none made, not closed) that are due by $1: when, the
-- agent who took them, the customer (masked before any alert stores it) and the call's queue.
-- Reads only those through complaints_open_idx.
SELECT k.feed, k.complaint_id, k.due, coalesce(d.name, k.agent) AS agent, k.customer, c.queue
FROM complaints k
LEFT JOIN agents d ON d.agent = k.agent
LEFT JOIN calls c ON c.feed = k.feed AND c.call_id = k.call_id
WHERE k.callback_at IS NULL AND k.closed_at IS NULL AND k.due <= $1
ORDER BY k.due, k.feed, k.complaint_id;

-- name: first_complaint_due_after
-- When the first complaint still waiting for its callback is due after $1 (NULL if none is).
SELECT min(due) FROM complaints
WHERE callback_at IS NULL AND closed_at IS NULL AND due > $1;

-- name: feeds
-- Each feed's connection and the ingest's last heartbeat for it.
SELECT feed, connected, status_changed_at, heartbeat_at FROM feeds ORDER BY feed;
