-- The service's clock skew at its last heartbeat, in microseconds: the time the service
-- sent with the heartbeat minus the database's now() in the same UPDATE. NULL until a
-- service of this version reports. Shown by `periodic service list --long`; liveness
-- never reads it.
ALTER TABLE services ADD COLUMN clock_skew_us BIGINT NULL;
