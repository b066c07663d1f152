//! Service-group URLs: their scheme, and the form shown in messages and logs.

use crate::error::{Error, ErrorKind};

/// The scheme of `url` (lower case), checked for the syntax of a URL scheme.
pub(crate) fn scheme(url: &str) -> Result<String, Error> {
    let shown = redact(url);
    let Some((scheme, _)) = url.split_once(':') else {
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
    Ok(scheme.to_ascii_lowercase())
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
        assert_eq!(scheme("Memory://").unwrap(), "memory");
        let err = scheme("periodic.db").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(
            err.to_string().starts_with("malformed servicegroup URL"),
            "{err}"
        );
        let err = scheme("a b:c").unwrap_err();
        assert!(err.to_string().contains("is not a URL scheme"), "{err}");
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
