-- The task ledger: per (scope, task) the last run and, for fleet tasks, the claim of the
-- current slot with its fencing token and lease. Every time is epoch milliseconds by the
-- server's clock (UTC_TIMESTAMP(6)), never a client's.
CREATE TABLE IF NOT EXISTS periodic_task_ledger (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    scope VARCHAR(255) NOT NULL,
    task VARCHAR(255) NOT NULL,
    spacing_ms BIGINT NULL,
    slot BIGINT NULL,
    token BIGINT NOT NULL DEFAULT 0,
    holder VARCHAR(255) NULL,
    lease_until_ms BIGINT NULL,
    started_ms BIGINT NULL,
    finished_ms BIGINT NULL,
    outcome VARCHAR(16) NULL,
    duration_ms BIGINT NULL,
    lateness_ms BIGINT NULL,
    runs BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NULL,
    UNIQUE KEY uniq_periodic_task_ledger0scope0task (scope, task)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
