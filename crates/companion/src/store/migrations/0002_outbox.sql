CREATE TABLE outbox (
    conversation_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'needs_attention', 'discarded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    delivered_version INTEGER,
    salesforce_id TEXT,
    error_class TEXT,
    error_code TEXT,
    error_message TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    delivered_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox(state, next_attempt_ms);
CREATE TABLE outbox_event (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    error_class TEXT,
    detail TEXT
);
CREATE INDEX outbox_event_at ON outbox_event(at_ms);
ALTER TABLE conversation ADD COLUMN pop_us INTEGER;
