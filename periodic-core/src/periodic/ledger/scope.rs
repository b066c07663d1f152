//! Whose ledger rows: one service's plain tasks or one fleet's ([`TaskScope`]).

use std::fmt;

use crate::error::{Error, ErrorKind};

/// The longest fleet name [`TaskScope::fleet`] accepts, in characters.
pub const MAX_FLEET_NAME: usize = 200;

/// Whose tasks a ledger row belongs to: one service (`service/<host>/<binary>`, for plain
/// tasks) or one fleet (`fleet/<name>`, for fleet tasks, shared by every replica).
///
/// ```
/// use periodic::TaskScope;
///
/// assert_eq!(TaskScope::service("n1", "nova-scheduler").as_str(), "service/n1/nova-scheduler");
/// assert_eq!(TaskScope::fleet("nova-scheduler")?.as_str(), "fleet/nova-scheduler");
/// assert!(TaskScope::fleet("").is_err());
/// # Ok::<(), periodic::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskScope(String);

impl TaskScope {
    /// The scope of one service's plain tasks.
    pub fn service(host: &str, binary: &str) -> TaskScope {
        TaskScope(format!("service/{host}/{binary}"))
    }

    /// The scope of a fleet's tasks.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for an empty name or one longer than [`MAX_FLEET_NAME`]
    /// characters.
    pub fn fleet(name: &str) -> Result<TaskScope, Error> {
        if name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "a fleet name cannot be empty; use `fleet` for the service's binary or \
                 `fleet = \"name\"`",
            ));
        }
        let chars = name.chars().count();
        if chars > MAX_FLEET_NAME {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "the fleet name `{name}` has {chars} characters; at most {MAX_FLEET_NAME} fit in the ledger"
                ),
            ));
        }
        Ok(TaskScope(format!("fleet/{name}")))
    }

    /// A scope as stored (`service/...` or `fleet/...`), for readers of the ledger such as
    /// `periodic task list`.
    pub fn from_stored(stored: impl Into<String>) -> TaskScope {
        TaskScope(stored.into())
    }

    /// The scope as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fleet's name, if this is a fleet scope.
    pub fn fleet_name(&self) -> Option<&str> {
        self.0.strip_prefix("fleet/")
    }
}

impl fmt::Display for TaskScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_names() {
        let err = TaskScope::fleet("").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("cannot be empty"), "{err}");
        assert!(TaskScope::fleet(&"x".repeat(MAX_FLEET_NAME)).is_ok());
        let err = TaskScope::fleet(&"x".repeat(MAX_FLEET_NAME + 1)).unwrap_err();
        assert!(err.to_string().contains("201 characters"), "{err}");
        assert_eq!(TaskScope::fleet("a").unwrap().fleet_name(), Some("a"));
        assert_eq!(TaskScope::service("h", "b").fleet_name(), None);
    }
}
