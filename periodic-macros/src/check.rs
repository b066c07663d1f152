//! Semantic checks, kept apart from parsing: the impl block, each task's signature, and
//! task names repeated within the block. What passes becomes a [`Task`] ready for codegen.

use std::collections::HashMap;

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt as _;
use syn::{
    FnArg, GenericParam, ItemImpl, LitStr, PatType, Receiver, ReturnType, Signature, Type,
    TypeParamBound,
};

use crate::args::TaskArgs;
use crate::ast::TaskMethod;
use crate::errors::Errors;

/// A checked task.
pub(crate) struct Task {
    /// The method.
    pub(crate) method: Ident,
    /// The task name: `name = "..."` or the method's name.
    pub(crate) name: LitStr,
    /// The declared settings.
    pub(crate) args: TaskArgs,
    /// `async fn` (awaited by the runner) or `fn` (run on the blocking pool).
    pub(crate) is_async: bool,
    /// The context type behind `ctx: &Context`, with `Self` spelled out; `None` for a task
    /// without a context.
    pub(crate) context: Option<TokenStream>,
    /// The method's last parameter is `run: &periodic::RunContext`.
    pub(crate) takes_run: bool,
    /// The declared return type; `None` for `()`.
    pub(crate) output: Option<Type>,
    /// The method's `#[cfg(...)]` attributes.
    pub(crate) cfgs: Vec<syn::Attribute>,
    /// The method is `#[deprecated]`.
    pub(crate) deprecated: bool,
}

/// Checks that `item` is an impl block the macro supports and returns the manager type's
/// name (the last segment of its path).
pub(crate) fn impl_block(item: &ItemImpl, errors: &mut Errors) -> Option<String> {
    let mut ok = true;
    let name = match &*item.self_ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.unraw().to_string()),
        _ => None,
    };
    // Hints name the user's own type, so that they do not read as the `periodic::Manager`
    // trait.
    let ty = name.as_deref().unwrap_or("ComputeManager");
    if let Some((_, path, for_token)) = &item.trait_ {
        ok = false;
        errors.push(syn::Error::new_spanned(
            quote!(#path #for_token),
            format!(
                "`#[periodic_tasks]` goes on an inherent impl block of the type whose methods \
                 are the tasks (`impl {ty} {{ ... }}`), not on an implementation of a trait"
            ),
        ));
    }
    if !item.generics.params.is_empty() {
        ok = false;
        errors.push(syn::Error::new_spanned(
            &item.generics,
            format!(
                "`#[periodic_tasks]` does not support generic impl blocks: tasks are registered \
                 for one concrete manager type at compile time; write the impl for a concrete \
                 type (`impl {ty}<Real> {{ ... }}`, with the type argument your service uses)"
            ),
        ));
    } else if let Some(lifetime) = named_lifetime(item.self_ty.to_token_stream()) {
        ok = false;
        errors.push(syn::Error::new(
            lifetime,
            "`#[periodic_tasks]` needs a manager type without borrowed lifetimes: the runner \
             owns the manager (`Arc<Manager>`), so it must be `'static`",
        ));
    }
    if name.is_none() {
        ok = false;
        errors.push(syn::Error::new_spanned(
            &item.self_ty,
            "`#[periodic_tasks]` needs a named manager type (`impl ComputeManager { ... }`)",
        ));
    }
    name.filter(|_| ok)
}

/// Checks every task's signature and that no two tasks of the block share a name.
pub(crate) fn tasks(methods: Vec<TaskMethod>, self_ty: &Type, errors: &mut Errors) -> Vec<Task> {
    let mut tasks = Vec::new();
    // Task name and cfg attributes -> the method that has the name. Tasks under different
    // `#[cfg]`s may share a name (only one of them is compiled); the runner checks again.
    let mut names: HashMap<(String, String), Ident> = HashMap::new();
    for method in methods {
        let TaskMethod {
            sig,
            cfgs,
            deprecated,
            args,
        } = method;
        // This method's mistakes are reported together, in source order.
        let args = errors.check(args);
        let checked = errors.check(signature(&sig, self_ty));
        let Some(args) = args else {
            continue;
        };
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span()));
        let cfg_key = cfgs
            .iter()
            .map(|attr| attr.to_token_stream().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(first) = names.get(&(name.value(), cfg_key.clone())) {
            let span = match &args.name {
                Some(lit) => lit.span(),
                None => sig.ident.span(),
            };
            errors.push(syn::Error::new(
                span,
                format!(
                    "duplicate periodic task name `{}`: the task of method `{first}` above \
                     already has it; task names must be unique per manager type, \
                     so set another `name = \"...\"`",
                    name.value()
                ),
            ));
            continue;
        }
        names.insert((name.value(), cfg_key), sig.ident.clone());
        let Some((context, takes_run)) = checked else {
            continue;
        };
        tasks.push(Task {
            method: sig.ident.clone(),
            name,
            args,
            is_async: sig.asyncness.is_some(),
            context,
            takes_run,
            output: match &sig.output {
                ReturnType::Type(_, ty) if !is_unit(ty) => Some((**ty).clone()),
                _ => None,
            },
            cfgs,
            deprecated,
        });
    }
    tasks
}

