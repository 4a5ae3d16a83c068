CREATE TABLE cache_lookup (
    e164 TEXT PRIMARY KEY,
    candidates TEXT NOT NULL,
    fetched_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cache_lookup_expires ON cache_lookup(expires_ms);
CREATE TABLE picker_choice (
    e164 TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    chosen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE conversation (
    id TEXT PRIMARY KEY,
    stage INTEGER NOT NULL,
    ani TEXT,
    participant_id TEXT,
    first_seen_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    pop_outcome TEXT,
    pop_record TEXT
) WITHOUT ROWID;
CREATE INDEX conversation_updated ON conversation(updated_ms);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    conversation_id TEXT,
    frame TEXT NOT NULL
);
CREATE INDEX journal_received ON journal(received_ms);
CREATE TABLE status_kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
