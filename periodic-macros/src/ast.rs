//! The impl block as `#[periodic_tasks]` sees it: finds the `#[periodic_task]` methods,
//! parses their arguments and takes the helper attributes off, so that the impl can be
//! emitted as the user wrote it.

use proc_macro2::TokenTree;
use syn::{Attribute, ImplItem, ItemImpl, Meta, Signature};

use crate::args::{self, TaskArgs};
use crate::errors::Errors;

/// A method marked `#[periodic_task]`.
pub(crate) struct TaskMethod {
    /// The method's signature as written (before any clean-up of the emitted impl).
    pub(crate) sig: Signature,
    /// Its `#[cfg(...)]` attributes: the registration is compiled under the same ones.
    pub(crate) cfgs: Vec<Attribute>,
    /// Whether the method is `#[deprecated]` (the registration then allows the call).
    pub(crate) deprecated: bool,
    /// The parsed arguments, or what is wrong with them and with the helper attributes.
    pub(crate) args: syn::Result<TaskArgs>,
}

/// Whether `attr` is the helper, written `#[periodic_task]` or with a path such as
/// `#[periodic::periodic_task]`.
pub(crate) fn is_helper(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "periodic_task")
}

/// `#[cfg_attr(..., periodic_task(...))]`: the macro cannot see through it.
fn is_helper_in_cfg_attr(attr: &Attribute) -> bool {
    fn mentions_helper(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "periodic_task",
            TokenTree::Group(group) => mentions_helper(group.stream()),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        })
    }
    match &attr.meta {
        Meta::List(list) if list.path.is_ident("cfg_attr") => mentions_helper(list.tokens.clone()),
        _ => false,
    }
}

/// Takes the `#[periodic_task]` methods out of `item` (the methods stay, their helper
/// attributes go) and parses their arguments. Misplaced helpers are reported and removed.
pub(crate) fn take_tasks(item: &mut ItemImpl, errors: &mut Errors) -> Vec<TaskMethod> {
    let mut tasks = Vec::new();
    for impl_item in &mut item.items {
        let (attrs, what) = match impl_item {
            ImplItem::Fn(method) => {
                if let Some(task) = take_task(&mut method.attrs, &method.sig, errors) {
                    if method.sig.asyncness.is_some() {
                        // Whether a task is `async` decides where it runs (on the runtime or
                        // on the blocking pool), so one without `.await` is deliberate.
                        method.attrs.push(syn::parse_quote!(#[allow(
                            clippy::unused_async,
                            reason = "`async` decides where a periodic task runs"
                        )]));
                    }
                    // A C-variadic method is rejected by `check`; emitting the impl without
                    // the `...` keeps rustc from reporting the same mistake a second time.
                    method.sig.variadic = None;
                    tasks.push(task);
                }
                continue;
            }
            ImplItem::Const(item) => (&mut item.attrs, "an associated constant"),
            ImplItem::Type(item) => (&mut item.attrs, "an associated type"),
            ImplItem::Macro(item) => (&mut item.attrs, "a macro invocation"),
            _ => continue,
        };
        attrs.retain(|attr| {
            if is_helper(attr) || is_helper_in_cfg_attr(attr) {
                errors.push(syn::Error::new_spanned(
                    attr,
                    format!("`#[periodic_task]` goes on a method (`fn`), not on {what}"),
                ));
                false
            } else {
                true
            }
        });
    }
    tasks
}

fn take_task(
    attrs: &mut Vec<Attribute>,
    sig: &Signature,
    outer: &mut Errors,
) -> Option<TaskMethod> {
    let mut helper: Option<Attribute> = None;
    let mut misplaced = Errors::default();
    attrs.retain(|attr| {
        if is_helper(attr) {
            if helper.is_some() {
                misplaced.push(syn::Error::new_spanned(
                    attr,
                    "`#[periodic_task]` is given more than once on this method; \
                     put all arguments in one attribute",
                ));
            } else {
                helper = Some(attr.clone());
            }
            false
        } else if is_helper_in_cfg_attr(attr) {
            misplaced.push(syn::Error::new_spanned(
                attr,
                "`#[periodic_task]` cannot be applied through `cfg_attr`; \
                 put `#[cfg(...)]` on the method to compile the task conditionally",
            ));
            false
        } else {
            true
        }
    });
    let Some(helper) = helper else {
        outer.extend(misplaced);
        return None;
    };
    let args = match &helper.meta {
        Meta::Path(_) => Ok(TaskArgs::default()),
        Meta::List(list) => list
            .parse_args_with(|input: syn::parse::ParseStream<'_>| args::parse(input, &sig.ident)),
        Meta::NameValue(meta) => Err(syn::Error::new_spanned(
            meta,
            "expected `#[periodic_task]` or `#[periodic_task(spacing = 60, ...)]`",
        )),
    };
    let mut errors = Errors::default();
    let args = errors.check(args).unwrap_or_default();
    errors.extend(misplaced);
    let args = errors.into_result(args);
    Some(TaskMethod {
        sig: sig.clone(),
        cfgs: attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"))
            .cloned()
            .collect(),
        deprecated: attrs.iter().any(|attr| attr.path().is_ident("deprecated")),
        args,
    })
}