/// Whether `arg` is `run: &RunContext` (any path ending in `RunContext`).
fn is_run_context(arg: &FnArg) -> bool {
    let FnArg::Typed(arg) = arg else {
        return false;
    };
    let Type::Reference(reference) = &*arg.ty else {
        return false;
    };
    match &*reference.elem {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "RunContext" && segment.arguments.is_none()),
        _ => false,
    }
}

/// Checks a task's signature and returns its context type (`None`: the task takes no
/// context) and whether it takes the run's `&RunContext` last.
fn signature(sig: &Signature, self_ty: &Type) -> syn::Result<(Option<TokenStream>, bool)> {
    let mut errors = Errors::default();
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "a periodic task cannot be an `unsafe fn`: the runner calls it with no way to \
             uphold its safety contract; make the method safe and use `unsafe` blocks inside",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a periodic task cannot be an `extern` function; remove the ABI",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "a periodic task cannot be variadic",
        ));
    }
    let generic = !sig.generics.params.is_empty();
    if generic {
        let only_lifetimes = sig
            .generics
            .params
            .iter()
            .all(|param| matches!(param, GenericParam::Lifetime(_)));
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            if only_lifetimes {
                "a periodic task cannot declare lifetime parameters; \
                 the elided ones are enough: `&self`, `ctx: &Context`"
            } else {
                "a periodic task cannot be generic: the runner calls it with the one manager \
                 type and context type it was built for"
            },
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && sig.asyncness.is_none()
        && is_impl_future(ty)
    {
        errors.push(syn::Error::new_spanned(
            ty,
            "a plain `fn` periodic task runs on the blocking pool and its result is not \
             awaited; write an `async fn` instead of returning a future",
        ));
    }
    let mut inputs = sig.inputs.iter();
    let mut context = None;
    let mut takes_run = false;
    if let Some(FnArg::Receiver(receiver)) = inputs.next() {
        if let Some(error) = check_receiver(receiver, generic) {
            errors.push(error);
        }
        let mut rest: Vec<&FnArg> = inputs.collect();
        if rest.last().is_some_and(|arg| is_run_context(arg)) {
            rest.pop();
            takes_run = true;
        }
        if rest.len() > 1 {
            let extra = &rest[1..];
            errors.push(syn::Error::new_spanned(
                quote!(#(#extra),*),
                "a periodic task takes `&self`, at most one context (`ctx: &Context`) and, \
                 last, the run's context (`run: &periodic::RunContext`)",
            ));
        }
        if let Some(FnArg::Typed(arg)) = rest.first() {
            context = errors.check(check_context(arg, generic, self_ty));
        }
    } else {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "a periodic task must be a method taking `&self`; \
                 `{}` has no `self` parameter",
                sig.ident
            ),
        ));
    }
    match errors.into_error() {
        Some(error) => Err(error),
        None => Ok((context, takes_run)),
    }
}

