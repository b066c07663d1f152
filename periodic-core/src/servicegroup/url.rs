//! Which store a service-group URL names.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// `memory://` (a private store) or `memory://name` (shared in the process).
    Memory { name: Option<String> },
    /// `sqlite://path` or `sqlite:path`.
    Sqlite { path: PathBuf },
    /// `postgres://...` or `postgresql://...`.
    Postgres { url: String },
    /// `mysql://...` or `mariadb://...`.
    MySql { url: String },
}

impl StoreUrl {
    pub(crate) fn parse(url: &str) -> Result<StoreUrl, Error> {
        let shown = redact(url);
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "malformed servicegroup URL `{shown}`: expected `scheme://...` \
                     (sqlite://FILE, postgres://..., mysql://..., memory://)"
                ),
            ));
        };
        let scheme_ok = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!("malformed servicegroup URL `{shown}`: `{scheme}` is not a URL scheme"),
            ));
        }
        let after_slashes = rest.strip_prefix("//");
        let store = match scheme.to_ascii_lowercase().as_str() {
            "memory" => {
                let name = after_slashes.unwrap_or(rest);
                StoreUrl::Memory {
                    name: (!name.is_empty()).then(|| name.to_owned()),
                }
            }
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
                StoreUrl::Sqlite {
                    path: PathBuf::from(path),
                }
            }
            "postgres" | "postgresql" => {
                require_authority(after_slashes, &shown)?;
                StoreUrl::Postgres {
                    url: url.to_owned(),
                }
            }
            "mysql" | "mariadb" => {
                require_authority(after_slashes, &shown)?;
                StoreUrl::MySql {
                    url: format!("mysql:{rest}"),
                }
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!(
                        "unsupported servicegroup URL scheme `{other}` in `{shown}`; expected \
                         sqlite, postgres, mysql (or mariadb) or memory"
                    ),
                ));
            }
        };
        store.check_feature()?;
        Ok(store)
    }

    /// The scheme, for messages.
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            StoreUrl::Memory { .. } => "memory",
            StoreUrl::Sqlite { .. } => "sqlite",
            StoreUrl::Postgres { .. } => "postgres",
            StoreUrl::MySql { .. } => "mysql",
        }
    }

    fn check_feature(&self) -> Result<(), Error> {
        let built = match self {
            StoreUrl::Memory { .. } => true,
            StoreUrl::Sqlite { .. } => cfg!(feature = "sqlite"),
            StoreUrl::Postgres { .. } => cfg!(feature = "postgres"),
            StoreUrl::MySql { .. } => cfg!(feature = "mysql"),
        };
        if built {
            Ok(())
        } else {
            let scheme = self.scheme();
            Err(Error::new(
                ErrorKind::Config,
                format!(
                    "servicegroup URL scheme `{scheme}` needs the `{scheme}` feature of the \
                     `periodic` crate, which this build does not have"
                ),
            ))
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

/// The URL with any password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            StoreUrl::parse("memory://").unwrap(),
            StoreUrl::Memory { name: None }
        );
        assert_eq!(
            StoreUrl::parse("memory://a").unwrap(),
            StoreUrl::Memory {
                name: Some("a".into())
            }
        );
        let err = StoreUrl::parse("redis://x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(
            err.to_string()
                .starts_with("unsupported servicegroup URL scheme `redis`")
        );
        let err = StoreUrl::parse("periodic.db").unwrap_err();
        assert!(
            err.to_string().starts_with("malformed servicegroup URL"),
            "{err}"
        );
        let err = StoreUrl::parse("postgres://").unwrap_err();
        assert!(
            err.to_string().starts_with("malformed servicegroup URL"),
            "{err}"
        );
        let err = StoreUrl::parse("sqlite://").unwrap_err();
        assert!(err.to_string().contains("no database file"), "{err}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
