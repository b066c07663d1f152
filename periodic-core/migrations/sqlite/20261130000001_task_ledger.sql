-- The task ledger: per (scope, task) the last run and, for fleet tasks, the claim of the
-- current slot with its fencing token and lease. Every time is epoch milliseconds by the
-- clock of the host that holds the file (julianday('now')), never a client's.
CREATE TABLE IF NOT EXISTS periodic_task_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    task TEXT NOT NULL,
    spacing_ms INTEGER,
    slot INTEGER,
    token INTEGER NOT NULL DEFAULT 0,
    holder TEXT,
    lease_until_ms INTEGER,
    started_ms INTEGER,
    finished_ms INTEGER,
    outcome TEXT,
    duration_ms INTEGER,
    lateness_ms INTEGER,
    runs INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_periodic_task_ledger0scope0task
    ON periodic_task_ledger (scope, task);