fn check_receiver(receiver: &Receiver, generic: bool) -> Option<syn::Error> {
    let message = if receiver.colon_token.is_some() {
        match &*receiver.ty {
            Type::Reference(r)
                if r.mutability.is_none()
                    && matches!(&*r.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
                    && (generic || r.lifetime.as_ref().is_none_or(|l| l.ident == "_")) =>
            {
                return None;
            }
            _ => {
                "a periodic task takes `&self`; other receiver types \
                 (`self: Arc<Self>`, `self: Box<Self>`, ...) are not supported"
            }
        }
    } else if receiver.reference.is_none() {
        "a periodic task takes `&self`, not `self` by value: the runner keeps the manager in \
         an `Arc` and calls each task with a shared reference"
    } else if receiver.mutability.is_some() {
        "a periodic task takes `&self`, not `&mut self`: the tasks of one manager may run \
         concurrently, so keep mutable state behind interior mutability \
         (`Mutex`, `RwLock`, atomics)"
    } else if !generic
        && receiver
            .reference
            .as_ref()
            .and_then(|(_, lifetime)| lifetime.as_ref())
            .is_some_and(|l| l.ident != "_")
    {
        "write `&self` without a lifetime: the runner lends the manager to one run at a time"
    } else {
        return None;
    };
    Some(syn::Error::new_spanned(receiver, message))
}

/// The context parameter must be `&Type` with a sized, named type.
fn check_context(arg: &PatType, generic: bool, self_ty: &Type) -> syn::Result<TokenStream> {
    let ty = &*arg.ty;
    if contains_ident(ty.to_token_stream(), "impl") {
        return Err(syn::Error::new_spanned(
            ty,
            "`impl Trait` cannot be the context of a periodic task: name the context type \
             (`ctx: &Context`); it must be the `Context` of `PeriodicRunner<Manager, Context>`",
        ));
    }
    let Type::Reference(reference) = ty else {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "take the context by reference: `{}: &{}`; every task of a pass shares one \
                 context value",
                tokens_to_string(&arg.pat.to_token_stream()),
                tokens_to_string(&ty.to_token_stream()),
            ),
        ));
    };
    let elem = &*reference.elem;
    if reference.mutability.is_some() {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "take the context as `&{0}`, not `&mut {0}`: every task of a pass shares one \
                 context value",
                tokens_to_string(&elem.to_token_stream()),
            ),
        ));
    }
    if let Some(lifetime) = &reference.lifetime
        && !generic
        && lifetime.ident != "_"
    {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "write the context as `&{}` without a lifetime: the runner lends it to one \
                 run at a time",
                tokens_to_string(&elem.to_token_stream()),
            ),
        ));
    }
    let unsized_ = match elem {
        Type::TraitObject(_) | Type::Slice(_) => true,
        Type::Path(path) => path.qself.is_none() && path.path.is_ident("str"),
        _ => false,
    };
    if unsized_ {
        return Err(syn::Error::new_spanned(
            elem,
            "the context of a periodic task must be a sized type (a struct, `String`, ...): \
             the runner holds it as `Arc<Context>`",
        ));
    }
    Ok(replace_self(elem.to_token_stream(), self_ty))
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// `impl Future<Output = ...>` (or `impl Future + Send`, ...).
fn is_impl_future(ty: &Type) -> bool {
    let Type::ImplTrait(impl_trait) = ty else {
        return false;
    };
    impl_trait.bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(bound) => bound
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Future"),
        _ => false,
    })
}

/// Whether `tokens` contain the identifier `name`, at any depth.
fn contains_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => contains_ident(group.stream(), name),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// The span of the first lifetime other than `'static` in `tokens`.
fn named_lifetime(tokens: TokenStream) -> Option<Span> {
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Punct(punct) if punct.as_char() == '\'' => {
                if let Some(TokenTree::Ident(ident)) = trees.peek()
                    && ident != "static"
                {
                    return Some(punct.span().join(ident.span()).unwrap_or(ident.span()));
                }
            }
            TokenTree::Group(group) => {
                if let Some(span) = named_lifetime(group.stream()) {
                    return Some(span);
                }
            }
            _ => {}
        }
    }
    None
}

/// `Self` means the manager type; the registration sits outside the impl block, so it
/// spells the type out (as `<Manager>` before `::`).
fn replace_self(tokens: TokenStream, self_ty: &Type) -> TokenStream {
    let mut out = TokenStream::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Ident(ident) if ident == "Self" => {
                let path_follows =
                    matches!(trees.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if path_follows {
                    out.extend(quote!(<#self_ty>));
                } else {
                    out.extend(self_ty.to_token_stream());
                }
            }
            TokenTree::Group(group) => {
                let mut replaced = proc_macro2::Group::new(
                    group.delimiter(),
                    replace_self(group.stream(), self_ty),
                );
                replaced.set_span(group.span());
                out.extend([TokenTree::Group(replaced)]);
            }
            other => out.extend([other]),
        }
    }
    out
}

/// Type tokens as a person writes them: `my::Context<T>`, not `my :: Context < T >`.
pub(crate) fn tokens_to_string(tokens: &TokenStream) -> String {
    let text = tokens.to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.peek().copied();
            let glue_before = matches!(prev, Some(':' | '<' | '&' | '(' | '[' | '\''));
            let glue_after = matches!(next, Some(':' | '<' | '>' | ',' | ';' | ')' | ']'));
            if glue_before || glue_after {
                continue;
            }
        }
        out.push(c);
    }
    out
}
