//! `cron = "..."` and `tz = "..."`: the expression and the time zone checked at compile
//! time, by the parser and the zone database the runtime uses (croner and chrono-tz,
//! feature `cron`), so that a mistake is a compile error on the string.

use syn::LitStr;

/// The fix shown when the feature is off.
#[cfg(not(feature = "cron"))]
const ENABLE: &str = "cron schedules need the feature `cron` of `periodic`: \
                      `periodic = { version = \"0.1\", features = [\"cron\"] }`";

/// Checks a cron expression: 5 fields, 6 with seconds, or an alias such as `@hourly`.
pub(crate) fn expression(lit: &LitStr) -> syn::Result<()> {
    let text = lit.value();
    if text.trim().is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            "`cron` must not be empty: `cron = \"0 */10 * * * *\"` (6 fields with seconds), \
             `cron = \"*/10 * * * *\"` (5 fields) or `cron = \"@hourly\"`",
        ));
    }
    #[cfg(feature = "cron")]
    {
        croner::parser::CronParser::new()
            .parse(&text)
            .map(drop)
            .map_err(|e| {
                let reason = e.to_string();
                let reason = reason.trim_end_matches('.');
                syn::Error::new_spanned(
                    lit,
                    format!(
                        "invalid cron expression: {reason}; expected 5 fields \
                         (`minute hour day-of-month month day-of-week`), 6 with seconds \
                         first, or an alias such as `@hourly`"
                    ),
                )
            })
    }
    #[cfg(not(feature = "cron"))]
    {
        Err(syn::Error::new_spanned(lit, ENABLE))
    }
}

/// Checks a time zone name against the IANA database.
pub(crate) fn zone(lit: &LitStr) -> syn::Result<()> {
    #[cfg(feature = "cron")]
    {
        let name = lit.value();
        name.parse::<chrono_tz::Tz>().map(drop).map_err(|_| {
            syn::Error::new_spanned(
                lit,
                format!(
                    "unknown time zone {name:?}: `tz` takes an IANA name such as \
                     \"Europe/Paris\", \"America/New_York\" or \"UTC\""
                ),
            )
        })
    }
    #[cfg(not(feature = "cron"))]
    {
        Err(syn::Error::new_spanned(lit, ENABLE))
    }
}
