//! The table of contents of the macro: read the signature, lower the body,
//! analyse activity, build the adjoint, emit.
//!
//! Each stage records its problems in one [`Ctxt`]. If there are any, the
//! expansion is the user's function untouched plus the errors, so the user
//! sees exactly the problems in their code and no cascade of errors from
//! generated functions.
//!
//! On an inherent `impl` block the attribute expands each associated function
//! that carries `#[differentiate]` itself, as it would a free function, with
//! the generated functions placed in the block and calling each other as
//! `Self::f_vjp(…)`: an attribute on a function cannot tell that it is in an
//! `impl`, so the block's attribute says so.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::ctxt::Ctxt;
use crate::emit::Scope;
use crate::ir::{Function, Shape};
use crate::{attr, check, emit, forward, lower, reverse, signature};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::ItemImpl>(input.clone()) {
        Ok(block) => expand_impl(args, block),
        Err(_) => expand_fn(Scope::Module, args, input),
    }
}

/// `#[differentiate] impl Model { #[differentiate] fn f(…) … }`: each marked
/// function expanded in place with its options.
fn expand_impl(args: TokenStream, mut block: syn::ItemImpl) -> TokenStream {
    let mut cx = Ctxt::default();
    if !args.is_empty() {
        cx.error_spanned_by(
            &args,
            "#[differentiate] on an `impl` block takes no options; write them on each function: \
             `#[differentiate(wrt(x))] fn f(…)`",
        );
    }
    if let Some((_, path, _)) = &block.trait_ {
        cx.error_spanned_by(
            path,
            format!(
                "#[differentiate] needs an inherent `impl` block (`impl {} {{ … }}`): the functions it generates, \
                 `f_grad` and the others, are not items of the trait; move the function to an inherent `impl` or \
                 make it a free function",
                block.self_ty.to_token_stream()
            ),
        );
    }
    if cx.has_errors() {
        // The marks go too, or each function would expand on its own.
        for item in &mut block.items {
            if let syn::ImplItem::Fn(function) = item {
                function.attrs.retain(|attribute| !is_differentiate(attribute));
            }
        }
        return with_errors(quote!(#block), cx);
    }
    let mut marked = 0;
    for item in &mut block.items {
        let syn::ImplItem::Fn(function) = item else {
            continue;
        };
        let Some(position) = function.attrs.iter().position(is_differentiate) else {
            continue;
        };
        let attribute = function.attrs.remove(position);
        let options = match attribute.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens,
            syn::Meta::NameValue(name_value) => {
                cx.error_spanned_by(
                    &name_value,
                    "write the options in parentheses: `#[differentiate(wrt(x))]`",
                );
                continue;
            }
        };
        let free = syn::ItemFn {
            attrs: std::mem::take(&mut function.attrs),
            vis: function.vis.clone(),
            sig: function.sig.clone(),
            block: Box::new(function.block.clone()),
        };
        marked += 1;
        *item = syn::ImplItem::Verbatim(taking_self(expand_fn(Scope::Impl, options, quote!(#free))));
    }
    if marked == 0 && !cx.has_errors() {
        cx.error_at(
            proc_macro2::Span::call_site(),
            "#[differentiate] on an `impl` block differentiates the functions in it marked `#[differentiate]`, \
             and none is; mark each function to differentiate",
        );
    }
    let errors = cx.check().err().map(|error| error.to_compile_error());
    quote!(#block #errors)
}

/// The generated functions of a method taking `&self`, which name it
/// [`RECEIVER`](signature::RECEIVER) (a closure's parameter cannot be called
/// `self`), made methods again: `fn f_grad(&self, …) { let chainrule_self =
/// self; … }`, called as `model.f_grad(…)`.
fn taking_self(expanded: TokenStream) -> TokenStream {
    let parse_items = |input: syn::parse::ParseStream| {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse::<syn::ImplItem>()?);
        }
        Ok(items)
    };
    let Ok(mut items) = syn::parse::Parser::parse2(parse_items, expanded.clone()) else {
        return expanded;
    };
    let receiver = syn::Ident::new(signature::RECEIVER, proc_macro2::Span::call_site());
    for item in &mut items {
        let syn::ImplItem::Fn(function) = item else {
            continue;
        };
        let Some(syn::FnArg::Typed(first)) = function.sig.inputs.first() else {
            continue;
        };
        if !matches!(&*first.pat, syn::Pat::Ident(name) if name.ident == receiver) {
            continue;
        }
        let ty = &first.ty;
        function.sig.inputs[0] = syn::parse_quote!(self: #ty);
        function.block.stmts.insert(0, syn::parse_quote!(let #receiver = self;));
    }
    quote!(#(#items)*)
}

/// `#[differentiate]` or `#[chainrule::differentiate]`, with or without options.
fn is_differentiate(attribute: &syn::Attribute) -> bool {
    attribute
        .path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "differentiate")
}

fn expand_fn(scope: Scope, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let options = attr::parse_options(&mut cx, args);
    let item: syn::ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_at(
                proc_macro2::Span::call_site(),
                "#[differentiate] applies to a function, `fn f(x: f64) -> f64 { ... }`, or to an inherent `impl` block \
                 holding functions marked `#[differentiate]`",
            );
            return with_errors(input, cx);
        }
    };
    let signature = signature::read_signature(&mut cx, &item, &options, scope);
    if item.sig.receiver().is_some() && cx.has_errors() {
        // The body reads `self`, which is no parameter: its errors would be
        // consequences of this one.
        return with_errors(quote!(#item), cx);
    }
    if let Some(rule) = &options.rule {
        if let Some(last) = rule.path.segments.last()
            && last.ident == format!("{}_vjp", item.sig.ident)
        {
            cx.error_spanned_by(
                rule,
                format!(
                    "`{}_vjp` is the name chainrule generates; name the rule differently, e.g. `{}_derivative`",
                    item.sig.ident, item.sig.ident
                ),
            );
        }
        if let Some(span) = options.hessian {
            cx.error_at(
                span,
                "`hessian` needs the function's body; a `rule =` gives first derivatives only",
            );
        }
        if let Some(span) = options.recursive {
            cx.error_at(
                span,
                "`recursive` boxes the pullback of a body that calls itself or a function calling it back; a \
                 function with a `rule =` calls no pullback, so drop `recursive`",
            );
        }
        if let Some(span) = options.forward
            && signature.output != Shape::Scalar
        {
            cx.error_at(
                span,
                "`forward` with a `rule =` needs an `f64` result (the tangent is the rule's gradient times the \
                 tangents); differentiate the body instead, without `rule =`",
            );
        }
        if cx.has_errors() {
            return with_errors(quote!(#item), cx);
        }
        let function = lower::lower_signature(&signature);
        return emit::emit_with_rule(scope, &item, &options, &function, rule);
    }
    let mut function = lower::lower_function(&mut cx, &item, &signature);
    function.recursive |= options.recursive.is_some();
    if !function.params.iter().any(|param| param.kind.is_inout())
        && matches!(&function.result, crate::ir::Operand::Const(syn::Expr::Tuple(unit)) if unit.elems.is_empty())
    {
        // No value to differentiate: rustc reports the function itself.
        return with_errors(quote!(#item), cx);
    }
    let activity = check::analyse(&mut cx, &function);
    check::check_jacobian(&mut cx, &options, &function);
    if cx.has_errors() {
        return with_errors(quote!(#item), cx);
    }
    let adjoint = reverse::reverse(&function, &activity);
    if options.forward.is_none() && options.hessian.is_none() {
        return emit::emit(scope, &item, &options, &function, &activity, &adjoint, None);
    }
    if options.hessian.is_some() {
        for param in function.params.iter().filter(|param| param.kind.is_inout()) {
            cx.error_spanned_by(
                &param.ty,
                "`hessian` does not take `&mut` parameters; return the value instead, or drop `hessian` and use \
                 `f_pullback`",
            );
        }
        if cx.has_errors() {
            return with_errors(quote!(#item), cx);
        }
    }
    let mut tangent = forward::forward(&mut cx, &function, &activity, forward::CallTangents::Pushforward);
    let tangent_activity = activity_without_wrt(&mut cx, &mut tangent.function);
    let second_order = options
        .hessian
        .map(|_| directional_derivative(&mut cx, &function, &activity));
    if cx.has_errors() {
        return with_errors(quote!(#item), cx);
    }
    let second_order = second_order
        .as_ref()
        .map(|(directional, activity, adjoint)| emit::SecondOrder {
            directional: &directional.function,
            activity,
            adjoint,
        });
    let parts = emit::ForwardParts {
        tangent: &tangent,
        activity: &tangent_activity,
        second_order,
    };
    emit::emit(scope, &item, &options, &function, &activity, &adjoint, Some(parts))
}

/// The activity of the tangent function as `f_pushforward` runs it: nothing is
/// differentiated again there, so every call is a plain call.
fn activity_without_wrt(cx: &mut Ctxt, function: &mut Function) -> check::Activity {
    let wrt: Vec<bool> = function.params.iter().map(|param| param.wrt).collect();
    for param in &mut function.params {
        param.wrt = false;
    }
    let activity = check::analyse(cx, function);
    for (param, wrt) in function.params.iter_mut().zip(wrt) {
        param.wrt = wrt;
    }
    activity
}

/// For `hessian`: the directional derivative `(x, d_x) ↦ ∂f·d_x` as a function
/// of its own, with its activity and adjoint, which `f_hvp` differentiates
/// with respect to `x` (reverse over forward), and callers' Hessians through
/// `f_tangent_pullback`. For a function returning a vector or matrix, the
/// derivative has that shape: only callers use it.
fn directional_derivative(
    cx: &mut Ctxt,
    function: &Function,
    activity: &check::Activity,
) -> (forward::Tangent, check::Activity, reverse::Adjoint) {
    // The same transform as for `f_pushforward`, whose problems are already reported.
    let mut directional = forward::forward(
        &mut Ctxt::default(),
        function,
        activity,
        forward::CallTangents::Differentiable,
    );
    directional.function.result = directional.tangent_result.clone();
    let directional_activity = check::analyse(cx, &directional.function);
    let adjoint = reverse::reverse(&directional.function, &directional_activity);
    (directional, directional_activity, adjoint)
}

fn with_errors(item: TokenStream, cx: Ctxt) -> TokenStream {
    let errors = cx.check().err().map(|error| error.to_compile_error());
    quote!(#item #errors)
}
