//! Reading the signature: the one place the macro looks at types.
//!
//! Each parameter's type decides whether it can be differentiated and what
//! type its derivative has: `f64` and `&f64` give an `f64`; a faer `Col`,
//! `Row` or `Mat` of `f64` (owned, by reference or as a `…Ref` view) gives the
//! owned type; `&[f64]` and `Vec<f64>` give a `Vec<f64>`, `[f64; N]` an
//! array; integers, `bool` and other types are constants. `wrt(...)` then
//! selects the differentiated parameters among those. The return type is
//! `f64` or an owned faer vector or matrix.
//! Everything else about the signature that chainrule cannot generate code for
//! (generics, `async`, `self` outside an `impl` block, `&mut self`) is
//! reported here with its span.
//!
//! `&self` in an `impl` block is a constant parameter like `model: &Self`,
//! named [`RECEIVER`] in generated code: a closure's parameters and `let`s
//! cannot be called `self`. `expand` turns it back into `&self` in the
//! generated functions' signatures.

use quote::ToTokens;
use syn::{FnArg, Ident, Pat, Type};

use crate::attr::Options;
use crate::ctxt::Ctxt;
use crate::emit::Scope;
use crate::ir::{ParamKind, Shape};

/// The name generated code gives `self`.
pub const RECEIVER: &str = "chainrule_self";

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
    pub output: Shape,
}

pub fn read_signature(cx: &mut Ctxt, item: &syn::ItemFn, options: &Options, scope: Scope) -> Signature {
    let sig = &item.sig;
    check_header(cx, sig);
    let mut params = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                if let Some(param) = read_receiver(cx, receiver, scope) {
                    params.push(param);
                }
            }
            FnArg::Typed(typed) => {
                if let Some(param) = read_param(cx, index, typed) {
                    params.push(param);
                }
            }
        }
    }
    select_wrt(cx, &mut params, options);
    let has_inout = params.iter().any(|param| param.kind.is_inout());
    let output = output_shape(cx, sig, has_inout);
    Signature { params, output }
}

/// `&self` (or `self: &Self`) in an `impl` block: a constant parameter.
fn read_receiver(cx: &mut Ctxt, receiver: &syn::Receiver, scope: Scope) -> Option<SigParam> {
    if scope == Scope::Module {
        cx.error_spanned_by(
            receiver,
            "a method taking `self` needs `#[differentiate]` on its `impl` block as well \
             (`#[differentiate] impl Type { #[differentiate] fn f(&self, …) … }`), which generates `self.f_grad(…)` \
             and the others beside it",
        );
        return None;
    }
    match &*receiver.ty {
        Type::Reference(reference) if reference.mutability.is_none() => Some(SigParam {
            ident: Ident::new(RECEIVER, receiver.self_token.span),
            user_name: Some("self".to_owned()),
            ty: (*receiver.ty).clone(),
            kind: ParamKind::Constant { copyable: true },
            wrt: false,
        }),
        Type::Reference(_) => {
            cx.error_spanned_by(
                receiver,
                "#[differentiate] takes `&self`, not `&mut self`: the derivative cannot follow changes to `self`; \
                 take `&self` and return the new values",
            );
            None
        }
        _ => {
            cx.error_spanned_by(receiver, "#[differentiate] takes `self` by reference; write `&self`");
            None
        }
    }
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
        match param {
            syn::GenericParam::Lifetime(_) => {}
            syn::GenericParam::Const(_) => cx.error_spanned_by(
                param,
                "#[differentiate] does not support const generics; take a slice, `xs: &[f64]` (its gradient is a \
                 `Vec<f64>`), or write the length, `xs: [f64; 3]`",
            ),
            syn::GenericParam::Type(_) => cx.error_spanned_by(
                param,
                "#[differentiate] does not support generic functions; write the function for `f64`",
            ),
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
        Type::Paren(paren) => param_kind(cx, &paren.elem),
        Type::Group(group) => param_kind(cx, &group.elem),
        Type::Path(path) if is_named(path, "f64") => Some(ParamKind::Scalar),
        Type::Path(path) if is_named(path, "f32") => {
            cx.error_spanned_by(
                ty,
                "chainrule differentiates `f64` values; write this parameter as `f64`",
            );
            None
        }
        Type::Path(path) => match faer_type(cx, path)? {
            Some((shape, Form::Owned)) => Some(ParamKind::Array { shape, copyable: false }),
            Some((shape, Form::View)) => Some(ParamKind::Array { shape, copyable: true }),
            Some((_, Form::ViewMut)) => {
                cx.error_spanned_by(
                    ty,
                    "a mutable view parameter is not supported by #[differentiate]; \
                     take a read-only view (`ColRef<'_, f64>`, `MatRef<'_, f64>`) or a reference (`&Col<f64>`) \
                     and return the result instead",
                );
                None
            }
            None if is_float_container(ty) => Some(ParamKind::Array {
                shape: Shape::Slice,
                copyable: false,
            }),
            None => Some(ParamKind::Constant {
                copyable: PRIMITIVES.iter().any(|name| is_named(path, name)),
            }),
        },
        Type::Reference(reference) => {
            let float_like = match &*reference.elem {
                Type::Path(path) => is_named(path, "f64") || is_named(path, "f32") || faer_type(cx, path)?.is_some(),
                _ => false,
            };
            if reference.mutability.is_some() {
                if matches!(&*reference.elem, Type::Path(path) if is_named(path, "f64")) {
                    return Some(ParamKind::ScalarInOut);
                }
                if matches!(&*reference.elem, Type::Slice(_) | Type::Path(_)) && is_float_container(&reference.elem) {
                    return Some(ParamKind::SliceInOut);
                }
                if float_like || is_float_container(&reference.elem) {
                    cx.error_spanned_by(
                        ty,
                        "#[differentiate] supports `&mut f64`, `&mut [f64]` and `&mut Vec<f64>` parameters, not \
                         `&mut` faer values yet; take the value by reference (`&`) and return the result instead",
                    );
                    return None;
                }
                return Some(ParamKind::Constant { copyable: false });
            }
            match &*reference.elem {
                Type::Path(path) if is_named(path, "f64") => Some(ParamKind::ScalarRef),
                Type::Path(path) if is_named(path, "f32") => {
                    cx.error_spanned_by(
                        ty,
                        "chainrule differentiates `f64` values; write this parameter as `&f64`",
                    );
                    None
                }
                Type::Path(path) => match faer_type(cx, path)? {
                    Some((shape, _)) => Some(ParamKind::Array { shape, copyable: true }),
                    None if is_float_container(&reference.elem) => Some(ParamKind::Array {
                        shape: Shape::Slice,
                        copyable: true,
                    }),
                    None => Some(ParamKind::Constant { copyable: true }),
                },
                Type::Array(_) if is_float_container(&reference.elem) => Some(ParamKind::Array {
                    shape: Shape::Array,
                    copyable: true,
                }),
                elem if is_float_container(elem) => Some(ParamKind::Array {
                    shape: Shape::Slice,
                    copyable: true,
                }),
                _ => Some(ParamKind::Constant { copyable: true }),
            }
        }
        Type::Array(_) if is_float_container(ty) => Some(ParamKind::Array {
            shape: Shape::Array,
            copyable: true,
        }),
        _ => Some(ParamKind::Constant { copyable: false }),
    }
}

