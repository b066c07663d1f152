-- The services table (nova's columns) plus `stopped`, the graceful-shutdown marker.
-- Timestamps are UTC, written by the server (UTC_TIMESTAMP(6)).
CREATE TABLE IF NOT EXISTS services (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uuid VARCHAR(36) NOT NULL,
    host VARCHAR(255) NOT NULL,
    `binary` VARCHAR(255) NOT NULL,
    topic VARCHAR(255) NOT NULL,
    report_count BIGINT NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason VARCHAR(255),
    availability_zone VARCHAR(255),
    forced_down BOOLEAN NOT NULL DEFAULT FALSE,
    stopped BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_up DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NULL,
    deleted_at DATETIME(6) NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    UNIQUE KEY uniq_services0host0binary0deleted (host, `binary`, deleted),
    UNIQUE KEY uniq_services0host0topic0deleted (host, topic, deleted),
    UNIQUE KEY uniq_services0uuid (uuid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
