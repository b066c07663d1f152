//! A time argument's number literal as seconds: `60`, `0.5`, `1_800`, a type suffix
//! (`60u64`, `0.5f64`), or a unit suffix (`500ms`, `30s`, `5m`, `1h`).
//!
//! Rust's lexer accepts any suffix on a number literal and leaves it to whoever reads the
//! tokens: without this check `spacing = 500ms` would read as 500 seconds and
//! `spacing = 1h` as 1 second. So a unit suffix is honoured, a type suffix is harmless,
//! and any other suffix is a compile error that names the accepted ones.

use syn::Lit;

/// The unit suffixes, with how many seconds one of them is as a fraction (a division by
/// 1000 keeps `500ms` exactly 0.5 s).
const UNITS: [(&str, f64, f64); 4] = [
    ("ms", 1.0, 1000.0),
    ("s", 1.0, 1.0),
    ("m", 60.0, 1.0),
    ("h", 3600.0, 1.0),
];

/// Rust's integer and float type suffixes: the number is seconds.
const TYPES: [&str; 14] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64",
];

/// The magnitude of the number literal `lit` of the argument `key`, in seconds.
///
/// # Errors
///
/// A suffix that is neither a unit nor a type (`500us`, `5min`, `2d`), or a number that is
/// not finite as an `f64`.
pub(crate) fn seconds(key: &str, lit: &Lit) -> syn::Result<f64> {
    let (digits, suffix) = match lit {
        Lit::Int(int) => (int.base10_digits(), int.suffix()),
        Lit::Float(float) => (float.base10_digits(), float.suffix()),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!(
                    "`{key}` must be a number of seconds (`{key} = 60`, `{key} = 0.5`) or of \
                     a unit (`{key} = 500ms`, `{key} = 5m`)"
                ),
            ));
        }
    };
    let (times, per) = if suffix.is_empty() || TYPES.contains(&suffix) {
        (1.0, 1.0)
    } else if let Some((_, times, per)) = UNITS.iter().find(|(unit, ..)| *unit == suffix) {
        (*times, *per)
    } else {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "unknown unit `{suffix}` in `{key} = {digits}{suffix}`: the units are `ms`, \
                 `s`, `m` (minutes) and `h`, and a number without one is seconds: {}",
                hint(digits, suffix)
            ),
        ));
    };
    match digits.parse::<f64>() {
        Ok(value) if (value * times / per).is_finite() => Ok(value * times / per),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!("`{key}` is out of range for an `f64` number of seconds"),
        )),
    }
}

/// The fix for an unknown suffix: the same length of time in an accepted form where the
/// suffix is a common spelling of a unit, else examples.
fn hint(digits: &str, suffix: &str) -> String {
    let unit = match suffix {
        "sec" | "secs" | "second" | "seconds" => "s",
        "msec" | "msecs" | "millis" | "milliseconds" => "ms",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => {
            return match digits.parse::<f64>() {
                Ok(days) => format!("write `{}h` for {digits} days", days * 24.0),
                Err(_) => "write days as hours: `24h`".to_owned(),
            };
        }
        "us" | "µs" | "ns" => {
            let per = if suffix == "ns" { 1e9 } else { 1e6 };
            return match digits.parse::<f64>() {
                Ok(value) => format!("write it in seconds, `{}`", value / per),
                Err(_) => "write it in seconds: `0.0005`".to_owned(),
            };
        }
        _ => return "`500ms`, `30s`, `5m`, `1h`".to_owned(),
    };
    format!("write `{digits}{unit}`")
}

#[cfg(test)]
mod tests {
    use super::seconds;

    fn secs(text: &str) -> Result<f64, String> {
        let lit = syn::parse_str(text).unwrap();
        seconds("spacing", &lit).map_err(|error| error.to_string())
    }

    #[test]
    fn units_are_honoured() {
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("1ms"), Ok(0.001));
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("1.5s"), Ok(1.5));
        assert_eq!(secs("5m"), Ok(300.0));
        assert_eq!(secs("1h"), Ok(3600.0));
        assert_eq!(secs("0.5h"), Ok(1800.0));
    }

    #[test]
    fn a_number_without_a_unit_or_with_a_type_is_seconds() {
        assert_eq!(secs("60"), Ok(60.0));
        assert_eq!(secs("1_800"), Ok(1800.0));
        assert_eq!(secs("60u64"), Ok(60.0));
        assert_eq!(secs("60i32"), Ok(60.0));
        assert_eq!(secs("0.5f64"), Ok(0.5));
        assert_eq!(secs("2f32"), Ok(2.0));
    }

    #[test]
    fn any_other_suffix_is_an_error_with_the_fix() {
        let error = secs("5min").unwrap_err();
        assert!(
            error.starts_with("unknown unit `min` in `spacing = 5min`"),
            "{error}"
        );
        assert!(error.ends_with("write `5m`"), "{error}");
        assert!(secs("2d").unwrap_err().ends_with("write `48h` for 2 days"));
        assert!(
            secs("250us")
                .unwrap_err()
                .ends_with("write it in seconds, `0.00025`")
        );
        assert!(
            secs("10x")
                .unwrap_err()
                .ends_with("`500ms`, `30s`, `5m`, `1h`")
        );
        assert!(
            secs("true")
                .unwrap_err()
                .starts_with("`spacing` must be a number")
        );
    }
}
