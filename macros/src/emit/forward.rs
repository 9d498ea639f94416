//! Emission of forward mode and of second derivatives.
//!
//! For `fn f(x: &Col<f64>, n: usize, b: f64) -> f64` with `forward` it writes:
//!
//! ```text
//! fn f_pushforward(x, n, b, d_x: Option<&Col<f64>>, _: Option<()>, d_b: Option<f64>) -> (f64, f64)
//!     the split forward form: the body of `f` with the tangent of every active
//!     value computed beside it (`forward.rs`); a `None` tangent is zero. Other
//!     forward-mode functions call it for `f`, passing `None` for arguments
//!     that carry no derivative.
//! fn f_jvp(x, n, b, d_x: &Col<f64>, d_b: f64) -> (f64, f64)   // value and ∂f·(d_x, d_b)
//! ```
//!
//! and with `hessian` (scalar results only):
//!
//! ```text
//! fn f_hvp(x, n, b, d_x, d_b) -> (f64, Col<f64>, f64)  // value and H·(d_x, d_b), shaped like the gradient
//! fn f_hessian(x, n, b) -> (f64, Mat<f64>)           // value and H over the flattened parameters
//! ```
//!
//! `f_hvp` is reverse over forward: the tangent function
//! `f_directional(x, d_x) = ∂f·d_x` is differentiated by the reverse
//! transform like any other function (its split form and gradient are
//! emitted beside it, hidden from the docs), and its gradient is `H·d_x`.
//! `f_hessian` calls `f_hvp` once per flattened parameter with a unit
//! direction: column `k` of the Hessian is `H·eₖ`.
//!
//! For callers with `hessian` of their own, it also writes
//!
//! ```text
//! fn f_tangent(x, n, b, d_x: Option<&Col<f64>>, _: Option<()>, d_b: Option<f64>) -> f64
//! fn f_tangent_pullback(…same…) -> (f64, impl FnOnce(&f64, (…same…)) -> (…gradients, one per parameter and slot))
//! ```
//!
//! the tangent alone, in `f_pushforward`'s slots, and its reverse mode: a
//! caller's directional derivative calls `f_tangent` where `f_pushforward`
//! would give the tangent, so that its own reverse mode goes through it.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Ident, parse_quote};

use super::{Emitter, flat_layout, mixed};
use crate::check::Activity;
use crate::forward::Tangent;
use crate::ir::{Function, ParamKind, Shape};
use crate::reverse::Adjoint;

/// What `expand` built for forward mode: the tangent function and its
/// activity, and for `hessian`, the directional derivative's adjoint.
pub struct ForwardParts<'a> {
    pub tangent: &'a Tangent,
    pub activity: &'a Activity,
    pub second_order: Option<SecondOrder<'a>>,
}

/// The directional derivative `(x, d_x) ↦ ∂f·d_x` as a function of its own,
/// with its adjoint.
pub struct SecondOrder<'a> {
    pub directional: &'a Function,
    pub activity: &'a Activity,
    pub adjoint: &'a Adjoint,
}