/// Types that are `Copy`, so a parameter of them is never moved.
const PRIMITIVES: &[&str] = &[
    "bool", "char", "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
];

/// Whether `name` is one of the [`PRIMITIVES`].
pub fn is_primitive(name: &Ident) -> bool {
    PRIMITIVES.iter().any(|primitive| name == primitive)
}

/// How a faer type holds its elements.
enum Form {
    Owned,
    View,
    ViewMut,
}

/// The shape and form of a faer vector or matrix type (`Col<f64>`,
/// `faer::MatRef<'_, f64>`), `Some(None)` for other types; `None` after
/// reporting a faer type of elements other than `f64`.
fn faer_type(cx: &mut Ctxt, path: &syn::TypePath) -> Option<Option<(Shape, Form)>> {
    let Some(last) = path.path.segments.last() else {
        return Some(None);
    };
    let (shape, form) = match last.ident.to_string().as_str() {
        "Col" => (Shape::Column, Form::Owned),
        "ColRef" => (Shape::Column, Form::View),
        "ColMut" => (Shape::Column, Form::ViewMut),
        "Row" => (Shape::Row, Form::Owned),
        "RowRef" => (Shape::Row, Form::View),
        "RowMut" => (Shape::Row, Form::ViewMut),
        "Mat" => (Shape::Matrix, Form::Owned),
        "MatRef" => (Shape::Matrix, Form::View),
        "MatMut" => (Shape::Matrix, Form::ViewMut),
        _ => return Some(None),
    };
    let element = match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    };
    match element {
        Some(Type::Path(element)) if is_named(element, "f64") => Some(Some((shape, form))),
        _ => {
            cx.error_spanned_by(
                path,
                format!(
                    "chainrule differentiates faer values of `f64`; write `{}<f64>`",
                    last.ident
                ),
            );
            None
        }
    }
}

/// `[f64]`, `[f64; N]`, `Vec<f64>`: float data differentiated element by
/// element.
fn is_float_container(ty: &Type) -> bool {
    let is_f64 = |ty: &Type| matches!(ty, Type::Path(path) if is_named(path, "f64"));
    match ty {
        Type::Slice(slice) => is_f64(&slice.elem),
        Type::Array(array) => is_f64(&array.elem),
        Type::Path(path) => path.path.segments.last().is_some_and(|last| {
            last.ident == "Vec"
                && matches!(&last.arguments, syn::PathArguments::AngleBracketed(args)
                    if args.args.iter().any(|arg| matches!(arg, syn::GenericArgument::Type(ty) if is_f64(ty))))
        }),
        _ => false,
    }
}

