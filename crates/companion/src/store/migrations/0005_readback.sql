-- The read-back of interactions handled while the app was closed. A conversation is settled once its
-- final state was read and every wrap-up of this agent in it is queued (or it has none to give);
-- settled conversations are not read again.
CREATE TABLE readback_settled (
    conversation_id TEXT PRIMARY KEY,
    settled_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX readback_settled_at ON readback_settled(settled_ms);
-- The last check, for the Sync view and `companion status`: one row.
CREATE TABLE readback_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    -- 'running', 'complete', 'partial' (some media could not be seen), 'failed' (will be tried again)
    outcome TEXT NOT NULL,
    -- 'analytics' (every media) or 'call_history' (calls only)
    source TEXT NOT NULL,
    window_hours INTEGER NOT NULL,
    detail TEXT
);
