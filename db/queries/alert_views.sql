-- What the dashboard shows of the alerts (db/migrations/0006): the open ones for the live snapshot,
-- the history with its filters, one alert with its notifications, and what an acknowledge link names.
-- Each notification is listed with its outcome: sent, waiting (attempts, next attempt, last error) or
-- dead (the reason).

-- name: open_alerts
-- Alerts not yet resolved, oldest first, each with every notification about it (in order) as JSON
-- (alert_notifications, db/migrations/0010): the live snapshot's one read of the alerts.
SELECT a.id, a.kind, a.subject, a.state, a.escalation_level AS level, a.raised_at, a.acknowledged_at,
       a.acknowledged_by, a.resolved_at, a.resolved_by, a.details,
       alert_notifications(a.id) AS notifications
FROM alerts a
WHERE a.state <> 'resolved'
ORDER BY a.raised_at, a.id;

-- name: alert
-- Alert $1 with every notification about it, as open_alerts gives each (whatever its state).
SELECT a.id, a.kind, a.subject, a.state, a.escalation_level AS level, a.raised_at, a.acknowledged_at,
       a.acknowledged_by, a.resolved_at, a.resolved_by, a.details,
       alert_notifications(a.id) AS notifications
FROM alerts a
WHERE a.id = $1;

-- name: history
-- Alerts raised in [$4, $5) in state $1 (NULL: any), of kind $2 (NULL: any), about queue $3 (NULL: any),
-- newest first, $6 of them from the $7-th on, as open_alerts gives each; with how many match in all.
SELECT a.id, a.kind, a.subject, a.state, a.escalation_level AS level, a.raised_at, a.acknowledged_at,
       a.acknowledged_by, a.resolved_at, a.resolved_by, a.details, count(*) OVER () AS matching,
       alert_notifications(a.id) AS notifications
FROM alerts a
WHERE ($1::text IS NULL OR a.state = $1)
  AND ($2::text IS NULL OR a.kind = $2)
  AND ($3::text IS NULL OR a.details ->> 'queue' = $3)
  AND a.raised_at >= $4 AND a.raised_at < $5
ORDER BY a.raised_at DESC, a.id DESC
LIMIT $6 OFFSET $7;

-- name: notification_alert
-- Notification $1 (an acknowledge link names it): to whom, in what language, and about which alert.
SELECT n.recipient, n.language, e.alert_id
FROM notifications n JOIN alert_events e ON e.id = n.alert_event_id
WHERE n.id = $1;

-- name: alert_recipients
-- Everyone notified about alert $1 so far, once per channel: who hears that it was acknowledged or resolved.
SELECT DISTINCT n.recipient, n.channel, n.address, n.language
FROM notifications n JOIN alert_events e ON e.id = n.alert_event_id
WHERE e.alert_id = $1
ORDER BY n.recipient, n.channel;
