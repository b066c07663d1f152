//! Which SQL database a service-group URL names: `sqlite://FILE`, `postgres://...`,
//! `mysql://...` / `mariadb://...`.

use std::path::PathBuf;

use super::super::url::redact;
use crate::error::{Error, ErrorKind};

/// A parsed SQL store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlUrl {
    /// `sqlite://path` or `sqlite:path`.
    Sqlite { path: PathBuf },
    /// `postgres://...` or `postgresql://...`.
    Postgres { url: String },
    /// `mysql://...` or `mariadb://...` (kept as `mysql:`, which sqlx reads).
    MySql { url: String },
}

impl SqlUrl {
    /// Whether it names an SQLite file.
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self, SqlUrl::Sqlite { .. })
    }

    /// Parses `url`, whose scheme the registry already matched to an SQL dialect.
    pub(crate) fn parse(url: &str) -> Result<SqlUrl, Error> {
        let shown = redact(url);
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        let after_slashes = rest.strip_prefix("//");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = after_slashes.unwrap_or(rest);
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Invalid,
                        format!(
                            "malformed servicegroup URL `{shown}`: no database file \
                             (expected sqlite://FILE, e.g. sqlite://periodic.db)"
                        ),
                    ));
                }
                Ok(SqlUrl::Sqlite {
                    path: PathBuf::from(path),
                })
            }
            "postgres" | "postgresql" => {
                require_authority(after_slashes, &shown)?;
                Ok(SqlUrl::Postgres {
                    url: url.to_owned(),
                })
            }
            "mysql" | "mariadb" => {
                require_authority(after_slashes, &shown)?;
                Ok(SqlUrl::MySql {
                    url: format!("mysql:{rest}"),
                })
            }
            other => Err(Error::new(
                ErrorKind::Invalid,
                format!("`{other}` in `{shown}` is not an SQL URL scheme"),
            )),
        }
    }
}

impl SqlUrl {
    /// The scheme, for messages.
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            SqlUrl::Sqlite { .. } => "sqlite",
            SqlUrl::Postgres { .. } => "postgres",
            SqlUrl::MySql { .. } => "mysql",
        }
    }
}

fn require_authority(after_slashes: Option<&str>, shown: &str) -> Result<(), Error> {
    match after_slashes {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Invalid,
            format!(
                "malformed servicegroup URL `{shown}`: expected `scheme://[user@]host[:port]/database`"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::SqlUrl;

    #[test]
    fn schemes() {
        assert_eq!(
            SqlUrl::parse("sqlite://a/b.db?mode=rwc").unwrap(),
            SqlUrl::Sqlite {
                path: "a/b.db".into()
            }
        );
        assert_eq!(
            SqlUrl::parse("sqlite:x.db").unwrap(),
            SqlUrl::Sqlite {
                path: "x.db".into()
            }
        );
        assert_eq!(
            SqlUrl::parse("mariadb://root@h/db").unwrap(),
            SqlUrl::MySql {
                url: "mysql://root@h/db".into()
            }
        );
        let err = SqlUrl::parse("postgres://").unwrap_err();
        assert!(
            err.to_string().starts_with("malformed servicegroup URL"),
            "{err}"
        );
        let err = SqlUrl::parse("sqlite://").unwrap_err();
        assert!(err.to_string().contains("no database file"), "{err}");
    }
}
