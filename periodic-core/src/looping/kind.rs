//! oslo.service's texts for each variant of looping call: its `_KIND` (the start of every
//! log line and error message) and its `_RUN_ONLY_ONE_MESSAGE`.

use std::fmt;

/// The variant, for oslo's log and error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Fixed,
    FixedWithTimeout,
    Dynamic,
    BackOff,
}

impl Kind {
    /// oslo's `_KIND`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Fixed => "Fixed interval looping call",
            Kind::FixedWithTimeout => "Fixed interval looping call with timeout checking.",
            Kind::Dynamic => "Dynamic interval looping call",
            Kind::BackOff => "Dynamic backoff interval looping call",
        }
    }

    /// oslo's `_RUN_ONLY_ONE_MESSAGE` (typos included, so that searches for it find us).
    pub(crate) fn only_one_message(self) -> &'static str {
        match self {
            Kind::Fixed => "A fixed interval looping call can only run one function at a time",
            Kind::FixedWithTimeout => {
                "A fixed interval looping call with timeout checking and can only run one \
                 function at at a time"
            }
            Kind::Dynamic => "A dynamic interval looping call can only run one function at a time",
            Kind::BackOff => {
                "A dynamic backoff interval looping call can only run one function at a time"
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
