-- Erasing customers' personal data older than CALLBOARD_KEEP_PERSONAL_DATA_DAYS (ingest/erasure.py):
-- the rows that still hold it, by age, so that each hourly round reads only what it erases, and
-- the event log's days already erased, so that a day's bodies are read once.
CREATE INDEX calls_with_caller_idx ON calls (queued_at) WHERE caller IS NOT NULL;
CREATE INDEX complaints_with_customer_idx ON complaints (opened_at) WHERE customer IS NOT NULL;
CREATE INDEX dead_letters_with_raw_idx ON dead_letters (received_at) WHERE raw <> '';

CREATE TABLE event_log_days_erased (
    day       date        PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);
