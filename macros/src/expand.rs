//! The table of contents of the macro: read the signature, lower the body,
//! analyse activity, build the adjoint, emit.
//!
//! Each stage records its problems in one [`Ctxt`]. If there are any, the
//! expansion is the user's function untouched plus the errors, so the user
//! sees exactly the problems in their code and no cascade of errors from
//! generated functions.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::{attr, check, emit, lower, reverse, signature};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let options = attr::parse_options(&mut cx, args);
    let item: syn::ItemFn = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_at(
                proc_macro2::Span::call_site(),
                "#[differentiate] applies to a function: `fn f(x: f64) -> f64 { ... }`",
            );
            return with_errors(input, cx);
        }
    };
    let signature = signature::read_signature(&mut cx, &item, &options);
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
        if cx.has_errors() {
            return with_errors(quote!(#item), cx);
        }
        let function = lower::lower_signature(&signature);
        return emit::emit_with_rule(&item, &options, &function, rule);
    }
    let function = lower::lower_function(&mut cx, &item, &signature);
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
    emit::emit(&item, &options, &function, &activity, &adjoint)
}

fn with_errors(item: TokenStream, cx: Ctxt) -> TokenStream {
    let errors = cx.check().err().map(|error| error.to_compile_error());
    quote!(#item #errors)
}
