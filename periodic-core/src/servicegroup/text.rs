//! The text a service row stores (`host`, `binary`, `topic`, `availability_zone`,
//! `disabled_reason`), checked the same way for every store before the store sees it.
//!
//! Without this check each store answered in its own way: PostgreSQL refuses a NUL byte
//! with "invalid byte sequence" (which the API reported as a store outage, 503),
//! MariaDB refuses more than 255 characters with error 1406, and SQLite stores both.

use crate::error::{Error, ErrorKind};

/// The most characters a text column holds: the schema's `VARCHAR(255)`, nova's.
pub(crate) const MAX_TEXT_CHARS: usize = 255;

/// Checks one text `field` of a row: at most [`MAX_TEXT_CHARS`] characters, no NUL.
///
/// # Errors
///
/// [`ErrorKind::Invalid`], naming the field and the rule (never the whole value, which
/// may be long or unprintable).
pub(crate) fn check_text(field: &str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(Error::new(
            ErrorKind::Invalid,
            format!("`{field}` must not contain a NUL character"),
        ));
    }
    let chars = value.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::new(
            ErrorKind::Invalid,
            format!("`{field}` is {chars} characters long; at most {MAX_TEXT_CHARS} are stored"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_length_are_refused_by_name() {
        assert!(check_text("host", "node-1").is_ok());
        assert!(
            check_text("host", &"é".repeat(255)).is_ok(),
            "characters, not bytes"
        );
        let err = check_text("disabled_reason", "a\0b").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            "`disabled_reason` must not contain a NUL character"
        );
        let err = check_text("disabled_reason", &"x".repeat(256)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            "`disabled_reason` is 256 characters long; at most 255 are stored"
        );
    }
}