/// A tuple or an array, possibly borrowed, that holds `f64`s other than as a
/// plain `[f64; N]`: `(f64, f64)`, `[[f64; 2]; 2]`. Slices and `Vec`s of such
/// values are datasets, constant without a word.
fn is_float_compound(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => is_float_compound(&reference.elem),
        Type::Paren(paren) => is_float_compound(&paren.elem),
        Type::Group(group) => is_float_compound(&group.elem),
        Type::Tuple(tuple) => tuple.elems.iter().any(holds_f64),
        Type::Array(array) => holds_f64(&array.elem),
        _ => false,
    }
}

/// Whether `ty` has an `f64` anywhere in it.
fn holds_f64(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            is_named(path, "f64")
                || path.path.segments.iter().any(|segment| match &segment.arguments {
                    syn::PathArguments::AngleBracketed(args) => args
                        .args
                        .iter()
                        .any(|arg| matches!(arg, syn::GenericArgument::Type(ty) if holds_f64(ty))),
                    _ => false,
                })
        }
        Type::Reference(reference) => holds_f64(&reference.elem),
        Type::Paren(paren) => holds_f64(&paren.elem),
        Type::Group(group) => holds_f64(&group.elem),
        Type::Tuple(tuple) => tuple.elems.iter().any(holds_f64),
        Type::Array(array) => holds_f64(&array.elem),
        Type::Slice(slice) => holds_f64(&slice.elem),
        _ => false,
    }
}

fn is_named(path: &syn::TypePath, name: &str) -> bool {
    path.qself.is_none() && path.path.is_ident(name)
}

fn select_wrt(cx: &mut Ctxt, params: &mut [SigParam], options: &Options) {
    let Some(wrt) = &options.wrt else {
        for param in params.iter_mut() {
            param.wrt = param.kind.is_differentiable();
            // Without `wrt`, every float parameter is differentiated: one whose
            // numbers chainrule cannot differentiate must not silently become
            // a constant.
            if !param.wrt && is_float_compound(&param.ty) {
                let ty = param.ty.to_token_stream().to_string().replace("& ", "&");
                cx.error_spanned_by(
                    &param.ty,
                    format!(
                        "chainrule cannot differentiate with respect to a `{ty}`: pass its numbers as separate \
                         `f64` parameters, a `[f64; N]` or a faer `Mat<f64>` (a matrix), or name the parameters \
                         to differentiate with `wrt(...)` to keep this one constant"
                    ),
                );
            }
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
        } else if !param.kind.is_differentiable() {
            let ty = param.ty.to_token_stream().to_string();
            cx.error_spanned_by(
                name,
                format!("cannot differentiate with respect to `{name}`: its type `{ty}` is not `f64`, a slice, `Vec` or array of `f64`, or a faer `Col`, `Row` or `Mat` of `f64`"),
            );
        } else {
            param.wrt = true;
        }
    }
    // A `&mut` parameter's pullback receives the seed of its final value and
    // hands back the adjoint of its first one in the same place, which a
    // caller's derivative relies on: it is always differentiated.
    for param in params.iter_mut().filter(|param| param.kind.is_inout()) {
        param.wrt = true;
    }
}

/// The shape of the returned value: `f64`, a `Vec<f64>` or `[f64; N]`, or
/// an owned faer `Col`, `Row` or `Mat` of `f64`.
fn output_shape(cx: &mut Ctxt, sig: &syn::Signature, has_inout: bool) -> Shape {
    const EXPECTED: &str = "#[differentiate] differentiates functions that return `f64`, `Vec<f64>`, \
                            `[f64; N]` or an owned faer `Col<f64>`, `Row<f64>` or `Mat<f64>`; return one of these";
    match &sig.output {
        syn::ReturnType::Type(_, ty) => match &**ty {
            Type::Path(path) if is_named(path, "f64") => Shape::Scalar,
            Type::Array(_) if is_float_container(ty) => Shape::Array,
            Type::Path(_) if is_float_container(ty) => Shape::Slice,
            Type::Path(path) => match faer_type(cx, path) {
                Some(Some((shape, Form::Owned))) => shape,
                Some(_) => {
                    cx.error_spanned_by(ty, EXPECTED);
                    Shape::Scalar
                }
                None => Shape::Scalar,
            },
            _ => {
                cx.error_spanned_by(ty, EXPECTED);
                Shape::Scalar
            }
        },
        syn::ReturnType::Default if has_inout => Shape::Unit,
        syn::ReturnType::Default => {
            cx.error_at(
                sig.paren_token.span.join(),
                "#[differentiate] needs a function that returns a value (add `-> f64`) or writes one through \
                 a `&mut f64` parameter",
            );
            Shape::Scalar
        }
    }
}
