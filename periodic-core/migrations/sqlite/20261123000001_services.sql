-- The services table (nova's columns) plus `stopped`, the graceful-shutdown marker.
-- Timestamps are UTC text written by SQLite itself ('YYYY-MM-DD HH:MM:SS.SSS').
CREATE TABLE IF NOT EXISTS services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    host TEXT NOT NULL,
    "binary" TEXT NOT NULL,
    topic TEXT NOT NULL,
    report_count INTEGER NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason TEXT,
    availability_zone TEXT,
    forced_down BOOLEAN NOT NULL DEFAULT FALSE,
    stopped BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_up TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    deleted_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_services0host0binary0deleted
    ON services (host, "binary", deleted);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_services0host0topic0deleted
    ON services (host, topic, deleted);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_services0uuid ON services (uuid);