/// `param` (an owned value of the parameter's shape) as the parameter's own
/// type expects it: borrowed, as a view, or owned.
fn as_param_type(ty: &syn::Type, owned: TokenStream) -> TokenStream {
    match ty {
        syn::Type::Reference(reference) if matches!(*reference.elem, syn::Type::Slice(_)) => {
            quote!(#owned.as_slice())
        }
        syn::Type::Reference(_) => quote!(&#owned),
        syn::Type::Path(path)
            if path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident.to_string().ends_with("Ref")) =>
        {
            quote!(#owned.as_ref())
        }
        _ => owned,
    }
}

impl Emitter<'_> {
    /// The primal parameters of the tangent function: those of `f`.
    fn primal_params(&self, tangent: &Tangent) -> Vec<TokenStream> {
        let mut params = self.params();
        params.truncate(tangent.tangent_params.len());
        params
    }

    fn primal_idents(&self, tangent: &Tangent) -> Vec<&syn::Ident> {
        self.function.params[..tangent.tangent_params.len()]
            .iter()
            .map(|param| &param.ident)
            .collect()
    }

    /// The tangent parameters, one per differentiated parameter.
    fn tangent_params(&self, tangent: &Tangent) -> Vec<&crate::ir::Param> {
        tangent
            .tangent_params
            .iter()
            .flatten()
            .map(|index| &self.function.params[*index])
            .collect()
    }

    /// `d_x: T, …`: the tangent parameters as `f_jvp` and `f_hvp` declare them.
    fn tangent_decls(&self, tangent: &Tangent) -> Vec<TokenStream> {
        self.tangent_params(tangent)
            .iter()
            .map(|param| {
                let ident = &param.ident;
                let ty = &param.ty;
                quote!(#ident: #ty)
            })
            .collect()
    }

    /// `check_tangent(&d_x, &x, "f", "x");` for each tangent of a vector or
    /// matrix, whose shape the types do not fix.
    fn tangent_checks(&self, tangent: &Tangent) -> Vec<TokenStream> {
        let name = self.item.sig.ident.to_string();
        tangent
            .tangent_params
            .iter()
            .enumerate()
            .filter_map(|(position, slot)| {
                let primal = &self.function.params[position];
                let tangent = &self.function.params[(*slot)?];
                matches!(primal.kind, crate::ir::ParamKind::Array { .. }).then(|| {
                    let (primal_ident, tangent_ident) = (&primal.ident, &tangent.ident);
                    let parameter = primal_ident.to_string();
                    quote!(::chainrule::rules::check_tangent(&#tangent_ident, &#primal_ident, #name, #parameter);)
                })
            })
            .collect()
    }

    /// `f_pushforward(x, …, Some(d_x), None, …)` from a function that has the
    /// primal and tangent parameters.
    fn pushforward_call(&self, tangent: &Tangent) -> TokenStream {
        let pushforward_call = self.sibling("pushforward");
        let primal_idents = self.primal_idents(tangent);
        let tangent_args = tangent.tangent_params.iter().map(|slot| match slot {
            Some(index) => {
                let ident = &self.function.params[*index].ident;
                quote!(::core::option::Option::Some(#ident))
            }
            None => quote!(::core::option::Option::None),
        });
        quote!(#pushforward_call(#(#primal_idents,)* #(#tangent_args),*))
    }

    /// `f_pushforward`, emitted from the tangent function.
    pub(super) fn pushforward_fn(&self, tangent: &Tangent) -> TokenStream {
        let primal = self.primal();
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let pushforward_name = self.generated_name("pushforward");
        let generics = &self.item.sig.generics;
        let output = self.output_type();
        let primal_params = self.primal_params(tangent);
        let slots = tangent
            .tangent_params
            .iter()
            .zip(self.slot_types(tangent))
            .map(|(slot, ty)| match slot {
                Some(index) => {
                    let ident = &self.function.params[*index].ident;
                    quote!(#ident: #ty)
                }
                None => quote!(_: #ty),
            });
        let derefs = self.function.params[..tangent.tangent_params.len()]
            .iter()
            .filter(|param| param.kind == ParamKind::ScalarRef)
            .map(|param| {
                let body_var = self.ident(param.var);
                let ident = &param.ident;
                quote!(let #body_var: f64 = *#ident;)
            });
        let bindings = self.slot_bindings(tangent);
        let body = self.forward_block(&self.function.body, false);
        let result = self.operand(&self.function.result);
        let tangent_result = self.operand(&tangent.tangent_result);
        let target = self.doc_target();
        let doc = format!(
            " Split forward mode of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value and its tangent, \
             the derivative of `{name}` in the direction of the tangents given (`None` is a zero tangent), \
             from one run of the computation. `()` slots are parameters that are not differentiated."
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #pushforward_name #generics (#(#primal_params,)* #(#slots),*) -> (#output, #output) {
                // `#name` itself is not called: its computation is written out below.
                let _ = #primal;
                #(#derefs)*
                #(#bindings)*
                #body
                (#result, #tangent_result)
            }
        }
    }

    /// The type of each parameter's tangent slot: `Option<T>` for a
    /// differentiated parameter of type `T`, `Option<()>` for the others.
    fn slot_types(&self, tangent: &Tangent) -> Vec<TokenStream> {
        tangent
            .tangent_params
            .iter()
            .map(|slot| match slot {
                Some(index) => {
                    let ty = &self.function.params[*index].ty;
                    quote!(::core::option::Option<#ty>)
                }
                None => quote!(::core::option::Option<()>),
            })
            .collect()
    }

    /// The tangent of each differentiated parameter from its slot, a
    /// `None` slot being a zero of the parameter's shape.
    fn slot_bindings(&self, tangent: &Tangent) -> Vec<TokenStream> {
        self.function.params[..tangent.tangent_params.len()]
            .iter()
            .zip(&tangent.tangent_params)
            .filter_map(|(primal, slot)| Some((primal, &self.function.params[(*slot)?])))
            .map(|(primal, param)| {
                let slot = &param.ident;
                let var = self.ident(param.var);
                let primal_ident = &primal.ident;
                match param.kind {
                    ParamKind::Scalar => quote!(let #var: f64 = #slot.unwrap_or(0.0);),
                    ParamKind::ScalarRef => quote!(let #var: f64 = #slot.map_or(0.0, |tangent| *tangent);),
                    _ => {
                        let zero = mixed(&format!("zero_{var}"));
                        let converted = as_param_type(&param.ty, zero.to_token_stream());
                        quote! {
                            let #zero;
                            let #var = match #slot {
                                ::core::option::Option::Some(tangent) => tangent,
                                ::core::option::Option::None => {
                                    #zero = ::chainrule::rules::zero_like(&#primal_ident);
                                    #converted
                                }
                            };
                        }
                    }
                }
            })
            .collect()
    }

    /// `f_jvp(primals…, tangents…)`: the pushforward of the tangents given.
    pub(super) fn jvp_fn(&self, tangent: &Tangent) -> TokenStream {
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let jvp_name = self.generated_name("jvp");
        let generics = &self.item.sig.generics;
        let output = self.output_type();
        let primal_params = self.primal_params(tangent);
        let tangent_decls = self.tangent_decls(tangent);
        let checks = self.tangent_checks(tangent);
        let call = self.pushforward_call(tangent);
        let target = self.doc_target();
        let doc = format!(
            " Jacobian–vector product of [`{name}`]({target}), generated by chainrule (forward mode): returns `{name}`'s \
             value and its derivative in the direction of the tangents, one per differentiated parameter and \
             typed like it ({}), computed in one run alongside the value.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #jvp_name #generics (#(#primal_params,)* #(#tangent_decls),*) -> (#output, #output) {
                #(#checks)*
                #call
            }
        }
    }

    /// The directional derivative `f_directional(primals…, directions…)`
    /// with its reverse mode, and `f_tangent` with its pullback: what `f_hvp`
    /// and callers' Hessians are built from, hidden from the docs.
    pub(super) fn second_order_fns(&self, tangent: &Tangent, second: &SecondOrder) -> TokenStream {
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let generics = &self.item.sig.generics;
        let output = self.output_type();
        let primal_params = self.primal_params(tangent);
        let tangent_decls = self.tangent_decls(tangent);
        let call = self.pushforward_call(tangent);
        let directional_name = self.generated_name("directional");
        let directional: syn::ItemFn = parse_quote! {
            #lints
            #vis fn #directional_name #generics (#(#primal_params,)* #(#tangent_decls),*) -> #output {
                #call.1
            }
        };
        let inner = Emitter::new(
            self.scope,
            &directional,
            second.directional,
            second.activity,
            second.adjoint,
        );
        let directional_pullback = inner.pullback_fn();
        let directional_vjp = inner.vjp_fn();
        let directional_grad = (self.function.output == Shape::Scalar).then(|| {
            let grad = inner.grad_fn();
            quote!(#[doc(hidden)] #grad)
        });
        let tangent_fns = self.tangent_fns(tangent, &inner);
        quote! {
            #[doc(hidden)]
            #directional
            #[doc(hidden)]
            #directional_pullback
            #[doc(hidden)]
            #directional_vjp
            #directional_grad
            #tangent_fns
        }
    }

    /// `f_hvp(primals…, directions…)`: the value and `H·d`, one part per
    /// differentiated parameter, the gradient of `f_directional`.
    pub(super) fn hvp_fn(&self, tangent: &Tangent) -> TokenStream {
        let directional_grad_call = self.sibling("directional_grad");
        let primal = self.primal();
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let hvp_name = self.generated_name("hvp");
        let generics = &self.item.sig.generics;
        let primal_params = self.primal_params(tangent);
        let primal_idents = self.primal_idents(tangent);
        let tangent_params = self.tangent_params(tangent);
        let tangent_idents: Vec<&syn::Ident> = tangent_params.iter().map(|param| &param.ident).collect();
        let tangent_decls = self.tangent_decls(tangent);
        let checks = self.tangent_checks(tangent);
        let value = mixed("value");
        let value_args = self.primal_value_args(tangent);
        let (_, gradients) = self.gradient_bindings();
        let output_types = self.wrt_gradient_types();
        let target = self.doc_target();
        let doc = format!(
            " Hessian–vector product of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value and the \
             Hessian times the direction given (one part per differentiated parameter, typed like it), shaped \
             like the gradient ({}). Computed in reverse mode over forward mode, at a small constant times the \
             cost of `{name}`.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #hvp_name #generics (#(#primal_params,)* #(#tangent_decls),*) -> (f64, #(#output_types),*) {
                #(#checks)*
                let #value = #primal(#(#value_args),*);
                let (_, #(#gradients),*) = #directional_grad_call(#(#primal_idents,)* #(#tangent_idents),*);
                (#value, #(#gradients),*)
            }
        }
    }

    /// `f_tangent(primals…, Some(d_x) | None…)`, the tangent of `f` alone, and
    /// `f_tangent_pullback`, its reverse mode with respect to the primals and
    /// the tangents: what a caller's `hessian` differentiates a call of `f`
    /// through. The tangent slots are `f_pushforward`'s. With respect to the
    /// primals the pullback is the directional derivative's (`directional`);
    /// with respect to the tangents it is `f`'s own gradient, since the
    /// tangent is linear in them.
    fn tangent_fns(&self, tangent: &Tangent, directional: &Emitter) -> TokenStream {
        let directional_pullback_call = directional.sibling("pullback");
        let primal = self.primal();
        let pullback_call = self.sibling("pullback");
        let pushforward_call = self.sibling("pushforward");
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let generics = &self.item.sig.generics;
        let tangent_name = self.generated_name("tangent");
        let tangent_pullback_name = self.generated_name("tangent_pullback");
        let primal_params = self.primal_params(tangent);
        let primal_idents = self.primal_idents(tangent);
        let value_args = self.primal_value_args(tangent);
        let slot_names: Vec<Ident> = tangent
            .tangent_params
            .iter()
            .enumerate()
            .map(|(k, slot)| match slot {
                Some(index) => self.function.params[*index].ident.clone(),
                None => mixed(&format!("no_tangent_{k}")),
            })
            .collect();
        let bindings = self.slot_bindings(tangent);
        // The tangents as `f_directional` takes them.
        let directions: Vec<TokenStream> = self
            .tangent_params(tangent)
            .iter()
            .map(|param| {
                let var = self.ident(param.var);
                if param.kind == ParamKind::ScalarRef {
                    quote!(&#var)
                } else {
                    var.to_token_stream()
                }
            })
            .collect();
        let gradient_types = self.gradient_types();
        let primal_types = self.param_types();
        let primal_count = tangent.tangent_params.len();
        let (primal_types, primal_gradient_types) = (&primal_types[..primal_count], &gradient_types[..primal_count]);
        let slot_types = self.slot_types(tangent);
        let slot_gradient_types = tangent
            .tangent_params
            .iter()
            .zip(primal_gradient_types)
            .map(|(slot, ty)| if slot.is_some() { ty.clone() } else { quote!(()) });
        let firsts: Vec<Ident> = (0..primal_count).map(|k| mixed(&format!("first_{k}"))).collect();
        let seconds: Vec<Ident> = (0..primal_count).map(|k| mixed(&format!("second_{k}"))).collect();
        let ignored = tangent.tangent_params.iter().flatten().map(|_| quote!(_));
        let slot_gradients = tangent.tangent_params.iter().zip(&firsts).map(|(slot, first)| {
            if slot.is_some() {
                first.to_token_stream()
            } else {
                quote!(())
            }
        });
        let lifetimes = self.lifetimes();
        let output = self.output_type();
        let (value, seed, directional_pullback, first_pullback) =
            (mixed("value"), mixed("seed"), mixed("directional"), mixed("first"));
        quote! {
            #[doc(hidden)]
            #lints
            #vis fn #tangent_name #generics (#(#primal_params,)* #(#slot_names: #slot_types),*) -> #output {
                #pushforward_call(#(#primal_idents,)* #(#slot_names),*).1
            }
            #[doc(hidden)]
            #lints
            #vis fn #tangent_pullback_name #generics (#(#primal_params,)* #(#slot_names: #slot_types),*) -> (
                #output,
                impl ::core::ops::FnOnce(&#output, (#(#primal_types,)* #(#slot_types,)*))
                    -> (#(#primal_gradient_types,)* #(#slot_gradient_types,)*) + use<#(#lifetimes),*>,
            ) {
                let _ = #primal;
                let (#value, #directional_pullback) = {
                    #(#bindings)*
                    #directional_pullback_call(#(#value_args,)* #(#directions),*)
                };
                (#value, move |#seed: &#output, (#(#primal_idents,)* #(#slot_names,)*): (#(#primal_types,)* #(#slot_types,)*)| {
                    #(#bindings)*
                    let (_, #first_pullback) = #pullback_call(#(#value_args),*);
                    let (#(#firsts,)*) = ::chainrule::rules::pull(#first_pullback, #seed, (#(#value_args,)*));
                    let (#(#seconds,)* #(#ignored,)*) =
                        ::chainrule::rules::pull(#directional_pullback, #seed, (#(#primal_idents,)* #(#directions,)*));
                    (#(#seconds,)* #(#slot_gradients,)*)
                })
            }
        }
    }

    /// The arguments that call `f` itself before the parameters are used
    /// again: owned vectors and matrices cloned.
    fn primal_value_args(&self, tangent: &Tangent) -> Vec<TokenStream> {
        self.function.params[..tangent.tangent_params.len()]
            .iter()
            .map(|param| {
                let ident = &param.ident;
                if param.kind.is_copyable() {
                    quote!(#ident)
                } else {
                    quote!(::chainrule::rules::keep(&#ident))
                }
            })
            .collect()
    }

    /// `f_hessian(primals…)`: the value and the Hessian over the
    /// differentiated parameters flattened in order (column-major within a
    /// matrix), one Hessian–vector product per column.
    pub(super) fn hessian_fn(&self, tangent: &Tangent) -> TokenStream {
        let hvp_call = self.sibling("hvp");
        let primal = self.primal();
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let hessian_name = self.generated_name("hessian");
        let generics = &self.item.sig.generics;
        let primal_params = self.primal_params(tangent);
        let value_args = self.primal_value_args(tangent);
        let (value, hessian, size, column) = (mixed("value"), mixed("hessian"), mixed("size"), mixed("column"));
        let wrt: Vec<&crate::ir::Param> = self.function.params[..tangent.tangent_params.len()]
            .iter()
            .zip(&tangent.tangent_params)
            .filter(|(_, slot)| slot.is_some())
            .map(|(param, _)| param)
            .collect();
        let idents: Vec<&syn::Ident> = wrt.iter().map(|param| &param.ident).collect();
        let (offsets, layout) = flat_layout(&idents, &size);
        let units: Vec<syn::Ident> = (0..wrt.len()).map(|k| mixed(&format!("unit_{k}"))).collect();
        let parts: Vec<syn::Ident> = (0..wrt.len()).map(|k| mixed(&format!("column_{k}"))).collect();
        let unit_lets = wrt.iter().zip(&offsets).zip(&units).map(|((param, offset), unit)| {
            let ident = &param.ident;
            quote!(let #unit = ::chainrule::rules::unit_like(&#ident, #column.wrapping_sub(#offset));)
        });
        let unit_args = wrt
            .iter()
            .zip(&units)
            .map(|(param, unit)| as_param_type(&param.ty, unit.to_token_stream()));
        let writes = parts.iter().zip(&offsets).map(
            |(part, offset)| quote!(::chainrule::rules::set_hessian_column(&mut #hessian, #column, #offset, &#part);),
        );
        let target = self.doc_target();
        let doc = format!(
            " Hessian of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value and the symmetric matrix \
             of its second derivatives with respect to the differentiated parameters ({}), each flattened in \
             order (a matrix column by column). Computed with one Hessian–vector product per column.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #hessian_name #generics (#(#primal_params),*) -> (f64, ::chainrule::faer::Mat<f64>) {
                let #value = #primal(#(#value_args),*);
                #layout
                let mut #hessian = ::chainrule::faer::Mat::<f64>::zeros(#size, #size);
                for #column in 0..#size {
                    #(#unit_lets)*
                    let (_, #(#parts),*) = #hvp_call(#(#value_args,)* #(#unit_args),*);
                    #(#writes)*
                }
                (#value, #hessian)
            }
        }
    }
}

impl Emitter<'_> {
    /// `f_pushforward` and `f_jvp` of a function with a user's rule and an
    /// `f64` value: the rule gives the gradient, and the tangent is its inner
    /// product with the tangents, `ḟ = Σᵢ ⟨∇ᵢf, ṫᵢ⟩`.
    pub(super) fn rule_forward_fns(&self) -> TokenStream {
        let pullback_call = self.sibling("pullback");
        let pushforward_call = self.sibling("pushforward");
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let pushforward_name = self.generated_name("pushforward");
        let jvp_name = self.generated_name("jvp");
        let generics = &self.item.sig.generics;
        let params = self.params();
        let forward_args = self.forwarded_args(true);
        let args = self.forwarded_args(false);
        let idents: Vec<&syn::Ident> = self.function.params.iter().map(|param| &param.ident).collect();
        let tangents: Vec<Option<syn::Ident>> = self
            .function
            .params
            .iter()
            .map(|param| param.wrt.then(|| mixed(&format!("d_{}", param.ident))))
            .collect();
        let slots = self
            .function
            .params
            .iter()
            .zip(&tangents)
            .map(|(param, tangent)| match tangent {
                Some(tangent) => {
                    let ty = &param.ty;
                    quote!(#tangent: ::core::option::Option<#ty>)
                }
                None => quote!(_: ::core::option::Option<()>),
            });
        let tangent_decls: Vec<TokenStream> = self
            .function
            .params
            .iter()
            .zip(&tangents)
            .filter_map(|(param, tangent)| {
                let tangent = tangent.as_ref()?;
                let ty = &param.ty;
                Some(quote!(#tangent: #ty))
            })
            .collect();
        let tangent_args = tangents.iter().map(|tangent| match tangent {
            Some(tangent) => quote!(::core::option::Option::Some(#tangent)),
            None => quote!(::core::option::Option::None),
        });
        let (patterns, grads) = self.gradient_bindings();
        let (value, pullback, total) = (mixed("value"), mixed("pullback"), mixed("tangent"));
        let terms = tangents.iter().flatten().zip(&grads).map(|(tangent, grad)| {
            quote! {
                if let ::core::option::Option::Some(#tangent) = #tangent {
                    #total += ::chainrule::ops::dot(&#grad, &#tangent);
                }
            }
        });
        let target = self.doc_target();
        let doc = format!(
            " Split forward mode of [`{name}`]({target}), generated by chainrule from its rule: the value and the \
             derivative in the direction of the tangents given (`None` is a zero tangent), as the inner \
             product of the rule's gradient with them."
        );
        let jvp_doc = format!(
            " Jacobian–vector product of [`{name}`]({target}), generated by chainrule from its rule: the value and the \
             derivative in the direction of the tangents ({}).",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #pushforward_name #generics (#(#params,)* #(#slots),*) -> (f64, f64) {
                let (#value, #pullback) = #pullback_call(#(#forward_args),*);
                let (#(#patterns,)*) = #pullback(&1.0, (#(#args,)*));
                let mut #total = 0.0;
                #(#terms)*
                (#value, #total)
            }

            #[doc = #jvp_doc]
            #lints
            #vis fn #jvp_name #generics (#(#params,)* #(#tangent_decls),*) -> (f64, f64) {
                #pushforward_call(#(#idents,)* #(#tangent_args),*)
            }
        }
    }
}
