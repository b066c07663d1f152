//! The code `#[periodic_tasks]` generates must be clean under strict lints in the user's
//! crate. Compiled by `cargo test`; the clippy lints are checked by
//! `cargo clippy --all-targets` (see `.ci/run`).

#![deny(
    warnings,
    unused_qualifications,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unused_results,
    single_use_lifetimes,
    trivial_casts,
    trivial_numeric_casts,
    unused_lifetimes,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    clippy::allow_attributes,
    clippy::allow_attributes_without_reason
)]
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::sync::Mutex;

use periodic::periodic_tasks;

/// A context type.
#[derive(Debug)]
struct Context;

/// An error that only implements `Display`.
#[derive(Debug)]
struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

/// A manager.
#[derive(Debug, Default)]
struct Manager {
    runs: Mutex<u32>,
}

impl Manager {
    fn bump(&self) -> u32 {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *runs += 1;
        *runs
    }
}

#[periodic_tasks]
impl Manager {
    /// Async, with a context and an `io::Error`.
    #[periodic_task(spacing = 60, run_immediately)]
    async fn with_context(&self, _ctx: &Context) -> Result<(), io::Error> {
        tokio::task::yield_now().await;
        if self.bump() > 3 {
            return Err(io::Error::other("too many runs"));
        }
        Ok(())
    }

    /// Blocking, no context, returns nothing.
    #[periodic_task]
    fn blocking(&self) {
        let _ = self.bump();
    }

    /// A `Display`-only error and a value that is dropped.
    #[periodic_task(spacing = 0.5, name = "renamed")]
    fn display_error(&self, _ctx: &Context) -> Result<u32, Oops> {
        match self.bump() {
            0 => Err(Oops),
            n => Ok(n),
        }
    }

    /// Negative spacing, explicit booleans.
    #[periodic::periodic_task(spacing = -1, enabled = false, external_process_ok = true)]
    async fn disabled(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        tokio::task::yield_now().await;
        if self.bump() == 0 {
            return Err("never".into());
        }
        Ok(())
    }

    /// `Self` as the context type.
    #[periodic_task(run_immediately = false)]
    async fn self_context(&self, ctx: &Self) -> Result<(), String> {
        tokio::task::yield_now().await;
        if ctx.bump() == self.bump() {
            return Err("same".to_owned());
        }
        Ok(())
    }

    /// A fleet task that takes the run's context.
    #[periodic_task(spacing = 600, fleet)]
    async fn fleet_wide(&self, _ctx: &Context, run: &periodic::RunContext) -> Result<(), Oops> {
        if run.is_cancelled() || run.token().is_none() {
            return Err(Oops);
        }
        Ok(())
    }

    /// A blocking task of a named fleet.
    #[periodic_task(fleet = "cells")]
    fn named_fleet(&self, run: &periodic::RunContext) {
        let _ = (self.bump(), run.slot());
    }
}

/// A generic type, used at one concrete instance.
#[derive(Debug, Default)]
struct Fleet<T>(T);

#[periodic_tasks]
impl Fleet<u8> {
    /// A raw identifier, a deprecated method and a `#[cfg]`.
    #[periodic_task]
    #[deprecated = "checks that calling a deprecated task is not a warning"]
    #[cfg(not(any()))]
    fn r#loop(&self) -> Result<(), Oops> {
        if self.0.to_string().len() > 3 {
            return Err(Oops);
        }
        Ok(())
    }

    /// Never compiled, nor is its registration.
    #[periodic_task]
    #[cfg(any())]
    fn never(&self, _ctx: &Missing) {}
}

/// A manager whose impl blocks name the crate: the user's `crate = path` tokens start the
/// generated paths, and must not bring the lints back.
#[derive(Debug, Default)]
struct Named(u8);

#[periodic_tasks(crate = ::periodic)]
impl Named {
    /// Async, with a context and a `Display`-only error.
    #[periodic_task(spacing = 5, run_immediately)]
    async fn absolute(&self, _ctx: &Context) -> Result<u8, Oops> {
        tokio::task::yield_now().await;
        if self.0 > 3 {
            return Err(Oops);
        }
        Ok(self.0)
    }
}

#[periodic_tasks(crate = periodic)]
impl Named {
    /// Blocking, with an `io::Error`.
    #[periodic_task]
    fn relative(&self) -> Result<(), io::Error> {
        if self.0 > 3 {
            return Err(io::Error::other("too big"));
        }
        Ok(())
    }
}

#[test]
fn named_crate_tasks_are_registered() {
    let names: Vec<_> = periodic::registered_tasks()
        .into_iter()
        .filter(|task| task.owner == "Named")
        .map(|task| task.name)
        .collect();
    assert_eq!(names, ["absolute", "relative"]);
    let _ = Named::default();
}

#[test]
fn fleet_tasks_are_registered() {
    let names: Vec<_> = periodic::registered_tasks()
        .into_iter()
        .filter(|task| task.owner == "Fleet")
        .map(|task| (task.name, task.method))
        .collect();
    assert_eq!(names, [("loop", "loop")]);
    let _ = Fleet::<u8>::default();
}

#[test]
fn tasks_are_registered() {
    let names: Vec<_> = periodic::registered_tasks()
        .into_iter()
        .filter(|task| task.owner == "Manager")
        .map(|task| task.name)
        .collect();
    assert_eq!(
        names,
        [
            "with_context",
            "blocking",
            "renamed",
            "disabled",
            "self_context",
            "fleet_wide",
            "named_fleet"
        ]
    );
}
