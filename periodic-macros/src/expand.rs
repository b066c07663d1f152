//! Code generation: the impl block as written (helper attributes removed) followed by one
//! registration per task. Generated code names everything by absolute path
//! (`::periodic::__private`, or `<crate = path>::__private` for a renamed dependency,
//! `::core`, `::std`) and never relies on the user's imports.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Item, Type};

use crate::args::{self, FleetArg, ImplArgs};
use crate::ast;
use crate::check::{self, Task};
use crate::errors::Errors;

/// `#[periodic_tasks]` on an impl block.
pub(crate) fn periodic_tasks(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = errors
        .check(syn::parse::Parser::parse2(args::parse_impl, args))
        .unwrap_or_default();
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return with_errors(input, errors);
        }
    };
    let mut item = match item {
        Item::Impl(item) => item,
        mut other => {
            // Named after the item when it is a type (the user's own manager type), so
            // that the hint does not read as the `periodic::Manager` trait.
            let ty = match &other {
                Item::Struct(item) => item.ident.unraw().to_string(),
                Item::Enum(item) => item.ident.unraw().to_string(),
                _ => "ComputeManager".to_owned(),
            };
            errors.push(syn::Error::new(
                Span::call_site(),
                format!(
                    "`#[periodic_tasks]` goes on an inherent impl block of the type whose \
                     methods are the tasks: `#[periodic_tasks] impl {ty} {{ ... }}`"
                ),
            ));
            strip_trait_helpers(&mut other);
            return with_errors(other.into_token_stream(), errors);
        }
    };
    let methods = ast::take_tasks(&mut item, &mut errors);
    let owner = check::impl_block(&item, &mut errors);
    let tasks = check::tasks(methods, &item.self_ty, &mut errors);
    match owner {
        Some(owner) if errors.is_empty() => {
            // `#[periodic_tasks] #[cfg(...)] impl ...`: the cfg applies to the registrations
            // too (a cfg written above `#[periodic_tasks]` is applied before it runs).
            let impl_cfgs: Vec<&syn::Attribute> = item
                .attrs
                .iter()
                .filter(|attr| attr.path().is_ident("cfg"))
                .collect();
            let registrations = tasks
                .iter()
                .map(|task| registration(&args, &item.self_ty, &owner, &impl_cfgs, task));
            quote! {
                #item
                #(#registrations)*
            }
        }
        _ => with_errors(item.into_token_stream(), errors),
    }
}

/// `#[periodic_task]` anywhere `#[periodic_tasks]` did not remove it: always an error, with
/// the item emitted unchanged so that nothing else breaks.
pub(crate) fn stray_task(input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[periodic_task]` must be used on a method inside an impl block annotated with \
         `#[periodic_tasks]`",
    );
    let mut errors = Errors::default();
    errors.push(error);
    with_errors(input, errors)
}

/// The user's item followed by the errors (the fallback: one mistake, one message).
fn with_errors(mut item: TokenStream, errors: Errors) -> TokenStream {
    if let Some(error) = errors.into_error() {
        item.extend(error.to_compile_error());
    }
    item
}

/// `#[periodic_tasks]` put on a trait: its methods' helpers would each report the same
/// mistake again, so they are removed.
fn strip_trait_helpers(item: &mut Item) {
    if let Item::Trait(item) = item {
        for trait_item in &mut item.items {
            if let syn::TraitItem::Fn(method) = trait_item {
                method.attrs.retain(|attr| !ast::is_helper(attr));
            }
        }
    }
}

