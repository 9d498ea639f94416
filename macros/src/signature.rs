//! Reading the signature: the one place the macro looks at types.
//!
//! Each parameter's type decides whether it can be differentiated and what
//! type its derivative has (`f64` and `&f64` give an `f64`; integers, `bool`
//! and other types are constants). `wrt(...)` then selects the differentiated
//! parameters among the float ones. The return type must be `f64`.
//! Everything else about the signature that chainrule cannot generate code for
//! (generics, `async`, `self`) is reported here with its span.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Type};

use crate::attr::Options;
use crate::ctxt::Ctxt;
use crate::ir::ParamKind;

pub struct SigParam {
    /// The parameter's name in generated functions: the user's, or a
    /// generated one for a `_` pattern.
    pub ident: Ident,
    /// The name the body refers to it by, if any.
    pub user_name: Option<String>,
    /// The type as written.
    pub ty: Type,
    pub kind: ParamKind,
    pub wrt: bool,
}

pub struct Signature {
    pub params: Vec<SigParam>,
}

pub fn read_signature(cx: &mut Ctxt, item: &syn::ItemFn, options: &Options) -> Signature {
    let sig = &item.sig;
    check_header(cx, sig);
    let mut params = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => cx.error_spanned_by(
                receiver,
                "#[differentiate] works on free functions, not methods; take the values as parameters instead of `self`",
            ),
            FnArg::Typed(typed) => {
                if let Some(param) = read_param(cx, index, typed) {
                    params.push(param);
                }
            }
        }
    }
    select_wrt(cx, &mut params, options);
    check_return_type(cx, sig);
    Signature { params }
}

fn check_header(cx: &mut Ctxt, sig: &syn::Signature) {
    if let Some(token) = &sig.asyncness {
        cx.error_spanned_by(token, "#[differentiate] cannot differentiate an `async fn`");
    }
    if let Some(token) = &sig.unsafety {
        cx.error_spanned_by(token, "#[differentiate] cannot differentiate an `unsafe fn`");
    }
    if let Some(token) = &sig.constness {
        cx.error_spanned_by(token, "#[differentiate] does not support `const fn`; remove `const`");
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "#[differentiate] does not support variadic functions");
    }
    for param in &sig.generics.params {
        if !matches!(param, syn::GenericParam::Lifetime(_)) {
            cx.error_spanned_by(
                param,
                "#[differentiate] does not support generic functions; write the function for `f64`",
            );
        }
    }
}

fn read_param(cx: &mut Ctxt, index: usize, typed: &syn::PatType) -> Option<SigParam> {
    let (ident, user_name) = match &*typed.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
            let ident = pat.ident.clone();
            let user_name = ident.to_string();
            (ident, Some(user_name))
        }
        Pat::Wild(_) => (
            Ident::new(&format!("arg{index}"), proc_macro2::Span::mixed_site()),
            None,
        ),
        pat => {
            cx.error_spanned_by(
                pat,
                "#[differentiate] needs a plain name for each parameter; destructure inside the body instead",
            );
            return None;
        }
    };
    let kind = param_kind(cx, &typed.ty)?;
    Some(SigParam {
        ident,
        user_name,
        ty: (*typed.ty).clone(),
        kind,
        wrt: false,
    })
}

/// How a parameter of type `ty` takes part in differentiation; `None` after
/// reporting a float type chainrule does not cover.
fn param_kind(cx: &mut Ctxt, ty: &Type) -> Option<ParamKind> {
    match ty {
        Type::Path(path) if is_named(path, "f64") => Some(ParamKind::Scalar),
        Type::Path(path) if is_named(path, "f32") => {
            cx.error_spanned_by(
                ty,
                "chainrule differentiates `f64` values; write this parameter as `f64`",
            );
            None
        }
        Type::Reference(reference) => match &*reference.elem {
            Type::Path(path) if is_named(path, "f64") || is_named(path, "f32") => {
                if reference.mutability.is_some() {
                    cx.error_spanned_by(
                        ty,
                        "a `&mut` float parameter is not supported by #[differentiate]; \
                         take the value as `f64` and return the result instead",
                    );
                    None
                } else if is_named(path, "f32") {
                    cx.error_spanned_by(
                        ty,
                        "chainrule differentiates `f64` values; write this parameter as `&f64`",
                    );
                    None
                } else {
                    Some(ParamKind::ScalarRef)
                }
            }
            _ => Some(ParamKind::Constant),
        },
        Type::Paren(paren) => param_kind(cx, &paren.elem),
        Type::Group(group) => param_kind(cx, &group.elem),
        _ => Some(ParamKind::Constant),
    }
}

fn is_named(path: &syn::TypePath, name: &str) -> bool {
    path.qself.is_none() && path.path.is_ident(name)
}

fn select_wrt(cx: &mut Ctxt, params: &mut [SigParam], options: &Options) {
    let Some(wrt) = &options.wrt else {
        for param in params.iter_mut() {
            param.wrt = param.kind != ParamKind::Constant;
        }
        return;
    };
    for name in wrt {
        let Some(param) = params
            .iter_mut()
            .find(|param| param.user_name.as_deref() == Some(&name.to_string()))
        else {
            let names: Vec<String> = params.iter().filter_map(|param| param.user_name.clone()).collect();
            cx.error_spanned_by(
                name,
                format!(
                    "`wrt({name})` names no parameter of this function; its parameters are: {}",
                    names.join(", ")
                ),
            );
            continue;
        };
        if param.wrt {
            cx.error_spanned_by(name, format!("`{name}` is listed twice in `wrt(...)`"));
        } else if param.kind == ParamKind::Constant {
            let ty = param.ty.to_token_stream().to_string();
            cx.error_spanned_by(
                name,
                format!("cannot differentiate with respect to `{name}`: its type `{ty}` is not `f64` or `&f64`"),
            );
        } else {
            param.wrt = true;
        }
    }
}

fn check_return_type(cx: &mut Ctxt, sig: &syn::Signature) {
    match &sig.output {
        syn::ReturnType::Type(_, ty) if matches!(&**ty, Type::Path(path) if is_named(path, "f64")) => {}
        syn::ReturnType::Type(_, ty) => cx.error_spanned_by(
            ty,
            "#[differentiate] differentiates functions that return `f64`; return the scalar to differentiate",
        ),
        syn::ReturnType::Default => cx.error_at(
            sig.paren_token.span.join(),
            "#[differentiate] needs a function that returns a value: add `-> f64`",
        ),
    }
    let _ = sig.span();
}
