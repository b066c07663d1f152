-- The services table (nova's columns) plus `stopped`, the graceful-shutdown marker.
-- fillfactor 70 leaves room on each page so that heartbeats (which touch no indexed
-- column) are HOT updates.
CREATE TABLE IF NOT EXISTS services (
    id BIGSERIAL PRIMARY KEY,
    uuid VARCHAR(36) NOT NULL,
    host VARCHAR(255) NOT NULL,
    "binary" VARCHAR(255) NOT NULL,
    topic VARCHAR(255) NOT NULL,
    report_count BIGINT NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason VARCHAR(255),
    availability_zone VARCHAR(255),
    forced_down BOOLEAN NOT NULL DEFAULT FALSE,
    stopped BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_up TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ,
    deleted BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, "binary", deleted),
    CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted),
    CONSTRAINT uniq_services0uuid UNIQUE (uuid)
) WITH (fillfactor = 70);
