//! The SQL text of each dialect. Every time is written and measured by the database's own
//! clock (`{now}`); rows come back with epoch microseconds and the heartbeat's age, so the
//! decoding is the same for every dialect.

/// An SQL dialect. The text of every dialect is built (and unit-tested) whichever
/// features are on.
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// The statements of one dialect.
#[derive(Debug)]
pub(crate) struct Queries {
    pub(crate) insert: String,
    pub(crate) by_id: String,
    pub(crate) by_host_binary: String,
    pub(crate) by_host_topic: String,
    /// `SELECT ... WHERE deleted = 0`, to which `list` adds its filters.
    pub(crate) list: String,
    /// `$1` the service's time (epoch µs), `$2` the id; returns the skew it stored
    /// (`RETURNING`), except on MySQL, which has no `UPDATE ... RETURNING`: there
    /// [`heartbeat_skew`](Self::heartbeat_skew) reads it back.
    pub(crate) heartbeat: String,
    /// MySQL: the skew the heartbeat just stored (`$1` the id).
    pub(crate) heartbeat_skew: Option<String>,
    pub(crate) set_disabled: String,
    pub(crate) set_forced_down: String,
    pub(crate) set_stopped: String,
    pub(crate) delete: String,
    pub(crate) binary_column: &'static str,
}

