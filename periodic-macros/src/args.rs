//! The arguments of the two attributes:
//!
//! - `#[periodic_tasks(crate = path)]`: where the `periodic` crate is, for a renamed
//!   dependency ([`ImplArgs`]);
//! - `#[periodic_task(...)]`: `spacing`, `run_immediately`, `name`, `enabled` and
//!   `external_process_ok`, with oslo.service's defaults, and `fleet`, `timeout`,
//!   `overrun`, `cron` and `tz` ([`TaskArgs`]).
//!
//! Syntax errors (a missing comma, a key that is not an identifier) stop the parse; every
//! other mistake (an unknown or repeated key, a value of the wrong kind) is collected so
//! that all of them are reported together.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::parse::ParseStream;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use crate::cron;
use crate::errors::Errors;
use crate::seconds;

mod kw {
    syn::custom_keyword!(spacing);
    syn::custom_keyword!(run_immediately);
    syn::custom_keyword!(name);
    syn::custom_keyword!(fleet);
    syn::custom_keyword!(enabled);
    syn::custom_keyword!(external_process_ok);
    syn::custom_keyword!(timeout);
    syn::custom_keyword!(overrun);
    syn::custom_keyword!(cron);
    syn::custom_keyword!(tz);
}

const EXPECTED: &str = "expected one of: `spacing`, `cron`, `tz`, `run_immediately`, `name`, `enabled`, `external_process_ok`, `fleet`, `timeout`, `overrun`";

/// The arguments of `#[periodic_tasks(...)]`.
#[derive(Default)]
pub(crate) struct ImplArgs {
    /// `crate = path`: the path of the `periodic` crate in the user's crate; `None` means
    /// `::periodic`.
    pub(crate) krate: Option<syn::Path>,
}

impl ImplArgs {
    /// The path generated code starts every absolute path with: the user's `crate = path`
    /// with its own spans, so that a wrong path is reported there (as tokio-macros does),
    /// or `::periodic` spanned at `span`, the place the surrounding code is reported at.
    pub(crate) fn krate(&self, span: Span) -> TokenStream {
        self.krate.as_ref().map_or_else(
            || quote_spanned!(span=> ::periodic),
            ToTokens::to_token_stream,
        )
    }
}