/// One task's registration: a wrapper that calls the method, and its descriptor.
///
/// ```text
/// #[cfg(...)]                       // the method's own cfgs
/// const _: () = {
///     fn __periodic_task(manager, context) -> TaskCall { ... }
///     inventory::submit! { TaskDescriptor { ..., call: __periodic_task } }
/// };
/// ```
fn registration(
    args: &ImplArgs,
    self_ty: &Type,
    owner: &str,
    impl_cfgs: &[&syn::Attribute],
    task: &Task,
) -> TokenStream {
    let method_name = task.method.unraw().to_string();
    let name = &task.name;
    let run_immediately = task.args.run_immediately;
    let enabled = task.args.enabled;
    let external_process_ok = task.args.external_process_ok;
    let cfgs = &task.cfgs;
    let (context, context_name) = match &task.context {
        Some(ty) => (
            quote!(::core::option::Option::Some(::core::any::TypeId::of::<#ty>)),
            check::tokens_to_string(ty),
        ),
        None => (quote!(::core::option::Option::None), String::new()),
    };
    // Spanned at the method: the runner orders a pass by source position.
    let at = task.method.span();
    let file = quote_spanned!(at=> ::core::file!());
    let line = quote_spanned!(at=> ::core::line!());
    let column = quote_spanned!(at=> ::core::column!());
    let wrapper = wrapper(args, self_ty, task);
    let krate = args.krate(Span::call_site());
    let spacing = task.args.spacing.tokens(&krate);
    let fleet = fleet_tokens(&krate, task);
    let overrun = task.args.overrun.tokens(&krate);
    let timeout = task.args.timeout.map_or_else(
        || quote!(::core::option::Option::None),
        |timeout| {
            let secs = proc_macro2::Literal::u64_suffixed(timeout.as_secs());
            let nanos = proc_macro2::Literal::u32_suffixed(timeout.subsec_nanos());
            quote!(::core::option::Option::Some(::core::time::Duration::new(#secs, #nanos)))
        },
    );
    let lit_option = |lit: Option<&syn::LitStr>| {
        lit.map_or_else(
            || quote!(::core::option::Option::None),
            |lit| quote!(::core::option::Option::Some(#lit)),
        )
    };
    let cron = lit_option(task.args.cron.as_ref());
    let tz = lit_option(task.args.tz.as_ref());
    quote! {
        #(#impl_cfgs)*
        #(#cfgs)*
        const _: () = {
            #wrapper

            #krate::__private::inventory::submit! {
                #krate::__private::TaskDescriptor {
                    owner: ::core::any::TypeId::of::<#self_ty>,
                    owner_name: #owner,
                    method: #method_name,
                    name: #name,
                    spacing: #spacing,
                    run_immediately: #run_immediately,
                    enabled: #enabled,
                    external_process_ok: #external_process_ok,
                    context: #context,
                    context_name: #context_name,
                    file: #file,
                    line: #line,
                    column: #column,
                    fleet: #fleet,
                    timeout: #timeout,
                    overrun: #overrun,
                    cron: #cron,
                    tz: #tz,
                    call: __periodic_task,
                }
            }
        };
    }
}

/// `fn __periodic_task`: recovers the manager and the context from the runner's
/// type-erased handles and builds one run of the method.
fn wrapper(args: &ImplArgs, self_ty: &Type, task: &Task) -> TokenStream {
    let method = &task.method;
    let allow_deprecated = task.deprecated.then(|| quote!(#[allow(deprecated)]));
    let (context_param, bind_context, context_arg) = match &task.context {
        Some(ty) => {
            // Spanned at the context type: one that is not `Send + Sync + 'static` is
            // reported there.
            let span = ty
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |token| token.span());
            let krate = args.krate(span);
            (
                quote!(context),
                quote_spanned! {span=>
                    let context = #krate::__private::downcast::<#ty>(context);
                },
                quote!(, &context),
            )
        }
        None => (quote!(_context), TokenStream::new(), TokenStream::new()),
    };
    // Spanned at the manager type: one that is not `Send + Sync + 'static` is reported
    // there.
    let krate = args.krate(self_ty.span());
    let bind_manager = quote_spanned! {self_ty.span()=>
        let manager = #krate::__private::downcast::<#self_ty>(manager);
    };
    let (run_param, run_arg) = if task.takes_run {
        (quote!(run), quote!(, &run))
    } else {
        (quote!(_run), TokenStream::new())
    };
    let call = quote!(<#self_ty>::#method(&manager #context_arg #run_arg));
    let task_call = if task.is_async {
        let body = body(args, &quote!(#call.await), task);
        // Spanned at the method: a future that is not `Send` is reported there.
        let krate = args.krate(method.span());
        quote_spanned! {method.span()=>
            #krate::__private::TaskCall::Async(::std::boxed::Box::pin(async move { #body }))
        }
    } else {
        let body = body(args, &call, task);
        let krate = args.krate(Span::call_site());
        quote! {
            #krate::__private::TaskCall::Blocking(::std::boxed::Box::new(move || { #body }))
        }
    };
    let signature_krate = args.krate(Span::call_site());
    quote! {
        #allow_deprecated
        fn __periodic_task(
            manager: ::std::sync::Arc<
                dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync,
            >,
            #context_param: ::std::sync::Arc<
                dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync,
            >,
            #run_param: #signature_krate::__private::RunContext,
        ) -> #signature_krate::__private::TaskCall {
            #bind_manager
            #bind_context
            #task_call
        }
    }
}

/// The descriptor's `fleet`: `None`, `Some(Fleet::Default)` or `Some(Fleet::Named(..))`.
fn fleet_tokens(krate: &TokenStream, task: &Task) -> TokenStream {
    match &task.args.fleet {
        None => quote!(::core::option::Option::None),
        Some(FleetArg::Default) => {
            quote!(::core::option::Option::Some(#krate::__private::Fleet::Default))
        }
        Some(FleetArg::Named(name)) => quote! {
            ::core::option::Option::Some(#krate::__private::Fleet::Named(
                ::std::borrow::Cow::Borrowed(#name),
            ))
        },
    }
}

/// Calls the method and turns what it returns into the runner's `Result<(), TaskFailure>`.
fn body(args: &ImplArgs, call: &TokenStream, task: &Task) -> TokenStream {
    let Some(output) = &task.output else {
        return quote! {
            #call;
            ::core::result::Result::Ok(())
        };
    };
    // Not spanned at the return type, so that the two kinds not used are not reported as
    // unused imports in the user's code.
    let krate = args.krate(Span::call_site());
    let import_kinds = quote! {
        use #krate::__private::{ViaBoxError as _, ViaDisplay as _, ViaNeither as _};
    };
    // Spanned at the return type: an unsupported return or error type is reported there,
    // with the message of `TaskReturn` or `TaskError`.
    let span = output.span();
    let krate = args.krate(span);
    let kind = quote_spanned! {span=>
        (&&#krate::__private::ErrorRef(&error))
            .__periodic_kind()
            .failure(error)
    };
    let convert = quote_spanned! {span=>
        #krate::__private::TaskReturn::into_result(output).map_err(|error| {
            #import_kinds
            #kind
        })
    };
    quote! {
        let output = #call;
        #convert
    }
}