impl Dialect {
    /// The database's current time, as stored.
    fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            Dialect::Postgres => "now()",
            Dialect::MySql => "UTC_TIMESTAMP(6)",
        }
    }

    /// A stored time as read back: epoch microseconds (`NULL` stays `NULL`) for SQLite and
    /// MySQL; PostgreSQL's `timestamptz` as it is, decoded from its binary form (8 bytes)
    /// by [`TimeColumns`](super::TimeColumns). Converting there instead of in SQL saves
    /// the server four `date_part` calls a row, a tenth of a list of 100,000.
    fn epoch_us(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "(CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER) * 1000)"
            ),
            Dialect::Postgres => column.to_owned(),
            Dialect::MySql => {
                format!("TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {column})")
            }
        }
    }

    /// The database's current time as epoch microseconds (a number in every dialect).
    fn now_us(self) -> String {
        match self {
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)".to_owned(),
            Dialect::Sqlite | Dialect::MySql => self.epoch_us(self.now()),
        }
    }

    /// An SQL `NULL` read as a 64-bit integer.
    fn null_i64(self) -> &'static str {
        match self {
            Dialect::Sqlite | Dialect::Postgres => "CAST(NULL AS BIGINT)",
            Dialect::MySql => "CAST(NULL AS SIGNED)",
        }
    }

    /// `expr` (a small integer column) read as a 64-bit integer.
    pub(crate) fn int64(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => expr.to_owned(),
            Dialect::Postgres => format!("CAST({expr} AS BIGINT)"),
            Dialect::MySql => format!("CAST({expr} AS SIGNED)"),
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Dialect::Sqlite | Dialect::Postgres => "\"binary\"",
            Dialect::MySql => "`binary`",
        }
    }

    /// `$1, $2, ...` as the dialect writes parameters (`?` for SQLite and MySQL; every
    /// statement uses each parameter once, in order).
    pub(crate) fn params(self, sql: &str) -> String {
        if self == Dialect::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The statements; `skew_column`: the table has `clock_skew_us` (false only for a
    /// store an operator reads that no service of this version migrated yet).
    pub(crate) fn queries(self, skew_column: bool) -> Queries {
        let (now, b) = (self.now(), self.binary());
        let skew = if skew_column {
            "clock_skew_us"
        } else {
            self.null_i64()
        };
        // The column order is the one `decode!` reads by index.
        // `db_now` is the database's clock, read once per statement (a one-row derived
        // table): each heartbeat's age is `db_now - COALESCE(last_seen_up, created_at)`,
        // so no host clock takes part in judging liveness.
        let select = format!(
            "SELECT id, uuid, host, {b} AS service_binary, topic, report_count, disabled, \
             disabled_reason, availability_zone, forced_down, stopped, {} AS last_seen_up_us, \
             {} AS created_at_us, {} AS updated_at_us, clock.db_now, {skew} AS clock_skew_us \
             FROM services CROSS JOIN (SELECT {} AS db_now) clock",
            self.epoch_us("last_seen_up"),
            self.epoch_us("created_at"),
            self.epoch_us("updated_at"),
            self.epoch_us(now),
        );
        // The skew is the service's time minus the database's, both of this statement.
        let returning = match self {
            Dialect::Sqlite | Dialect::Postgres => " RETURNING clock_skew_us",
            Dialect::MySql => "",
        };
        let on_conflict = match self {
            Dialect::Sqlite | Dialect::Postgres => "ON CONFLICT DO NOTHING",
            Dialect::MySql => "ON DUPLICATE KEY UPDATE id = id",
        };
        let p = |sql: String| self.params(&sql);
        Queries {
            insert: p(format!(
                "INSERT INTO services (uuid, host, {b}, topic, availability_zone, created_at) \
                 VALUES ($1, $2, $3, $4, $5, {now}) {on_conflict}"
            )),
            by_id: p(format!("{select} WHERE id = $1 AND deleted = 0")),
            by_host_binary: p(format!(
                "{select} WHERE host = $1 AND {b} = $2 AND deleted = 0"
            )),
            by_host_topic: p(format!(
                "{select} WHERE host = $1 AND topic = $2 AND deleted = 0"
            )),
            list: format!("{select} WHERE deleted = 0"),
            heartbeat: p(format!(
                "UPDATE services SET report_count = report_count + 1, last_seen_up = {now}, \
                 updated_at = {now}, stopped = FALSE, clock_skew_us = $1 - {} \
                 WHERE id = $2 AND deleted = 0{returning}",
                self.now_us()
            )),
            heartbeat_skew: (self == Dialect::MySql).then(|| {
                p("SELECT clock_skew_us FROM services WHERE id = $1 AND deleted = 0".to_owned())
            }),
            set_disabled: p(format!(
                "UPDATE services SET disabled = $1, disabled_reason = $2, updated_at = {now} \
                 WHERE id = $3 AND deleted = 0"
            )),
            set_forced_down: p(format!(
                "UPDATE services SET forced_down = $1, updated_at = {now} \
                 WHERE id = $2 AND deleted = 0"
            )),
            set_stopped: p(format!(
                "UPDATE services SET stopped = $1, updated_at = {now} WHERE id = $2 AND deleted = 0"
            )),
            delete: p(format!(
                "UPDATE services SET deleted = id, deleted_at = {now}, updated_at = {now} \
                 WHERE id = $1 AND deleted = 0"
            )),
            binary_column: b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn parameters_per_dialect() {
        assert_eq!(
            Dialect::Sqlite.params("a = $1 AND b = $12"),
            "a = ? AND b = ?"
        );
        assert_eq!(Dialect::MySql.params("x = '$'"), "x = '$'");
        assert_eq!(Dialect::Postgres.params("a = $1"), "a = $1");
    }

    #[test]
    fn a_heartbeat_stamps_the_database_s_time() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            let q = dialect.queries(true);
            // Two parameters, the service's time and the id: `last_seen_up` is the
            // database's time; the service's only enters the skew.
            assert_eq!(
                q.heartbeat.matches(['?', '$']).count(),
                2,
                "{}",
                q.heartbeat
            );
            assert!(
                q.heartbeat
                    .contains(&format!("last_seen_up = {},", dialect.now())),
                "{}",
                q.heartbeat
            );
            assert!(!q.set_disabled.contains("last_seen_up"));
            assert!(!q.set_forced_down.contains("last_seen_up"));
        }
    }
}
