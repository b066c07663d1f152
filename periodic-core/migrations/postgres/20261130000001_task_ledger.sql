-- The task ledger: per (scope, task) the last run and, for fleet tasks, the claim of the
-- current slot with its fencing token and lease. Every time is epoch milliseconds by the
-- server's clock (now()), never a client's.
CREATE TABLE IF NOT EXISTS periodic_task_ledger (
    id BIGSERIAL PRIMARY KEY,
    scope VARCHAR(255) NOT NULL,
    task VARCHAR(255) NOT NULL,
    spacing_ms BIGINT,
    slot BIGINT,
    token BIGINT NOT NULL DEFAULT 0,
    holder VARCHAR(255),
    lease_until_ms BIGINT,
    started_ms BIGINT,
    finished_ms BIGINT,
    outcome VARCHAR(16),
    duration_ms BIGINT,
    lateness_ms BIGINT,
    runs BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT,
    CONSTRAINT uniq_periodic_task_ledger0scope0task UNIQUE (scope, task)
) WITH (fillfactor = 70);
