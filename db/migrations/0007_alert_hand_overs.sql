-- Hand-overs: when a shift ends while an alert still waits for someone, the person who has just
-- come on call is told (docs/alerts.md). That is a state change of its own, 'handed_over', and
-- handed_over_at records the rota hand-over the alert was last passed on at, so that two alert
-- services pass it on once.
ALTER TABLE alerts ADD COLUMN handed_over_at timestamptz;

ALTER TABLE alert_events DROP CONSTRAINT alert_events_change_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_change_check
    CHECK (change IN ('raised', 'escalated', 'handed_over', 'acknowledged', 'resolved'));