/// Parses the inside of `#[periodic_tasks(...)]`: nothing, or `crate = path`.
pub(crate) fn parse_impl(input: ParseStream<'_>) -> syn::Result<ImplArgs> {
    let mut errors = Errors::default();
    let mut args = ImplArgs::default();
    let mut seen_crate = false;
    while !input.is_empty() {
        let arg = match parse_impl_arg(input) {
            Ok(arg) => arg,
            Err(error) => {
                errors.push(error);
                break;
            }
        };
        if let Err(error) = parse_separator(input) {
            errors.push(error);
            break;
        }
        match arg {
            ImplArg::Crate(key, value) => {
                if seen_crate {
                    let written = match &value {
                        Some((eq, value)) => quote!(#key #eq #value),
                        None => key.to_token_stream(),
                    };
                    errors.push(syn::Error::new_spanned(
                        written,
                        "`crate` set multiple times",
                    ));
                    continue;
                }
                seen_crate = true;
                args.krate = errors.check(crate_path(key, value.as_ref()));
            }
            ImplArg::Other(arg) => errors.push(unknown_impl_key(&arg)),
        }
    }
    errors.into_result(args)
}

/// One argument of `#[periodic_tasks(...)]` as written.
enum ImplArg {
    /// `crate` with its `= value`, if any.
    Crate(Token![crate], Option<(Token![=], Expr)>),
    /// Any other `key` or `key = value`.
    Other(Arg),
}

fn parse_impl_arg(input: ParseStream<'_>) -> syn::Result<ImplArg> {
    if input.peek(Token![crate]) {
        let key: Token![crate] = input.parse()?;
        Ok(ImplArg::Crate(key, parse_value(input)?))
    } else if input.peek(Ident::peek_any) {
        let key = input.call(Ident::parse_any)?;
        let value = parse_value(input)?;
        Ok(ImplArg::Other(Arg { key, value }))
    } else {
        Err(input.error(IMPL_EXPECTED))
    }
}

const IMPL_EXPECTED: &str = "expected `crate = path::to::periodic`";

fn unknown_impl_key(arg: &Arg) -> syn::Error {
    let key = arg.key.unraw().to_string();
    let task_keys = [
        "spacing",
        "run_immediately",
        "name",
        "enabled",
        "external_process_ok",
        "fleet",
        "timeout",
        "overrun",
        "cron",
        "tz",
        "ticks_between_runs",
    ];
    if task_keys.contains(&key.as_str()) {
        return syn::Error::new_spanned(
            arg,
            format!(
                "`{key}` is an argument of `#[periodic_task]`, and `#[periodic_tasks]` takes \
                 only `crate = path`; put the settings on each method: \
                 `#[periodic_task(spacing = 60)]`"
            ),
        );
    }
    syn::Error::new_spanned(
        &arg.key,
        format!("unknown argument `{key}` of `#[periodic_tasks]`; {IMPL_EXPECTED}"),
    )
}

/// `crate = path`: a path without generic arguments (`periodic2`, `::periodic2`,
/// `crate::reexports::periodic`).
fn crate_path(key: Token![crate], value: Option<&(Token![=], Expr)>) -> syn::Result<syn::Path> {
    let Some((_, value)) = value else {
        return Err(syn::Error::new_spanned(
            key,
            "`crate` needs a value: the path of the `periodic` crate, \
             e.g. `crate = periodic2` for a dependency renamed to `periodic2`",
        ));
    };
    match ungroup(value) {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            if path.path.segments.iter().all(|s| s.arguments.is_none()) {
                return Ok(path.path.clone());
            }
            let mut bare = path.path.clone();
            for segment in &mut bare.segments {
                segment.arguments = syn::PathArguments::None;
            }
            Err(syn::Error::new_spanned(
                path,
                format!(
                    "`crate` takes a path without generic arguments: `crate = {}`",
                    bare.to_token_stream().to_string().replace(' ', "")
                ),
            ))
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Err(syn::Error::new_spanned(
            s,
            format!(
                "`crate` takes a path, not a string: `crate = {}`",
                s.value().trim()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` must be the path of the `periodic` crate: \
             `crate = periodic2` for a dependency renamed to `periodic2`",
        )),
    }
}

/// The settings of one task, as declared.
pub(crate) struct TaskArgs {
    /// Seconds between runs (oslo: 0 means the default interval, negative disables).
    pub(crate) spacing: Spacing,
    /// Run on the first pass.
    pub(crate) run_immediately: bool,
    /// `name = "..."`; `None` means the method's name.
    pub(crate) name: Option<LitStr>,
    /// `enabled = false` keeps the task listed but never runs it.
    pub(crate) enabled: bool,
    /// oslo's `external_process_ok`.
    pub(crate) external_process_ok: bool,
    /// `fleet` or `fleet = "name"`; `None` for a plain task.
    pub(crate) fleet: Option<FleetArg>,
    /// `timeout = SECONDS`; `None`: no limit.
    pub(crate) timeout: Option<std::time::Duration>,
    /// `overrun = skip | run_once | catch_up(N)`; default `run_once`.
    pub(crate) overrun: OverrunArg,
    /// `cron = "..."`, checked: the task follows it instead of a spacing.
    pub(crate) cron: Option<LitStr>,
    /// `tz = "..."`, checked: the time zone of `cron` (`None`: UTC).
    pub(crate) tz: Option<LitStr>,
}

/// The `overrun` argument: the runtime's `Overrun`.
#[derive(Clone, Copy, Default)]
pub(crate) enum OverrunArg {
    #[default]
    RunOnce,
    Skip,
    CatchUp(u32),
}

impl OverrunArg {
    /// The runtime's `Overrun` under `krate`.
    pub(crate) fn tokens(self, krate: &TokenStream) -> TokenStream {
        let overrun = quote!(#krate::__private::Overrun);
        match self {
            OverrunArg::RunOnce => quote!(#overrun::RunOnce),
            OverrunArg::Skip => quote!(#overrun::Skip),
            OverrunArg::CatchUp(most) => {
                let most = proc_macro2::Literal::u32_suffixed(most);
                quote!(#overrun::CatchUp(#most))
            }
        }
    }
}

/// The `fleet` argument.
pub(crate) enum FleetArg {
    /// `fleet` alone: the runner's default fleet (a service's binary).
    Default,
    /// `fleet = "name"`.
    Named(LitStr),
}

impl Default for TaskArgs {
    fn default() -> Self {
        TaskArgs {
            spacing: Spacing { seconds: 0.0 },
            run_immediately: false,
            name: None,
            enabled: true,
            external_process_ok: false,
            fleet: None,
            timeout: None,
            overrun: OverrunArg::RunOnce,
            cron: None,
            tz: None,
        }
    }
}

/// A `spacing` literal's value in seconds (checked by [`spacing`]).
#[derive(Clone, Copy)]
pub(crate) struct Spacing {
    pub(crate) seconds: f64,
}

impl Spacing {
    /// oslo's number as the runtime's `Spacing` under `krate` (`::periodic` or the
    /// `crate = path` of `#[periodic_tasks]`): `0` is `Spacing::Default`, a negative number
    /// `Spacing::Disabled`, a positive one `Spacing::Every(Duration::new(s, ns))`, converted
    /// here with the runtime's rules. (The tokens do not carry the span of the user's
    /// literal: they are not its text, and lints would read that text.)
    pub(crate) fn tokens(self, krate: &TokenStream) -> TokenStream {
        let spacing = quote!(#krate::__private::Spacing);
        if self.seconds < 0.0 {
            quote!(#spacing::Disabled)
        } else if self.seconds == 0.0 {
            quote!(#spacing::Default)
        } else {
            let every = std::time::Duration::try_from_secs_f64(self.seconds).unwrap_or_default();
            let secs = proc_macro2::Literal::u64_suffixed(every.as_secs());
            let nanos = proc_macro2::Literal::u32_suffixed(every.subsec_nanos());
            quote!(#spacing::Every(::core::time::Duration::new(#secs, #nanos)))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Spacing,
    RunImmediately,
    Name,
    Enabled,
    ExternalProcessOk,
    Fleet,
    Timeout,
    Overrun,
    Cron,
    Tz,
}

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Key::Spacing => "spacing",
            Key::RunImmediately => "run_immediately",
            Key::Name => "name",
            Key::Enabled => "enabled",
            Key::ExternalProcessOk => "external_process_ok",
            Key::Fleet => "fleet",
            Key::Timeout => "timeout",
            Key::Overrun => "overrun",
            Key::Cron => "cron",
            Key::Tz => "tz",
        }
    }
}

/// One `key` or `key = value` as written.
struct Arg {
    key: Ident,
    value: Option<(Token![=], Expr)>,
}

impl ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.key.to_tokens(tokens);
        if let Some((eq, value)) = &self.value {
            eq.to_tokens(tokens);
            value.to_tokens(tokens);
        }
    }
}

/// Parses the inside of `#[periodic_task(...)]`; `method` is the task's method, whose name
/// is the default task name used in hints.
pub(crate) fn parse(input: ParseStream<'_>, method: &Ident) -> syn::Result<TaskArgs> {
    let mut errors = Errors::default();
    let mut args = TaskArgs::default();
    let mut seen: Vec<Key> = Vec::new();
    let mut runtime_spacing: Option<Expr> = None;
    let mut combined = CronCombination::default();
    while !input.is_empty() {
        let (key, arg) = match parse_arg(input) {
            Ok(parsed) => parsed,
            Err(error) => {
                errors.push(error);
                break;
            }
        };
        if let Err(error) = parse_separator(input) {
            errors.push(error);
            break;
        }
        let Some(key) = key else {
            errors.push(unknown_key(&arg));
            continue;
        };
        if seen.contains(&key) {
            errors.push(syn::Error::new_spanned(
                &arg,
                format!("`{}` set multiple times", key.as_str()),
            ));
            continue;
        }
        seen.push(key);
        combined.note(key, &arg);
        match key {
            Key::Cron => args.cron = errors.check(cron_expression(&arg)),
            Key::Tz => args.tz = errors.check(time_zone(&arg)),
            Key::Spacing => match spacing(&arg) {
                Ok(spacing) => args.spacing = spacing,
                Err(Invalid::Error(error)) => errors.push(error),
                Err(Invalid::NotLiteral(expr)) => runtime_spacing = Some(*expr),
            },
            Key::RunImmediately => {
                if let Some(value) = errors.check(flag(&arg)) {
                    args.run_immediately = value;
                }
            }
            Key::ExternalProcessOk => {
                if let Some(value) = errors.check(flag(&arg)) {
                    args.external_process_ok = value;
                }
            }
            Key::Enabled => {
                if let Some(value) = errors.check(enabled(&arg)) {
                    args.enabled = value;
                }
            }
            Key::Name => args.name = errors.check(name(&arg)),
            Key::Fleet => args.fleet = errors.check(fleet(&arg)),
            Key::Timeout => args.timeout = errors.check(timeout(&arg)),
            Key::Overrun => {
                if let Some(overrun) = errors.check(overrun(&arg)) {
                    args.overrun = overrun;
                }
            }
        }
    }
    combined.check(&mut errors);
    if let Some(expr) = runtime_spacing {
        // Reported last so that the hint can use the final task name.
        let task = args
            .name
            .as_ref()
            .map_or_else(|| method.unraw().to_string(), LitStr::value);
        errors.push(syn::Error::new_spanned(
            expr,
            format!(
                "`spacing` must be a number literal of seconds (`spacing = 60`, `spacing = 0.5`); \
                 constants and expressions are not evaluated here. \
                 For a value known only at run time, use \
                 `PeriodicRunner::builder(manager).spacing_override({task:?}, Spacing::from_secs_f64(seconds)?)`"
            ),
        ));
    }
    match errors.into_error() {
        Some(error) => Err(error),
        None => Ok(args),
    }
}

/// The arguments that cannot go with `cron` (or, for `tz`, need it), as written: the
/// errors point at them.
#[derive(Default)]
struct CronCombination {
    cron: bool,
    spacing: Option<Ident>,
    fleet: Option<Ident>,
    tz: Option<TokenStream>,
}

impl CronCombination {
    fn note(&mut self, key: Key, arg: &Arg) {
        match key {
            Key::Cron => self.cron = true,
            Key::Spacing => self.spacing = Some(arg.key.clone()),
            Key::Fleet => self.fleet = Some(arg.key.clone()),
            Key::Tz => self.tz = Some(arg.to_token_stream()),
            _ => {}
        }
    }

    /// `cron` with `spacing` or `fleet`, or `tz` without `cron`.
    fn check(self, errors: &mut Errors) {
        if !self.cron {
            if let Some(tz) = self.tz {
                errors.push(syn::Error::new_spanned(
                    tz,
                    "`tz` is the time zone of a `cron` expression and needs one: \
                     `cron = \"0 0 3 * * *\", tz = \"Europe/Paris\"`",
                ));
            }
            return;
        }
        if let Some(key) = self.spacing {
            errors.push(syn::Error::new_spanned(
                key,
                "`spacing` and `cron` cannot both be set: a task runs every `spacing` \
                 seconds or at the occurrences of its `cron` expression; remove one of them",
            ));
        }
        if let Some(key) = self.fleet {
            errors.push(syn::Error::new_spanned(
                key,
                "`fleet` and `cron` cannot both be set: cron schedules are not supported for \
                 fleet tasks yet (a fleet task runs once per slot of its `spacing`); use \
                 `spacing`, or drop `fleet` so that every replica runs the task",
            ));
        }
    }
}

/// `cron = "..."`, checked with the runtime's parser.
fn cron_expression(arg: &Arg) -> syn::Result<LitStr> {
    let lit = string_arg(arg, "cron", "0 */10 * * * *")?;
    cron::expression(&lit)?;
    Ok(lit)
}

/// `tz = "..."`, checked against the IANA database.
fn time_zone(arg: &Arg) -> syn::Result<LitStr> {
    let lit = string_arg(arg, "tz", "Europe/Paris")?;
    cron::zone(&lit)?;
    Ok(lit)
}

/// Parses `key` or `key = value`. Returns `None` as the key for an unknown one.
fn parse_arg(input: ParseStream<'_>) -> syn::Result<(Option<Key>, Arg)> {
    let lookahead = input.lookahead1();
    let key = if lookahead.peek(kw::spacing) {
        Some(Key::Spacing)
    } else if lookahead.peek(kw::run_immediately) {
        Some(Key::RunImmediately)
    } else if lookahead.peek(kw::name) {
        Some(Key::Name)
    } else if lookahead.peek(kw::enabled) {
        Some(Key::Enabled)
    } else if lookahead.peek(kw::external_process_ok) {
        Some(Key::ExternalProcessOk)
    } else if lookahead.peek(kw::fleet) {
        Some(Key::Fleet)
    } else if lookahead.peek(kw::timeout) {
        Some(Key::Timeout)
    } else if lookahead.peek(kw::overrun) {
        Some(Key::Overrun)
    } else if lookahead.peek(kw::cron) {
        Some(Key::Cron)
    } else if lookahead.peek(kw::tz) {
        Some(Key::Tz)
    } else if input.peek(Ident::peek_any) {
        None
    } else if input.peek(syn::LitInt) || input.peek(syn::LitFloat) {
        return Err(input.error(format!(
            "expected `key = value` arguments; for the time between runs write `spacing = {}`",
            input.fork().parse::<Lit>()?.to_token_stream()
        )));
    } else {
        return Err(lookahead.error());
    };
    let ident = input.call(Ident::parse_any)?;
    let value = parse_value(input)?;
    Ok((key, Arg { key: ident, value }))
}

/// The `= value` after a key, if there is one.
fn parse_value(input: ParseStream<'_>) -> syn::Result<Option<(Token![=], Expr)>> {
    let lookahead = input.lookahead1();
    if lookahead.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        let value: Expr = input.parse()?;
        Ok(Some((eq, value)))
    } else if input.is_empty() || lookahead.peek(Token![,]) {
        Ok(None)
    } else {
        Err(lookahead.error())
    }
}

/// The `,` between arguments (a trailing one is allowed).
fn parse_separator(input: ParseStream<'_>) -> syn::Result<()> {
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

fn unknown_key(arg: &Arg) -> syn::Error {
    let key = arg.key.unraw().to_string();
    if key == "ticks_between_runs" {
        return syn::Error::new_spanned(
            arg,
            "`ticks_between_runs` was removed in oslo.service; \
             use `spacing = <seconds>` to set the time between runs",
        );
    }
    syn::Error::new_spanned(&arg.key, format!("unknown argument `{key}`; {EXPECTED}"))
}

enum Invalid {
    Error(syn::Error),
    /// A constant or expression: reported with a hint about run-time spacing.
    NotLiteral(Box<Expr>),
}

fn spacing(arg: &Arg) -> Result<Spacing, Invalid> {
    let Some((_, value)) = &arg.value else {
        return Err(Invalid::Error(syn::Error::new_spanned(
            &arg.key,
            "`spacing` needs a value in seconds: `spacing = 60`",
        )));
    };
    let value = ungroup(value);
    let (negative, lit) = match value {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match ungroup(expr) {
            Expr::Lit(ExprLit {
                lit: lit @ (Lit::Int(_) | Lit::Float(_)),
                ..
            }) => (true, lit),
            _ => return Err(Invalid::NotLiteral(Box::new(value.clone()))),
        },
        _ => return Err(Invalid::NotLiteral(Box::new(value.clone()))),
    };
    let seconds = match lit {
        Lit::Str(s) => {
            return Err(Invalid::Error(syn::Error::new_spanned(
                s,
                format!(
                    "`spacing` must be a number of seconds, not a string: `spacing = {}`",
                    s.value().trim()
                ),
            )));
        }
        lit => seconds::seconds("spacing", lit).map_err(Invalid::Error)?,
    };
    // A positive spacing becomes a `Duration` of at least a nanosecond, as the runtime's
    // `Spacing::from_secs_f64` requires (0 and negatives keep oslo's meanings).
    if !negative && seconds > 0.0 {
        match std::time::Duration::try_from_secs_f64(seconds) {
            Ok(every) if !every.is_zero() => {}
            Ok(_) => {
                return Err(Invalid::Error(syn::Error::new_spanned(
                    value,
                    "`spacing` must be at least a nanosecond (`spacing = 0.000000001`); \
                     0 means the default interval (60 s)",
                )));
            }
            Err(_) => {
                return Err(Invalid::Error(syn::Error::new_spanned(
                    value,
                    "`spacing` is too large for a `std::time::Duration`",
                )));
            }
        }
    }
    Ok(Spacing {
        seconds: if negative { -seconds } else { seconds },
    })
}

/// `run_immediately` / `external_process_ok`: a bare flag means `true`.
fn flag(arg: &Arg) -> syn::Result<bool> {
    match &arg.value {
        None => Ok(true),
        Some((_, value)) => boolean(&arg.key, value),
    }
}

fn enabled(arg: &Arg) -> syn::Result<bool> {
    match &arg.value {
        None => Err(syn::Error::new_spanned(
            &arg.key,
            "`enabled` needs a value: `enabled = false` (tasks are enabled by default)",
        )),
        Some((_, value)) => boolean(&arg.key, value),
    }
}

fn boolean(key: &Ident, value: &Expr) -> syn::Result<bool> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Bool(b), ..
    }) = ungroup(value)
    {
        return Ok(b.value);
    }
    let hint = match ungroup(value) {
        Expr::Path(path) if path.path.is_ident("True") || path.path.is_ident("False") => {
            " (Rust spells them in lower case)"
        }
        _ => "",
    };
    Err(syn::Error::new_spanned(
        value,
        format!("`{key}` must be `true` or `false`{hint}"),
    ))
}

fn name(arg: &Arg) -> syn::Result<LitStr> {
    let Some((_, value)) = &arg.value else {
        return Err(syn::Error::new_spanned(
            &arg.key,
            "`name` needs a value: `name = \"task_name\"`",
        ));
    };
    match ungroup(value) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            if s.value().trim().is_empty() {
                Err(syn::Error::new_spanned(s, "`name` must not be empty"))
            } else {
                Ok(s.clone())
            }
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`name` must be a string literal: `name = \"task_name\"`",
        )),
    }
}

