//! Parsing of the attribute's own arguments: `#[differentiate]`,
//! `#[differentiate(wrt(w, b))]`, `#[differentiate(jacobian)]`,
//! `#[differentiate(jacobian, layout = denominator)]`,
//! `#[differentiate(forward)]`, `#[differentiate(hessian)]`,
//! `#[differentiate(rule = erf_derivative)]`, `#[differentiate(recursive)]`.
//!
//! The arguments are a comma-separated list of options. Each option is parsed
//! on its own so that every unknown or malformed option is reported, each at
//! its own span.

use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

use crate::ctxt::Ctxt;

/// What the user asked for in `#[differentiate(...)]`.
#[derive(Default)]
pub struct Options {
    /// `wrt(a, b)`: the parameters to differentiate; `None` means every
    /// parameter of a float type.
    pub wrt: Option<Vec<Ident>>,
    /// `jacobian`: also generate `f_jacobian`, at the option's span.
    pub jacobian: Option<proc_macro2::Span>,
    /// `layout = denominator`: the Jacobian is transposed (n × m).
    pub denominator_layout: bool,
    /// `forward`: also generate `f_jvp` and the split form `f_pushforward`.
    pub forward: Option<proc_macro2::Span>,
    /// `hessian`: also generate `f_hessian` and `f_hvp` (and what `forward` does).
    pub hessian: Option<proc_macro2::Span>,
    /// `rule = path`: the derivative is the user's function `path`, and the
    /// body is not differentiated (for FFI calls, `libm::erf`, …).
    pub rule: Option<syn::ExprPath>,
    /// `recursive`: the pullback is boxed, as a function calling itself
    /// has it, so that functions calling each other have types to name.
    pub recursive: Option<proc_macro2::Span>,
}

/// One raw option as written, before validation.
enum RawOption {
    Wrt(Ident, Punctuated<Ident, Token![,]>),
    Other(syn::Meta),
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(syn::token::Paren) {
            let fork = input.fork();
            let name: Ident = fork.parse()?;
            if name == "wrt" {
                let name: Ident = input.parse()?;
                let content;
                syn::parenthesized!(content in input);
                let params = content.parse_terminated(Ident::parse, Token![,])?;
                return Ok(RawOption::Wrt(name, params));
            }
        }
        Ok(RawOption::Other(input.parse()?))
    }
}

/// Records a flag option (`jacobian`, `forward`, `hessian`) at its span, or
/// an error if it was already given.
fn set_once(cx: &mut Ctxt, flag: &mut Option<proc_macro2::Span>, path: &syn::Path) {
    if flag.is_some() {
        let name = path.to_token_stream().to_string();
        cx.error_spanned_by(path, format!("`{name}` is given twice; once is enough"));
    } else {
        *flag = Some(syn::spanned::Spanned::span(path));
    }
}

/// Parses the attribute arguments, recording every problem in `cx`.
pub fn parse_options(cx: &mut Ctxt, args: proc_macro2::TokenStream) -> Options {
    let mut options = Options::default();
    let parser = Punctuated::<RawOption, Token![,]>::parse_terminated;
    let raw = match syn::parse::Parser::parse2(parser, args) {
        Ok(raw) => raw,
        Err(error) => {
            cx.syn_error(error);
            return options;
        }
    };
    let mut layout = None;
    for option in raw {
        match option {
            RawOption::Wrt(name, params) => {
                if options.wrt.is_some() {
                    cx.error_spanned_by(&name, "`wrt` is given twice; list every parameter in one `wrt(...)`");
                } else if params.is_empty() {
                    cx.error_spanned_by(&name, "`wrt()` is empty; name at least one parameter, e.g. `wrt(x)`");
                } else {
                    options.wrt = Some(params.into_iter().collect());
                }
            }
            RawOption::Other(syn::Meta::NameValue(pair)) if pair.path.is_ident("rule") => match &pair.value {
                _ if options.rule.is_some() => {
                    cx.error_spanned_by(&pair.path, "`rule` is given twice; a function has one rule")
                }
                syn::Expr::Path(path) => options.rule = Some(path.clone()),
                value => cx.error_spanned_by(value, "`rule` names a function: `rule = my_function_derivative`"),
            },
            RawOption::Other(syn::Meta::Path(path)) if path.is_ident("jacobian") => {
                set_once(cx, &mut options.jacobian, &path);
            }
            RawOption::Other(syn::Meta::Path(path)) if path.is_ident("forward") => {
                set_once(cx, &mut options.forward, &path);
            }
            RawOption::Other(syn::Meta::Path(path)) if path.is_ident("hessian") => {
                set_once(cx, &mut options.hessian, &path);
            }
            RawOption::Other(syn::Meta::Path(path)) if path.is_ident("recursive") => {
                set_once(cx, &mut options.recursive, &path);
            }
            RawOption::Other(syn::Meta::NameValue(pair)) if pair.path.is_ident("layout") => {
                if layout.is_some() {
                    cx.error_spanned_by(&pair.path, "`layout` is given twice; choose one");
                    continue;
                }
                layout = Some(syn::spanned::Spanned::span(&pair.path));
                match &pair.value {
                    syn::Expr::Path(value) if value.path.is_ident("denominator") => options.denominator_layout = true,
                    syn::Expr::Path(value) if value.path.is_ident("numerator") => options.denominator_layout = false,
                    value => cx.error_spanned_by(
                        value,
                        "`layout` is `numerator` (rows are outputs, the default) or `denominator` (rows are inputs)",
                    ),
                }
            }
            RawOption::Other(meta) => cx.error_spanned_by(
                &meta,
                "unknown option of #[differentiate]; the supported options are `wrt(param, ...)`, `jacobian`, \
                 `layout = numerator` or `layout = denominator`, `forward`, `hessian`, `recursive`, and \
                 `rule = derivative_function`",
            ),
        }
    }
    if let Some(span) = layout
        && options.jacobian.is_none()
    {
        cx.error_at(
            span,
            "`layout` chooses the layout of `f_jacobian`, which only `jacobian` generates; write \
             `#[differentiate(jacobian, layout = ...)]`",
        );
    }
    options
}
