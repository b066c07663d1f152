//! Real servers for the driver tests: filled in with the SQL and memcached drivers.
