//! Attribute macros of the `periodic` crate (docs to come).

mod args;
mod ast;
mod check;
mod errors;
mod expand;

use proc_macro::TokenStream;

/// Registers the `#[periodic_task]` methods of an impl block.
#[proc_macro_attribute]
pub fn periodic_tasks(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::periodic_tasks(args.into(), input.into()).into()
}

/// Marks a periodic task inside a `#[periodic_tasks]` impl block.
#[proc_macro_attribute]
pub fn periodic_task(_args: TokenStream, input: TokenStream) -> TokenStream {
    expand::stray_task(input.into()).into()
}