/// The longest fleet name, as the runtime's `MAX_FLEET_NAME`.
const MAX_FLEET_NAME: usize = 200;

/// `fleet` alone (the runner's default fleet: a service's binary) or `fleet = "name"`.
fn fleet(arg: &Arg) -> syn::Result<FleetArg> {
    let Some((_, value)) = &arg.value else {
        return Ok(FleetArg::Default);
    };
    match ungroup(value) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let name = s.value();
            if name.trim().is_empty() {
                Err(syn::Error::new_spanned(
                    s,
                    "the fleet name must not be empty; write `fleet` alone for the \
                     service's own fleet (its binary), or `fleet = \"name\"`",
                ))
            } else if name.chars().count() > MAX_FLEET_NAME {
                Err(syn::Error::new_spanned(
                    s,
                    format!("the fleet name is longer than {MAX_FLEET_NAME} characters"),
                ))
            } else {
                Ok(FleetArg::Named(s.clone()))
            }
        }
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Err(syn::Error::new_spanned(
            b,
            if b.value {
                "`fleet` takes no `true`: write `fleet` alone for the service's own fleet \
                 (its binary), or `fleet = \"name\"`"
            } else {
                "`fleet = false` is the default: remove the argument for a task that runs on \
                 every replica"
            },
        )),
        other => Err(syn::Error::new_spanned(
            other,
            "`fleet` must be a string literal: `fleet = \"name\"`, or `fleet` alone for the \
             service's own fleet (its binary)",
        )),
    }
}

