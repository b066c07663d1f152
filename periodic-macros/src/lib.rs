//! **Attribute macros that declare oslo.service-style periodic tasks on a manager type.**
//!
//! Use them through the [`periodic`](https://docs.rs/periodic) crate, which re-exports both
//! (feature `macros`, on by default): `#[periodic_tasks]` goes on an impl block,
//! `#[periodic_task(...)]` on each method of it that is a periodic task. This is the Rust
//! form of oslo.service's `@periodic_task.periodic_task` decorator on the methods of a
//! `PeriodicTasks` subclass, such as nova's `ComputeManager`.
//!
#![doc = include_str!("guide.md")]
#![doc(test(attr(deny(warnings))))]

mod args;
mod ast;
mod check;
mod cron;
mod errors;
mod expand;
mod seconds;

use proc_macro::TokenStream;

/// Registers the `#[periodic_task]` methods of an inherent impl block as periodic tasks of
/// its type.
///
#[doc = include_str!("guide.md")]
#[doc(alias = "PeriodicTasks")]
#[proc_macro_attribute]
pub fn periodic_tasks(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::periodic_tasks(args.into(), input.into()).into()
}

/// Marks a method of a [`#[periodic_tasks]`](macro@periodic_tasks) impl block as a periodic
/// task: `#[periodic_task(spacing = 60, run_immediately, name = "...", enabled = false,
/// external_process_ok, fleet, timeout = 30, overrun = skip)]`, or `cron = "0 0 3 * * *"`
/// (and `tz = "Europe/Paris"`, feature `cron`) instead of `spacing`; every argument
/// optional.
///
/// `#[periodic_tasks]` reads and removes this attribute; used anywhere else it is a
/// compile error. The arguments are described with
/// [`#[periodic_tasks]`](macro@periodic_tasks#arguments-of-periodic_task).
///
/// ```compile_fail
/// use periodic::periodic_task;
///
/// // error: `#[periodic_task]` must be used on a method inside an impl block annotated
/// // with `#[periodic_tasks]`
/// #[periodic_task(spacing = 60)]
/// async fn update_available_resource() {}
/// ```
#[proc_macro_attribute]
pub fn periodic_task(_args: TokenStream, input: TokenStream) -> TokenStream {
    expand::stray_task(input.into()).into()
}
