//! `Spacing`: how often a periodic task runs, as a type. oslo's sentinel numbers (`0` for
//! the default interval, negative for disabled) are read only at the edges: the macro's
//! `spacing = N`, the configuration file, and [`Spacing::from_secs_f64`].

use std::fmt;
use std::time::Duration;

use super::schedule::DEFAULT_INTERVAL;
use crate::error::{Error, ErrorKind, Result};

/// How often a periodic task runs: oslo.service's `spacing`, with its two sentinel numbers
/// as variants of their own.
///
/// | oslo.service | here |
/// |---|---|
/// | `spacing=0` (the default) | [`Spacing::Default`]: every [`DEFAULT_INTERVAL`] (60 s) |
/// | `spacing=30` | [`Spacing::Every`]`(Duration::from_secs(30))` |
/// | `spacing=-1` (any negative number) | [`Spacing::Disabled`]: listed, never run |
///
/// `#[periodic_task(spacing = N)]` and the `[periodic_task_spacing]` table of a
/// [`Config`](crate::Config) file take oslo's numbers; in code, write the variant, a
/// [`Duration`] (which converts into [`Spacing::Every`]), or convert a number of seconds
/// that carries oslo's meaning with [`Spacing::from_secs_f64`].
///
/// ```
/// use std::time::Duration;
/// use periodic::{DEFAULT_INTERVAL, Spacing};
///
/// assert_eq!(Spacing::from_secs_f64(0.0)?, Spacing::Default);
/// assert_eq!(Spacing::from_secs_f64(2.5)?, Spacing::Every(Duration::from_millis(2500)));
/// assert_eq!(Spacing::from_secs_f64(-1.0)?, Spacing::Disabled);
///
/// assert_eq!(Spacing::Default.interval(), Some(DEFAULT_INTERVAL));
/// assert_eq!(Spacing::from(Duration::from_secs(30)).interval(), Some(Duration::from_secs(30)));
/// assert_eq!(Spacing::Disabled.interval(), None);
/// # Ok::<(), periodic::Error>(())
/// ```
///
/// # Differences from oslo.service
///
/// oslo takes any number and gives `0` and negative numbers their special meanings
/// wherever a spacing is set. Here only the edges where oslo's users write numbers do
/// (the macro, the configuration file, [`from_secs_f64`](Self::from_secs_f64)); an
/// [`Every`](Self::Every) of zero is an error ([`ErrorKind::Config`]) when it reaches a
/// runner, not the default interval.
#[doc(alias = "spacing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Spacing {
    /// Every [`DEFAULT_INTERVAL`] (60 s): oslo's `spacing=0`, the default of
    /// `#[periodic_task]` and [`PeriodicTask`](crate::PeriodicTask).
    #[default]
    #[doc(alias = "DEFAULT_INTERVAL")]
    Default,
    /// Every so often; the duration must not be zero.
    Every(Duration),
    /// Never run: oslo's negative spacing. The task is kept, so introspection lists it,
    /// and a later [`set_spacing`](crate::PeriodicRunner::set_spacing) can enable it.
    Disabled,
}

impl Spacing {
    /// A number of seconds with oslo's meaning: `0` is [`Spacing::Default`], a negative
    /// number is [`Spacing::Disabled`], a positive one is [`Spacing::Every`]. This is how a
    /// spacing read from configuration becomes a `Spacing`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a number that is not finite (NaN, infinite), a positive
    /// number under one nanosecond, or one too large for a [`Duration`].
    ///
    /// ```
    /// use periodic::{ErrorKind, Spacing};
    ///
    /// let err = Spacing::from_secs_f64(f64::NAN).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert_eq!(err.to_string(), "a spacing must be a finite number of seconds, got NaN");
    /// ```
    #[doc(alias = "spacing_secs")]
    pub fn from_secs_f64(secs: f64) -> Result<Spacing> {
        if !secs.is_finite() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("a spacing must be a finite number of seconds, got {secs}"),
            ));
        }
        if secs < 0.0 {
            return Ok(Spacing::Disabled);
        }
        if secs == 0.0 {
            return Ok(Spacing::Default);
        }
        let every = Duration::try_from_secs_f64(secs).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("a spacing of {secs} seconds is out of range"),
            )
            .with_source(e)
        })?;
        if every.is_zero() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("a spacing must be at least a nanosecond, got {secs} seconds"),
            ));
        }
        Ok(Spacing::Every(every))
    }

    /// The time between two runs: [`DEFAULT_INTERVAL`] for [`Spacing::Default`], the
    /// duration of [`Spacing::Every`], `None` for [`Spacing::Disabled`].
    pub fn interval(self) -> Option<Duration> {
        match self {
            Spacing::Default => Some(DEFAULT_INTERVAL),
            Spacing::Every(every) => Some(every),
            Spacing::Disabled => None,
        }
    }

    /// Whether this is [`Spacing::Disabled`].
    pub fn is_disabled(self) -> bool {
        self == Spacing::Disabled
    }

    /// The interval a runner schedules the task of `owner.task` with, checked: `None` when
    /// disabled, an error for `Every(Duration::ZERO)`.
    pub(crate) fn checked_interval(self, full_name: &str) -> Result<Option<Duration>> {
        match self.interval() {
            Some(every) if every.is_zero() => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "spacing of periodic task {full_name} is zero; write `Spacing::Default` for \
                     the default interval ({} s) or `Spacing::Disabled` to disable it",
                    DEFAULT_INTERVAL.as_secs()
                ),
            )),
            interval => Ok(interval),
        }
    }
}

