CREATE TABLE erasure_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    scope TEXT NOT NULL,
    removed TEXT NOT NULL
);
