-- Operator controls of the task ledger: a paused task does not run (on any replica, across
-- restarts) and a run-now request (the store time it was made) runs the task once, at
-- once, consumed with a new fencing token. Every time is epoch milliseconds by the
-- server's clock.
ALTER TABLE periodic_task_ledger ADD COLUMN paused SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE periodic_task_ledger ADD COLUMN paused_reason VARCHAR(255) NULL;
ALTER TABLE periodic_task_ledger ADD COLUMN run_requested_ms BIGINT NULL;

-- The run history: the newest 50 runs per (scope, task), trimmed in the transaction that
-- inserts a run.
CREATE TABLE IF NOT EXISTS periodic_task_runs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    scope VARCHAR(255) NOT NULL,
    task VARCHAR(255) NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    lateness_ms BIGINT NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    token BIGINT NULL,
    holder VARCHAR(255) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX periodic_task_runs_scope_task ON periodic_task_runs (scope, task, id);