impl From<Duration> for Spacing {
    /// [`Spacing::Every`] the duration.
    fn from(every: Duration) -> Self {
        Spacing::Every(every)
    }
}

impl TryFrom<f64> for Spacing {
    type Error = Error;

    /// [`Spacing::from_secs_f64`]: seconds with oslo's meaning of `0` and negatives.
    fn try_from(secs: f64) -> Result<Self> {
        Spacing::from_secs_f64(secs)
    }
}

impl fmt::Display for Spacing {
    /// `every 30s`, `every 60s (default)`, `disabled`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spacing::Default => write!(f, "every {DEFAULT_INTERVAL:?} (default)"),
            Spacing::Every(every) => write!(f, "every {every:?}"),
            Spacing::Disabled => f.write_str("disabled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_numbers_at_the_edge() {
        assert_eq!(Spacing::from_secs_f64(0.0).unwrap(), Spacing::Default);
        assert_eq!(Spacing::from_secs_f64(-0.0).unwrap(), Spacing::Default);
        assert_eq!(Spacing::from_secs_f64(-1.0).unwrap(), Spacing::Disabled);
        assert_eq!(Spacing::from_secs_f64(-1e-9).unwrap(), Spacing::Disabled);
        assert_eq!(
            Spacing::from_secs_f64(0.5).unwrap(),
            Spacing::Every(Duration::from_millis(500))
        );
        assert_eq!(
            Spacing::try_from(1e-9).unwrap(),
            Spacing::Every(Duration::from_nanos(1))
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-12, 1e300] {
            let err = Spacing::from_secs_f64(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        }
        assert_eq!(
            Spacing::from_secs_f64(1e-12).unwrap_err().to_string(),
            "a spacing must be at least a nanosecond, got 0.000000000001 seconds"
        );
        assert_eq!(
            Spacing::from_secs_f64(1e300).unwrap_err().to_string(),
            format!("a spacing of {} seconds is out of range", 1e300)
        );
    }

    #[test]
    fn interval_and_display() {
        assert_eq!(Spacing::default(), Spacing::Default);
        assert_eq!(Spacing::Default.interval(), Some(DEFAULT_INTERVAL));
        assert_eq!(Spacing::Disabled.interval(), None);
        assert!(Spacing::Disabled.is_disabled() && !Spacing::Default.is_disabled());
        assert_eq!(Spacing::Default.to_string(), "every 60s (default)");
        assert_eq!(
            Spacing::from(Duration::from_millis(1500)).to_string(),
            "every 1.5s"
        );
        assert_eq!(Spacing::Disabled.to_string(), "disabled");
    }

    #[test]
    fn zero_every_is_an_error_not_the_default() {
        let err = Spacing::Every(Duration::ZERO)
            .checked_interval("Manager.t")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(
            err.to_string(),
            "spacing of periodic task Manager.t is zero; write `Spacing::Default` for the \
             default interval (60 s) or `Spacing::Disabled` to disable it"
        );
        assert_eq!(Spacing::Disabled.checked_interval("M.t").unwrap(), None);
        assert_eq!(
            Spacing::Default.checked_interval("M.t").unwrap(),
            Some(DEFAULT_INTERVAL)
        );
    }
}