/// `timeout = SECONDS`: a positive number literal of seconds (`timeout = 30`,
/// `timeout = 0.5`) or of a unit, as `spacing` takes them (`timeout = 500ms`,
/// `timeout = 5m`); any other suffix is refused (see `seconds`).
fn timeout(arg: &Arg) -> syn::Result<std::time::Duration> {
    const HINT: &str = "`timeout` must be above 0: `timeout = 30` (seconds), \
                        `timeout = 500ms` or `timeout = 5m`";
    let Some((_, value)) = &arg.value else {
        return Err(syn::Error::new_spanned(
            &arg.key,
            "`timeout` needs a value in seconds: `timeout = 30`",
        ));
    };
    let value = ungroup(value);
    let seconds = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            return Err(syn::Error::new_spanned(
                s,
                format!(
                    "`timeout` must be a number of seconds, not a string: `timeout = {}`",
                    s.value().trim()
                ),
            ));
        }
        Expr::Lit(ExprLit { lit, .. }) => seconds::seconds("timeout", lit)?,
        other => return Err(syn::Error::new_spanned(other, HINT)),
    };
    match std::time::Duration::try_from_secs_f64(seconds) {
        Ok(timeout) if !timeout.is_zero() => Ok(timeout),
        _ => Err(syn::Error::new_spanned(value, HINT)),
    }
}

