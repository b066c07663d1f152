//! Telling a connection that died while idle from a failed statement.
//!
//! The pools do not ping before each acquire (a heartbeat is one round trip), so after
//! the server restarted, or killed the session, the first statement on each pooled
//! connection fails ("terminating connection due to administrator command", a broken
//! pipe). Such a statement never ran: the store retries it, on the next connection,
//! until the pool runs out of dead ones and opens a fresh one. That failure must not
//! be the one that decides whether a graceful stop marks the service stopped, an admin
//! command succeeds, or the first heartbeat after an outage counts.

/// Whether `e` says the connection was gone, not that the statement failed.
pub(super) fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, and the
            // connection_exception class; MySQL/MariaDB: ER_CONNECTION_KILLED (70100) and
            // the server-shutdown / lost-connection state 08S01.
            matches!(&*code, "57P01" | "57P02" | "57P03" | "70100" | "08S01")
                || code.starts_with("08")
        }),
        _ => false,
    }
}

/// How many times a statement is tried when its connection was gone: every pooled
/// connection may be dead, and one more is a fresh one.
pub(super) fn attempts(max_connections: u32) -> u32 {
    max_connections.saturating_add(1).max(2)
}
