-- Every notification about an alert, in order, with its outcome, as the dashboard shows it beside
-- the alert (the Alerts page, the API, the live snapshot: db/queries/alert_views.sql).
CREATE FUNCTION alert_notifications(alert bigint) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', n.id, 'change', e.change, 'level', e.level, 'recipient', n.recipient,
               'channel', n.channel, 'created_at', n.created_at, 'attempts', n.attempts,
               'next_attempt_at', n.next_attempt_at, 'sent_at', n.sent_at, 'dead_at', n.dead_at,
               'last_error', n.last_error) ORDER BY n.id), '[]'::jsonb)
    FROM alert_events e JOIN notifications n ON n.alert_event_id = e.id
    WHERE e.alert_id = alert
$$;