/// `overrun = skip`, `overrun = run_once` or `overrun = catch_up(N)` (`N` a positive
/// integer literal).
fn overrun(arg: &Arg) -> syn::Result<OverrunArg> {
    const CHOICES: &str = "`overrun` is one of `skip`, `run_once` (the default) or \
                           `catch_up(N)` with N the most runs made up, e.g. `catch_up(3)`";
    let Some((_, value)) = &arg.value else {
        return Err(syn::Error::new_spanned(&arg.key, CHOICES));
    };
    match ungroup(value) {
        Expr::Path(path) if path.path.is_ident("skip") => Ok(OverrunArg::Skip),
        Expr::Path(path) if path.path.is_ident("run_once") => Ok(OverrunArg::RunOnce),
        Expr::Call(call) if matches!(ungroup(&call.func), Expr::Path(f) if f.path.is_ident("catch_up")) =>
        {
            let most = match call.args.iter().map(ungroup).collect::<Vec<_>>()[..] {
                [
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }),
                ] if int.suffix().is_empty() || int.suffix() == "u32" => {
                    int.base10_parse::<u32>().ok().filter(|n| *n > 0)
                }
                _ => None,
            };
            most.map(OverrunArg::CatchUp).ok_or_else(|| {
                syn::Error::new_spanned(
                    &call.args,
                    "`catch_up` takes the most runs made up, an integer from 1: `catch_up(3)`",
                )
            })
        }
        other => Err(syn::Error::new_spanned(other, CHOICES)),
    }
}

/// `key = "..."`: a string literal (`cron`, `tz`); `example` is shown in the hint.
fn string_arg(arg: &Arg, key: &str, example: &str) -> syn::Result<LitStr> {
    let Some((_, value)) = &arg.value else {
        return Err(syn::Error::new_spanned(
            &arg.key,
            format!("`{key}` needs a value: `{key} = \"{example}\"`"),
        ));
    };
    match ungroup(value) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` must be a string literal: `{key} = \"{example}\"`"),
        )),
    }
}

/// Looks through the invisible groups `macro_rules!` puts around `$x:expr`.
fn ungroup(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}
