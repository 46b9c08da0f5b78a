-- Indexes for the reports and the live agent figures, so that they read only the rows of their
-- window (a day, or up to 92 days) and never the whole history.

-- Hold spans start from the window's hold starts (live.agent_counts).
CREATE INDEX hold_events_started_idx ON hold_events (ts) WHERE kind = 'start';
-- Callbacks count in the window in which they were decided: when made, or at due if not made by then.
CREATE INDEX complaints_decided_idx ON complaints (least(callback_at, due));
-- /api/v1/complaints?status=all lists the complaints opened in a window.
CREATE INDEX complaints_opened_idx ON complaints (opened_at);
