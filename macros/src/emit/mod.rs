//! Emission: the only stage that writes Rust tokens.
//!
//! For `fn f(x: &Col<f64>, n: usize, b: f64) -> f64` it writes, beside `f`:
//!
//! ```text
//! fn f_pullback(x, n, b) -> (f64, impl FnOnce(&f64, (&Col<f64>, usize, f64)) -> (Col<f64>, (), f64))
//!     the forward sweep (the primal in A-normal form), then the value and a
//!     `move` closure running the adjoint sweep. The closure takes the seed and
//!     the arguments again, so it borrows nothing and keeps only intermediate
//!     values; it returns one gradient per parameter, `()` for constants.
//! fn f_vjp(x, n, b, seed: f64) -> (f64, Col<f64>, f64)    // the two composed
//! fn f_grad(x, n, b) -> (f64, Col<f64>, f64)               // seed 1 (f64 output)
//! fn f_jacobian(x, ...) -> (Col<f64>, Mat<f64>)            // with `jacobian`
//! ```
//!
//! Every runtime item is named by its absolute path (`::chainrule::rules::…`)
//! and every generated local has a mixed-site span, so the code neither
//! depends on the user's imports nor collides with the user's names.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;

use crate::attr::Options;
use crate::check::Activity;
use crate::ir::{
    BinaryOp, Block, CallArg, Function, IfStmt, LoopStmt, Op, Operand, ParamKind, Shape, Stmt, Var, stored_buffers,
};
use crate::reverse::{AdjStmt, Adjoint, AdjointLoop, EagerLoop, Target, all_reads, defined_in};

mod forward;

pub use forward::{ForwardParts, SecondOrder};

/// Where the function is defined, which decides how the generated functions
/// name each other.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// A free function: its siblings are called by name, `f_vjp(…)`.
    Module,
    /// An associated function of an inherent `impl` block: its siblings are
    /// associated functions too, called as `Self::f_vjp(…)`.
    Impl,
}

pub fn emit(
    scope: Scope,
    item: &syn::ItemFn,
    options: &Options,
    function: &Function,
    activity: &Activity,
    adjoint: &Adjoint,
    forward: Option<ForwardParts>,
) -> TokenStream {
    let emitter = Emitter::new(scope, item, function, activity, adjoint);
    let pullback = emitter.pullback_fn();
    // A function writing through `&mut` has only its split form: its results
    // and their adjoints pass through the references.
    let plain = !function.params.iter().any(|param| param.kind.is_inout());
    let vjp = plain.then(|| emitter.vjp_fn());
    let grad = (plain && function.output == Shape::Scalar).then(|| emitter.grad_fn());
    let jacobian = options
        .jacobian
        .filter(|_| plain)
        .map(|_| emitter.jacobian_fn(options.denominator_layout));
    let forward_mode = forward.map(|parts| {
        let tangent_emitter = Emitter::new(scope, item, &parts.tangent.function, parts.activity, adjoint);
        let pushforward = tangent_emitter.pushforward_fn(parts.tangent);
        let jvp = tangent_emitter.jvp_fn(parts.tangent);
        let second_order = parts.second_order.map(|second| {
            let pieces = tangent_emitter.second_order_fns(parts.tangent, &second);
            // A function returning a vector or matrix has no Hessian of its
            // own; its pieces serve callers' Hessians.
            let hessian = (function.output == Shape::Scalar).then(|| {
                let hvp = tangent_emitter.hvp_fn(parts.tangent);
                let hessian = tangent_emitter.hessian_fn(parts.tangent);
                quote!(#hvp #hessian)
            });
            quote!(#pieces #hessian)
        });
        quote!(#pushforward #jvp #second_order)
    });
    // An `impl` block holds no `const _` items: there the checks go in `f_pullback`'s body.
    let constant_checks = (scope == Scope::Module).then(|| constant_checks(function));
    quote! {
        #item
        #pullback
        #vjp
        #grad
        #jacobian
        #forward_mode
        #constant_checks
    }
}

/// For each parameter taken as a constant whose type is a single name chainrule
/// does not know (`x: Real`, `v: &V`), a `const` assertion that fails to
/// compile if that name is `f64` or a faer type of `f64` under another name
/// (`type Real = f64;`), which would otherwise silently get no derivative.
/// `Self` is left out: it names the type of an inherent `impl`, which is the
/// user's own, and a `const` item cannot name it.
fn constant_checks(function: &Function) -> TokenStream {
    function
        .params
        .iter()
        .filter(|param| matches!(param.kind, ParamKind::Constant { .. }))
        .filter_map(|param| {
            let named = match &param.ty {
                syn::Type::Reference(reference) => &*reference.elem,
                ty => ty,
            };
            let syn::Type::Path(path) = named else {
                return None;
            };
            let name = path.path.get_ident()?;
            if crate::signature::is_primitive(name) || name == "Self" {
                return None;
            }
            let message = format!(
                "#[differentiate]: parameter `{}` has type `{name}`, which names a differentiable type \
                 (`f64` or a faer `Col`/`Row`/`Mat` of `f64`); chainrule reads types as written and would take \
                 it as a constant: write the type itself in the signature",
                param.ident
            );
            Some(quote_spanned! {name.span()=>
                const _: () = {
                    #[allow(unused_imports)]
                    use ::chainrule::rules::constants::NotDifferentiable as _;
                    ::core::assert!(!::chainrule::rules::constants::Constant::<#name>::DIFFERENTIABLE, #message);
                };
            })
        })
        .collect()
}

/// The functions generated for `#[differentiate(rule = derivative)]`: the
/// split form calls `f` forward and the user's `derivative(args.., seed)`
/// backward; `_vjp`, `_grad` and `_jacobian` are built on it as usual.
pub fn emit_with_rule(
    scope: Scope,
    item: &syn::ItemFn,
    options: &Options,
    function: &Function,
    rule: &syn::ExprPath,
) -> TokenStream {
    let activity = Activity::of_params(function);
    let adjoint = Adjoint::default();
    let emitter = Emitter::new(scope, item, function, &activity, &adjoint);
    let pullback = emitter.rule_pullback_fn(rule);
    let vjp = emitter.vjp_fn();
    let grad = (function.output == Shape::Scalar).then(|| emitter.grad_fn());
    let jacobian = options
        .jacobian
        .map(|_| emitter.jacobian_fn(options.denominator_layout));
    let forward = options.forward.map(|_| emitter.rule_forward_fns());
    quote! {
        #item
        #pullback
        #vjp
        #grad
        #jacobian
        #forward
    }
}

/// The differentiated parameters `params` as one flat list of numbers (see
/// `chainrule::rules::flat`): `let mut total = 0; let offset_k = total;
/// total += flat_len(&param_k); …`. Returns each parameter's offset and
/// those statements.
fn flat_layout(params: &[&Ident], total: &Ident) -> (Vec<Ident>, TokenStream) {
    let offsets: Vec<Ident> = (0..params.len()).map(|k| mixed(&format!("offset_{k}"))).collect();
    let steps: TokenStream = params
        .iter()
        .zip(&offsets)
        .map(|(param, offset)| {
            quote! {
                let #offset = #total;
                #total += ::chainrule::rules::flat_len(&#param);
            }
        })
        .collect();
    (offsets, quote!(let mut #total = 0_usize; #steps))
}

fn mixed(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

struct Emitter<'a> {
    scope: Scope,
    item: &'a syn::ItemFn,
    function: &'a Function,
    activity: &'a Activity,
    adjoint: &'a Adjoint,
    /// Buffers written element by element, declared `let mut`.
    stored: HashSet<Var>,
    /// Each `let`'s operation, for values the adjoint sweep recomputes.
    definitions: HashMap<Var, (&'a Op, Span)>,
    /// The element reads the adjoint takes from a loop's copies of their
    /// buffer: the loop's tape and the buffer.
    snapshot_reads: HashMap<Var, (Var, Var)>,
}

/// Every `let` of the body with its operation and the start of its origin.
fn let_definitions<'a>(block: &'a Block, out: &mut HashMap<Var, (&'a Op, Span)>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, origin } => {
                out.insert(*var, (op, origin.start));
            }
            Stmt::If(stmt) => {
                let_definitions(&stmt.then_block, out);
                let_definitions(&stmt.else_block, out);
            }
            Stmt::Loop(stmt) => let_definitions(&stmt.body, out),
            Stmt::Store { .. } => {}
        }
    }
}

/// Every loop of a block, nested ones included.
fn loops_in<'a>(block: &'a Block, out: &mut Vec<&'a LoopStmt>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::If(stmt) => {
                loops_in(&stmt.then_block, out);
                loops_in(&stmt.else_block, out);
            }
            Stmt::Loop(stmt) => {
                out.push(stmt);
                loops_in(&stmt.body, out);
            }
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}

impl<'a> Emitter<'a> {
    fn new(
        scope: Scope,
        item: &'a syn::ItemFn,
        function: &'a Function,
        activity: &'a Activity,
        adjoint: &'a Adjoint,
    ) -> Self {
        let mut stored = HashSet::new();
        stored_buffers(&function.body, &mut stored);
        let mut definitions = HashMap::new();
        let_definitions(&function.body, &mut definitions);
        let snapshot_reads = adjoint
            .snapshots
            .iter()
            .flat_map(|(tape, snapshots)| {
                snapshots
                    .iter()
                    .flat_map(move |snapshot| snapshot.reads.iter().map(move |read| (*read, (*tape, snapshot.buffer))))
            })
            .collect();
        Emitter {
            scope,
            item,
            function,
            activity,
            adjoint,
            stored,
            definitions,
            snapshot_reads,
        }
    }
}

impl Emitter<'_> {
    fn ident(&self, var: Var) -> &Ident {
        self.function.ident(var)
    }

    fn adj(&self, var: Var) -> &Ident {
        self.function.adjoint(var)
    }

    /// The lint attributes of a generated function: the user's (`#[allow(..)]`,
    /// `#[expect(..)]`, …), then what generated code allows. It mirrors the
    /// user's signature (names, argument counts), need not use every
    /// parameter or `mut`, compares floats exactly at kinks, binds the `()`
    /// of an `assert!` (or the `!` of a `panic!`) like any value, and copies
    /// the value of a `dbg!` with `clone`.
    fn lint_attributes(&self) -> TokenStream {
        let user = self.item.attrs.iter().filter(|attr| {
            ["allow", "warn", "deny", "expect"]
                .iter()
                .any(|name| attr.path().is_ident(name))
        });
        quote! {
            #(#user)*
            #[allow(
                dead_code,
                non_snake_case,
                unused_variables,
                unused_mut,
                unreachable_code,
                clippy::too_many_arguments,
                clippy::type_complexity,
                clippy::float_cmp,
                clippy::neg_cmp_op_on_partial_ord,
                clippy::let_unit_value,
                clippy::diverging_sub_expression,
                clippy::clone_on_copy
            )]
        }
    }

    /// The identifier of the parameter whose body variable is `var`.
    fn param_ident(&self, var: Var) -> &Ident {
        self.function
            .params
            .iter()
            .find(|param| param.var == var)
            .map_or_else(|| self.ident(var), |param| &param.ident)
    }

    /// The gradient of `var` that the eager loop with this tape summed.
    fn eager_sum(&self, tape: Var, var: Var) -> Ident {
        mixed(&format!("{}_of_{}", self.adj(var), self.ident(tape)))
    }

    /// The copies of `buffer` that the loop with this tape takes.
    fn snapshots(&self, tape: Var, buffer: Var) -> Ident {
        mixed(&format!("snapshots_of_{}_in_{}", self.ident(buffer), self.ident(tape)))
    }

    /// One iteration's copy of `buffer`, in the adjoint of the loop with this tape.
    fn snapshot_view(&self, tape: Var, buffer: Var) -> Ident {
        mixed(&format!("{}_at_end_of_{}", self.ident(buffer), self.ident(tape)))
    }

    /// The name a generated function is defined with: `f_suffix`.
    fn generated_name(&self, suffix: &str) -> Ident {
        format_ident!("{}_{}", self.item.sig.ident, suffix)
    }

    /// A generated function as its siblings call it: `f_suffix`, or
    /// `Self::f_suffix` in an `impl` block.
    fn sibling(&self, suffix: &str) -> TokenStream {
        self.in_scope(&self.generated_name(suffix))
    }

    /// The user's function as the generated ones call it: `f` or `Self::f`.
    fn primal(&self) -> TokenStream {
        self.in_scope(&self.item.sig.ident)
    }

    /// The target of a doc link to the user's function: `f` or `Self::f`.
    fn doc_target(&self) -> String {
        let name = &self.item.sig.ident;
        match self.scope {
            Scope::Module => name.to_string(),
            Scope::Impl => format!("Self::{name}"),
        }
    }

    fn in_scope(&self, name: &Ident) -> TokenStream {
        match self.scope {
            Scope::Module => quote!(#name),
            Scope::Impl => quote!(Self::#name),
        }
    }

    fn operand(&self, operand: &Operand) -> TokenStream {
        match operand {
            Operand::Var(var) => self.ident(*var).to_token_stream(),
            Operand::Transposed(var) => {
                let ident = self.ident(*var);
                quote!(#ident.transpose())
            }
            Operand::Const(expr @ (syn::Expr::Lit(_) | syn::Expr::Path(_))) => expr.to_token_stream(),
            Operand::Const(expr) => quote!((#expr)),
        }
    }

    fn target(&self, target: Target) -> TokenStream {
        let adj = self.adj(target.var);
        if target.transposed {
            quote!(&mut #adj.transpose_mut())
        } else {
            quote!(&mut #adj)
        }
    }

    fn is_copyable(&self, operand: &Operand) -> bool {
        match operand {
            Operand::Var(var) => self.activity.is_copyable(*var),
            Operand::Transposed(_) | Operand::Const(_) => true,
        }
    }

    /// A value passed on by value: as it is when that copies it, else a clone
    /// (`keep`), so the forward sweep never moves what the adjoint reads.
    fn by_value(&self, operand: &Operand) -> TokenStream {
        let tokens = self.operand(operand);
        if self.is_copyable(operand) {
            tokens
        } else {
            quote!(::chainrule::rules::keep(&#tokens))
        }
    }

    fn call_arg(&self, arg: &CallArg) -> TokenStream {
        if arg.tangent_slot {
            let plain = self.call_arg(&CallArg {
                tangent_slot: false,
                ..arg.clone()
            });
            return quote!(::core::option::Option::Some(#plain));
        }
        if arg.view {
            let tokens = self.operand(&arg.operand);
            quote!(#tokens.as_ref())
        } else if arg.by_ref {
            let tokens = self.operand(&arg.operand);
            quote!(&#tokens)
        } else {
            self.by_value(&arg.operand)
        }
    }

    // ----- signatures -------------------------------------------------------

    /// The parameters as the generated functions declare them: the user's
    /// types, without `mut` (the generated code never reassigns them).
    fn params(&self) -> Vec<TokenStream> {
        self.function
            .params
            .iter()
            .map(|param| {
                let ident = &param.ident;
                let ty = &param.ty;
                quote!(#ident: #ty)
            })
            .collect()
    }

    fn param_types(&self) -> Vec<&syn::Type> {
        self.function.params.iter().map(|param| &param.ty).collect()
    }

    /// The gradient type of each parameter: its owned shape if differentiated,
    /// else `()`.
    fn gradient_types(&self) -> Vec<TokenStream> {
        self.function
            .params
            .iter()
            .map(
                |param| match (param.wrt && !param.kind.is_inout(), param.kind.shape()) {
                    (true, Some(shape)) => shape.owned_type(&param.ty),
                    _ => quote!(()),
                },
            )
            .collect()
    }

    fn wrt_gradient_types(&self) -> Vec<TokenStream> {
        self.function
            .params
            .iter()
            .filter(|param| param.wrt)
            .filter_map(|param| Some(param.kind.shape()?.owned_type(&param.ty)))
            .collect()
    }

    /// The arguments passed to `f_pullback` from a generated function whose
    /// parameters are `f`'s: an owned vector or matrix is cloned when it is
    /// also passed to the pullback (`again`), or always (`clone_owned`).
    fn forwarded_args(&self, clone_owned: bool) -> Vec<TokenStream> {
        self.function
            .params
            .iter()
            .map(|param| {
                let ident = &param.ident;
                if clone_owned && !param.kind.is_copyable() {
                    quote!(::chainrule::rules::keep(&#ident))
                } else {
                    quote!(#ident)
                }
            })
            .collect()
    }

    /// The type of the function's value (as written, minus references).
    fn output_type(&self) -> TokenStream {
        match &self.item.sig.output {
            syn::ReturnType::Type(_, ty) => self.function.output.owned_type(ty),
            syn::ReturnType::Default => quote!(()),
        }
    }

    /// How a caller of `f_pullback` binds the gradients its pullback returns:
    /// a pattern per parameter (`()` for those not differentiated) and the
    /// names of the differentiated ones, in order.
    fn gradient_bindings(&self) -> (Vec<TokenStream>, Vec<Ident>) {
        let mut patterns = Vec::new();
        let mut names = Vec::new();
        for param in &self.function.params {
            if param.wrt {
                let grad = mixed(&format!("grad_{}", param.var.0));
                patterns.push(grad.to_token_stream());
                names.push(grad);
            } else {
                patterns.push(quote!(()));
            }
        }
        (patterns, names)
    }

    fn lifetimes(&self) -> Vec<&syn::Lifetime> {
        self.item.sig.generics.lifetimes().map(|def| &def.lifetime).collect()
    }

    fn wrt_names(&self) -> String {
        let names: Vec<String> = self
            .function
            .params
            .iter()
            .filter(|param| param.wrt)
            .map(|param| format!("∂f/∂{}", param.ident))
            .collect();
        names.join(", ")
    }

    fn pullback_fn(&self) -> TokenStream {
        let primal = self.primal();
        let checks = (self.scope == Scope::Impl).then(|| constant_checks(self.function));
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let pullback_name = self.generated_name("pullback");
        let generics = &self.item.sig.generics;
        let lifetimes = self.lifetimes();
        let params = self.params();
        let param_types = self.param_types();
        let gradient_types = self.gradient_types();
        let output = self.output_type();
        let derefs = self
            .function
            .params
            .iter()
            .filter(|param| matches!(param.kind, ParamKind::ScalarRef | ParamKind::ScalarInOut))
            .map(|param| {
                let body_var = self.ident(param.var);
                let ident = &param.ident;
                quote!(let #body_var: f64 = *#ident;)
            });
        let tapes = self.tape_declarations();
        let forward = self.forward_block(&self.function.body, true);
        let reads = all_reads(&self.adjoint.body);
        let result = match &self.function.result {
            Operand::Var(var) if reads.contains(var) => self.by_value(&self.function.result),
            result => self.operand(result),
        };
        let closure_params = self.function.params.iter().map(|param| {
            if param.kind == ParamKind::SliceInOut {
                // The caller's adjoint buffer, passed where the buffer was.
                let adj = self.adj(param.var);
                quote!(mut #adj)
            } else if param.kind.is_inout() || (reads.contains(&param.var) && param.kind != ParamKind::ScalarRef) {
                param.ident.to_token_stream()
            } else {
                quote!(_)
            }
        });
        let adjoint = self.adjoint_stmts(&self.adjoint.body);
        let write_backs = self.function.inout.iter().map(|(param, value)| {
            let ident = self.param_ident(*param);
            let value = self.operand(value);
            quote!(*#ident = #value;)
        });
        let gradients = self.function.params.iter().map(|param| {
            if param.wrt && !param.kind.is_inout() {
                self.adj(param.var).to_token_stream()
            } else {
                quote!(())
            }
        });
        // A seed whose size is not in its type is checked against the value's.
        let sized_by_value = matches!(
            self.function.output,
            Shape::Column | Shape::Row | Shape::Matrix | Shape::Slice
        );
        let seed = mixed(if self.adjoint.uses_seed || sized_by_value {
            "seed"
        } else {
            "_seed"
        });
        let target = self.doc_target();
        let doc = format!(
            " Split reverse mode of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value and a pullback. \
             The pullback takes a seed `s` shaped like the value, and the arguments again, and returns `s` times \
             the derivative with respect to each parameter ({}), with `()` for parameters that are not \
             differentiated. It keeps only intermediate values: calling it does not run `{name}` again.",
            self.wrt_names()
        );
        let value_shape = mixed("value_shape");
        let (keep_shape, check_seed) = if sized_by_value {
            let name = name.to_string();
            let value = self.operand(&self.function.result);
            (
                quote!(let #value_shape = ::chainrule::rules::shape_of(&#value);),
                quote!(::chainrule::rules::check_seed(#seed, #value_shape, #name);),
            )
        } else {
            (quote!(), quote!())
        };
        let closure = quote! {
            move |#seed: &#output, (#(#closure_params,)*): (#(#param_types,)*)| {
                #check_seed
                #adjoint
                (#(#gradients,)*)
            }
        };
        // A recursive function's pullback holds its callees' pullbacks, of its
        // own type: that type must be named, so it is boxed.
        let (pullback_type, closure) = if self.function.recursive {
            (
                quote!(::std::boxed::Box<dyn ::core::ops::FnOnce(&#output, (#(#param_types,)*)) -> (#(#gradient_types,)*)>),
                quote!(::std::boxed::Box::new(#closure)),
            )
        } else {
            (
                quote!(impl ::core::ops::FnOnce(&#output, (#(#param_types,)*)) -> (#(#gradient_types,)*) + use<#(#lifetimes),*>),
                closure,
            )
        };
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #pullback_name #generics (#(#params),*) -> (#output, #pullback_type) {
                // `#name` itself is not called: its computation is written out below.
                let _ = #primal;
                #checks
                                #(#derefs)*
                                #(#tapes)*
                #forward
                #(#write_backs)*
                #keep_shape
                (#result, #closure)
            }
        }
    }

    /// `f_pullback` from a user's rule: the value is `f(args)`; the pullback
    /// calls `rule(args.., seed)`, whose result type is checked against the
    /// gradients' types at the rule's span.
    fn rule_pullback_fn(&self, rule: &syn::ExprPath) -> TokenStream {
        let primal = self.primal();
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let pullback_name = self.generated_name("pullback");
        let generics = &self.item.sig.generics;
        let lifetimes = self.lifetimes();
        let params = self.params();
        let param_types = self.param_types();
        let gradient_types = self.gradient_types();
        let output = self.output_type();
        let args = self.forwarded_args(true);
        let idents: Vec<&Ident> = self.function.params.iter().map(|param| &param.ident).collect();
        let seed = mixed("seed");
        let seed_arg = if self.function.output == Shape::Scalar {
            quote!(*#seed)
        } else {
            quote!(#seed)
        };
        let wrt_types = self.wrt_gradient_types();
        let wrt_grads: Vec<Ident> = self
            .function
            .params
            .iter()
            .filter(|param| param.wrt)
            .map(|param| mixed(&format!("grad_{}", param.var.0)))
            .collect();
        let (pattern, ty) = match (wrt_grads.as_slice(), wrt_types.as_slice()) {
            ([grad], [ty]) => (quote!(#grad), quote!(#ty)),
            (grads, types) => (quote!((#(#grads),*)), quote!((#(#types),*))),
        };
        let gradients = self.function.params.iter().map(|param| {
            if param.wrt {
                mixed(&format!("grad_{}", param.var.0)).to_token_stream()
            } else {
                quote!(())
            }
        });
        let rule_span = rule
            .path
            .segments
            .last()
            .map_or_else(Span::call_site, |last| last.ident.span());
        let call = quote_spanned!(rule_span=> let #pattern: #ty = #rule(#(#idents,)* #seed_arg););
        let target = self.doc_target();
        let doc = format!(
            " Split reverse mode of [`{name}`]({target}), generated by chainrule from the rule [`{}`]: returns `{name}`'s \
             value and a pullback that takes the seed and the arguments again and returns the derivative with \
             respect to each parameter ({}) times the seed, `()` for the others.",
            quote!(#rule),
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #pullback_name #generics (#(#params),*)
                -> (#output, impl ::core::ops::FnOnce(&#output, (#(#param_types,)*)) -> (#(#gradient_types,)*)
                    + use<#(#lifetimes),*>)
            {
                (#primal(#(#args),*), move |#seed: &#output, (#(#idents,)*): (#(#param_types,)*)| {
                    #call
                    (#(#gradients,)*)
                })
            }
        }
    }

    fn vjp_fn(&self) -> TokenStream {
        let pullback_call = self.sibling("pullback");
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let vjp_name = self.generated_name("vjp");
        let generics = &self.item.sig.generics;
        let params = self.params();
        let forward_args = self.forwarded_args(true);
        let args = self.forwarded_args(false);
        let value = mixed("value");
        let pullback = mixed("pullback");
        let seed = mixed("seed");
        let output = self.output_type();
        let (seed_type, seed_ref) = match self.function.output {
            Shape::Scalar => (quote!(f64), quote!(&#seed)),
            // A `Vec` result takes its seed as a slice (a `&Vec<f64>` coerces to
            // it); the pullback keeps it as the result's own type.
            Shape::Slice => (quote!(&[f64]), quote!(&#seed.to_vec())),
            _ => (quote!(&#output), quote!(#seed)),
        };
        let (patterns, outputs) = self.gradient_bindings();
        let output_types = self.wrt_gradient_types();
        let target = self.doc_target();
        let doc = format!(
            " Vector–Jacobian product of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value, then \
             `seed` times the derivative with respect to each differentiated parameter ({}), each shaped like \
             its parameter.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #vjp_name #generics (#(#params,)* #seed: #seed_type) -> (#output, #(#output_types),*) {
                let (#value, #pullback) = #pullback_call(#(#forward_args),*);
                let (#(#patterns,)*) = #pullback(#seed_ref, (#(#args,)*));
                (#value, #(#outputs),*)
            }
        }
    }

    fn grad_fn(&self) -> TokenStream {
        let vjp_call = self.sibling("vjp");
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let grad_name = self.generated_name("grad");
        let generics = &self.item.sig.generics;
        let params = self.params();
        let args = self.forwarded_args(false);
        let output_types = self.wrt_gradient_types();
        let target = self.doc_target();
        let doc = format!(
            " Gradient of [`{name}`]({target}), generated by chainrule: returns `({name}, {})`, each derivative shaped \
             like its parameter.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #grad_name #generics (#(#params),*) -> (f64, #(#output_types),*) {
                #vjp_call(#(#args,)* 1.0)
            }
        }
    }

    /// `f_jacobian`: one pullback per number of the value, each seeded with
    /// the unit value `eᵢ` (`rules::unit_like`), gives the Jacobian row by
    /// row; each row holds the differentiated parameters' gradients flattened
    /// in order, a matrix column by column (see `chainrule::rules::flat`).
    fn jacobian_fn(&self, denominator: bool) -> TokenStream {
        let pullback_call = self.sibling("pullback");
        let lints = self.lint_attributes();
        let vis = &self.item.vis;
        let name = &self.item.sig.ident;
        let jacobian_name = self.generated_name("jacobian");
        let generics = &self.item.sig.generics;
        let params = self.params();
        let args = self.forwarded_args(true);
        let output = self.output_type();
        let (value, pullback, jacobian, row, seed, width) = (
            mixed("value"),
            mixed("pullback"),
            mixed("jacobian"),
            mixed("row"),
            mixed("seed"),
            mixed("width"),
        );
        let wrt: Vec<&Ident> = self
            .function
            .params
            .iter()
            .filter(|param| param.wrt)
            .map(|param| &param.ident)
            .collect();
        let (offsets, layout) = flat_layout(&wrt, &width);
        let (patterns, grads) = self.gradient_bindings();
        let writes = grads
            .iter()
            .zip(&offsets)
            .map(|(grad, offset)| quote!(::chainrule::rules::set_jacobian_row(&mut #jacobian, #row, #offset, &#grad);));
        let (layout_doc, result) = if denominator {
            (
                "denominator layout: row j holds the derivatives of every output with respect to input j, an n×m matrix",
                quote!(#jacobian.transpose().to_owned()),
            )
        } else {
            (
                "numerator layout: row i holds the gradient of output i, an m×n matrix",
                quote!(#jacobian),
            )
        };
        let target = self.doc_target();
        let doc = format!(
            " Jacobian of [`{name}`]({target}), generated by chainrule: returns `{name}`'s value and the matrix of \
             derivatives of each output with respect to each input ({}), in {layout_doc}. Vectors and \
             matrices count as their numbers in order, a matrix column by column; the inputs are the \
             differentiated parameters one after the other. Computed with one pullback per output.",
            self.wrt_names()
        );
        quote! {
            #[doc = #doc]
            #lints
            #vis fn #jacobian_name #generics (#(#params),*) -> (#output, ::chainrule::faer::Mat<f64>) {
                let (#value, _) = #pullback_call(#(#args),*);
                #layout
                let mut #jacobian = ::chainrule::faer::Mat::<f64>::zeros(::chainrule::rules::flat_len(&#value), #width);
                for #row in 0..::chainrule::rules::flat_len(&#value) {
                    let (_, #pullback) = #pullback_call(#(#args),*);
                    let #seed = ::chainrule::rules::unit_like(&#value, #row);
                    let (#(#patterns,)*) = #pullback(&#seed, (#(#args,)*));
                    #(#writes)*
                }
                (#value, #result)
            }
        }
    }

    // ----- forward sweep ----------------------------------------------------

    /// The forward sweep of `block`. Without `taping` (the primal sweep of a
    /// loop the adjoint replays, which makes no calls) it keeps no records:
    /// no tape pushes, no branch records.
    fn forward_block(&self, block: &Block, taping: bool) -> TokenStream {
        let stmts = block.stmts.iter().map(|stmt| match stmt {
            Stmt::Let { var, op, origin } => self.forward_let(*var, op, origin.start),
            Stmt::If(stmt) => self.forward_if(stmt, taping),
            Stmt::Loop(stmt) => self.forward_loop(stmt, taping),
            Stmt::Store {
                buffer, index, value, ..
            } => {
                let buffer = self.ident(*buffer);
                let index = self.operand(index);
                let value = self.operand(value);
                quote!(#buffer[#index] = #value;)
            }
        });
        quote!(#(#stmts)*)
    }

    fn forward_let(&self, var: Var, op: &Op, span: Span) -> TokenStream {
        let ident = self.ident(var);
        let active = self.activity.is_active(var) && self.activity.op_is_active(op);
        let value = match op {
            Op::Binary(binary, lhs, rhs) => {
                let plain = !active && self.is_copyable(lhs) && self.is_copyable(rhs);
                let (lhs, rhs) = (self.operand(lhs), self.operand(rhs));
                if plain {
                    let operator = match binary {
                        BinaryOp::Add => quote!(+),
                        BinaryOp::Sub => quote!(-),
                        BinaryOp::Mul => quote!(*),
                        BinaryOp::Div => quote!(/),
                        BinaryOp::Rem => quote!(%),
                    };
                    quote!(#lhs #operator #rhs)
                } else {
                    let kernel = match binary {
                        BinaryOp::Add => "add",
                        BinaryOp::Sub => "sub",
                        BinaryOp::Mul => "mul",
                        BinaryOp::Div => "div",
                        BinaryOp::Rem => "rem",
                    };
                    let kernel = Ident::new(kernel, span);
                    located_at(quote!(::chainrule::rules::#kernel(&#lhs, &#rhs)), span)
                }
            }
            Op::Neg(operand) => {
                let plain = !active && self.is_copyable(operand);
                let operand = self.operand(operand);
                if plain {
                    quote!(-#operand)
                } else {
                    quote!(::chainrule::rules::neg(&#operand))
                }
            }
            Op::Cast(operand, ty) => {
                let operand = self.operand(operand);
                quote!(#operand as #ty)
            }
            Op::Method {
                method,
                receiver,
                args,
                path,
            } => {
                // A literal receiver (`2.5` in the tangent `2.5.ln()` of
                // `x.log(2.5)`) has no type of its own: name the method on `f64`.
                let literal_receiver = matches!(receiver, Operand::Const(_))
                    && crate::rules::METHODS.iter().any(|rule| *method == rule.name);
                let receiver = self.operand(receiver);
                let args = args.iter().map(|arg| self.operand(arg));
                match path {
                    Some(path) => quote!(#path(#receiver, #(#args),*)),
                    None if literal_receiver => quote!(::core::primitive::f64::#method(#receiver, #(#args),*)),
                    None => quote!(#receiver.#method(#(#args),*)),
                }
            }
            Op::Index { base, index } => {
                let base = self.operand(base);
                let index = self.operand(index);
                quote!(#base[#index])
            }
            Op::Array { elements, vec } => {
                let elements = elements.iter().map(|element| self.by_value(element));
                if *vec {
                    quote!(::std::vec![#(#elements),*])
                } else {
                    quote!([#(#elements),*])
                }
            }
            Op::Fill { value, len, vec } => {
                let value = self.by_value(value);
                let len = self.operand(len);
                if *vec {
                    quote!(::std::vec![#value; #len])
                } else {
                    quote!([#value; #len])
                }
            }
            Op::Call {
                func,
                args,
                pullback,
                discarded,
                ..
            } => {
                // A variable passed by `&mut` is copied into the variable of its
                // new value (cloned if a move would take it from the adjoint).
                let copies = args.iter().filter_map(|arg| {
                    let mutated = self.ident(arg.mutated?);
                    let old = self.by_value(&arg.operand);
                    Some(quote!(let mut #mutated = #old;))
                });
                let copies: Vec<TokenStream> = copies.collect();
                let arg_tokens = args.iter().map(|arg| match (arg.mutated, arg.buffer) {
                    (Some(mutated), _) => {
                        let mutated = self.ident(mutated);
                        quote!(&mut #mutated)
                    }
                    (None, true) => {
                        let buffer = self.operand(&arg.operand);
                        self.lend(arg, buffer)
                    }
                    (None, false) => self.call_arg(arg),
                });
                let value = if *discarded { quote!(_) } else { ident.to_token_stream() };
                if active {
                    let pullback_fn = pullback_path(func);
                    let pullback = self.ident(*pullback);
                    return quote_spanned!(span=> #(#copies)* let (#value, #pullback) = #pullback_fn(#(#arg_tokens),*););
                }
                let mutability = self.stored.contains(&var).then(|| quote!(mut));
                return quote!(#(#copies)* let #mutability #value = #func(#(#arg_tokens),*););
            }
            Op::Opaque { expr, .. } => expr.to_token_stream(),
        };
        let mutability = self.stored.contains(&var).then(|| quote!(mut));
        quote!(let #mutability #ident = #value;)
    }

    /// `&mut buffer` for a buffer lent to a call, or `&mut *buffer` when it is
    /// a `&mut [f64]` parameter (or its adjoint), which is reborrowed.
    fn lend(&self, arg: &CallArg, buffer: TokenStream) -> TokenStream {
        let borrowed = self
            .function
            .params
            .iter()
            .any(|param| param.kind == ParamKind::SliceInOut && arg.operand.var() == Some(param.var));
        if borrowed {
            quote!(&mut *#buffer)
        } else {
            quote!(&mut #buffer)
        }
    }

    /// `let (outputs.., record) = if cond { .. } else { .. };` where each branch
    /// ends with the values of the `Phi`s and, when the adjoint needs it, the
    /// record `Branch::Then((residuals..))` / `Branch::Else(..)`.
    fn forward_if(&self, stmt: &IfStmt, taping: bool) -> TokenStream {
        let cond = self.operand(&stmt.cond);
        let then_stmts = self.forward_block(&stmt.then_block, taping);
        let else_stmts = self.forward_block(&stmt.else_block, taping);
        // A buffer the branches choose between may be written after them.
        let mut targets: Vec<TokenStream> = stmt
            .outputs
            .iter()
            .map(|phi| {
                let ident = self.ident(phi.var);
                let mutability = self.stored.contains(&phi.var).then(|| quote!(mut));
                quote!(#mutability #ident)
            })
            .collect();
        let residuals = self.adjoint.residuals.get(&stmt.record).filter(|_| taping);
        if residuals.is_some() {
            targets.push(self.ident(stmt.record).to_token_stream());
        }
        if targets.is_empty() {
            return quote! {
                if #cond { #then_stmts } else { #else_stmts }
            };
        }
        let then_values = stmt.outputs.iter().map(|phi| phi.then_value.clone()).collect();
        let else_values = stmt.outputs.iter().map(|phi| phi.else_value.clone()).collect();
        let then_record = residuals.map(|residuals| ("Then", residuals.then_vars.as_slice()));
        let else_record = residuals.map(|residuals| ("Else", residuals.else_vars.as_slice()));
        let then_tail = self.branch_tail(&stmt.then_block, then_values, then_record);
        let else_tail = self.branch_tail(&stmt.else_block, else_values, else_record);
        let pattern = match targets.as_slice() {
            [single] => quote!(#single),
            targets => quote!((#(#targets),*)),
        };
        quote! {
            let #pattern = if #cond { #then_stmts #then_tail } else { #else_stmts #else_tail };
        }
    }

    /// `for index in start..end { body; tape.push(residuals); head = next; }`,
    /// with each carried variable a `let mut` head before the loop, and its
    /// value after the loop bound to its exit variable. A loop with `break`
    /// also ends with `if !running { break; }`.
    fn forward_loop(&self, stmt: &LoopStmt, taping: bool) -> TokenStream {
        let index = self.ident(stmt.index);
        let start = self.operand(&stmt.start);
        let end = stmt.end.as_ref().map(|end| self.operand(end));
        let range = range_tokens(&start, end.as_ref(), stmt.inclusive, stmt.reverse);
        let heads = stmt.carried.iter().map(|carried| {
            let head = self.ident(carried.head);
            let init = self.by_value(&carried.init);
            quote!(let mut #head = #init;)
        });
        // A replayed loop's body keeps its records only when it is replayed.
        let body = self.forward_block(&stmt.body, taping && !self.adjoint.replayed.contains(&stmt.tape));
        let local = defined_in(&stmt.body);
        let nexts: Vec<Option<Var>> = stmt.carried.iter().map(|carried| carried.next.var()).collect();
        let tape = self.ident(stmt.tape);
        let trips = self.ident(stmt.trips);
        let (tape_decl, tape_push) = match self.adjoint.tapes.get(&stmt.tape) {
            Some(residuals) if taping && self.uses_tape(stmt) => {
                let items = residuals.iter().map(|var| {
                    let ident = self.ident(*var);
                    if self.adjoint.shape_only.contains(var) {
                        return quote!(::chainrule::rules::shape_for_zero(&#ident));
                    }
                    // A head is moved onto the tape, as it takes its next value
                    // right after, unless that next value is another head
                    // (`(a, b) = (b, a)`), which must be left to read.
                    let is_head = stmt.carried.iter().any(|carried| carried.head == *var);
                    let moved = (local.contains(var) || is_head) && !nexts.contains(&Some(*var));
                    if moved || *var == stmt.index {
                        quote!(#ident)
                    } else {
                        self.by_value(&Operand::Var(*var))
                    }
                });
                let capacity_range = range_tokens(&start, end.as_ref(), stmt.inclusive, false);
                if stmt.exit_flag.is_some() {
                    // How long the tape was: the iterations that run are counted after.
                    (quote!(let #trips = #tape.len();), quote!(#tape.push((#(#items,)*));))
                } else {
                    // Room for every iteration, so that a push cannot grow the tape.
                    (
                        quote!(#tape.reserve(::core::iter::Iterator::size_hint(&#capacity_range).0);),
                        quote!(::chainrule::rules::push_reserved(&mut #tape, (#(#items,)*));),
                    )
                }
            }
            _ => (TokenStream::new(), TokenStream::new()),
        };
        // All heads take their next values at once, as a tuple: `(a, b) = (b, a)`
        // must swap, whatever the order of the names.
        let (advanced_heads, nexts): (Vec<&Ident>, Vec<TokenStream>) = stmt
            .carried
            .iter()
            .filter(|carried| carried.next.var() != Some(carried.head))
            .map(|carried| {
                let next = match &carried.next {
                    Operand::Var(var) if local.contains(var) => self.operand(&carried.next),
                    next => self.by_value(next),
                };
                (self.ident(carried.head), next)
            })
            .unzip();
        let advances = match advanced_heads.as_slice() {
            [] => TokenStream::new(),
            [head] => quote!(#head = #(#nexts)*;),
            heads => quote!((#(#heads),*) = (#(#nexts),*);),
        };
        let stop = stmt.exit_flag.map(|flag| {
            let flag = self.ident(flag);
            quote!(if !#flag { break; })
        });
        let exits = stmt.carried.iter().map(|carried| {
            let exit = self.ident(carried.exit);
            let head = self.ident(carried.head);
            let mutability = self.stored.contains(&carried.exit).then(|| quote!(mut));
            quote!(let #mutability #exit = #head;)
        });
        let snapshot_pushes = self
            .adjoint
            .snapshots
            .get(&stmt.tape)
            .filter(|_| taping)
            .into_iter()
            .flatten()
            .map(|snapshot| {
                let snapshots = self.snapshots(stmt.tape, snapshot.buffer);
                let buffer = self.ident(snapshot.buffer);
                quote!(#snapshots.push(&#buffer);)
            });
        let count_trips = (taping && stmt.exit_flag.is_some() && self.uses_tape(stmt))
            .then(|| quote!(let #trips = #tape.len() - #trips;));
        let (eager_start, eager_iteration, eager_end) = match self.adjoint.eager.get(&stmt.tape) {
            Some(eager) => self.eager_parts(stmt.tape, eager),
            None => Default::default(),
        };
        quote! {
            #eager_start
            #(#heads)*
            #tape_decl
            for #index in #range {
                #body
                                #eager_iteration
                                #tape_push
                                #(#snapshot_pushes)*
                                #advances
                #stop
            }
            #count_trips
            #(#exits)*
            #eager_end
        }
    }

    /// What an eager loop adds to its forward sweep (see `eager.rs`): zero
    /// adjoints of what it reads from outside, before it; each iteration's
    /// adjoint from the unit seed, after the iteration; and the summed
    /// gradients, moved after it to names of their own for the adjoint sweep.
    fn eager_parts(&self, tape: Var, eager: &EagerLoop) -> (TokenStream, TokenStream, TokenStream) {
        let zeros = eager.outside.iter().map(|var| {
            if self.activity.is_scalar(*var) {
                self.adjoint_stmt(&AdjStmt::ZeroScalar(*var))
            } else {
                // In the forward sweep, where the value itself is in scope.
                self.zero_adjoint(*var, false)
            }
        });
        let seed = self.adj(eager.seed);
        let iteration = self.adjoint_stmts(&eager.iteration);
        let sums = eager.exported.iter().map(|var| {
            let adj = self.adj(*var);
            let sum = self.eager_sum(tape, *var);
            quote!(let #sum = #adj;)
        });
        (
            quote!(#(#zeros)*),
            quote!(let #seed = 1.0_f64; #iteration),
            quote!(#(#sums)*),
        )
    }

    /// `let mut tape = Tape::new();` for every loop whose adjoint reads a
    /// tape, declared once at the top of the forward sweep. A tape of plain
    /// numbers (`f64`s and the loop's counter) is a `chainrule::rules::Tape`,
    /// which reuses its memory across calls; one holding other values, which
    /// may borrow, is a `Vec`.
    fn tape_declarations(&self) -> Vec<TokenStream> {
        let mut loops = Vec::new();
        loops_in(&self.function.body, &mut loops);
        let snapshots = loops.iter().flat_map(|stmt| {
            let taken = self.adjoint.snapshots.get(&stmt.tape).into_iter().flatten();
            taken.map(|snapshot| {
                let snapshots = self.snapshots(stmt.tape, snapshot.buffer);
                quote!(let mut #snapshots = ::chainrule::rules::Snapshots::new();)
            })
        });
        let snapshots: Vec<TokenStream> = snapshots.collect();
        loops
            .into_iter()
            .filter(|stmt| self.uses_tape(stmt))
            .map(|stmt| {
                let tape = self.ident(stmt.tape);
                let residuals = self.adjoint.tapes.get(&stmt.tape).map_or(&[][..], Vec::as_slice);
                let numbers = residuals.iter().all(|var| self.holds_numbers(*var, stmt.index));
                if numbers {
                    quote!(let mut #tape = ::chainrule::rules::Tape::new();)
                } else {
                    quote!(let mut #tape = ::std::vec::Vec::new();)
                }
            })
            .chain(snapshots)
            .collect()
    }

    /// Whether a residual of the loop counting with `index` is certainly a
    /// number (an `f64`, the counter) or a branch record holding only numbers:
    /// a type with no lifetime, as a `Tape` needs.
    fn holds_numbers(&self, var: Var, index: Var) -> bool {
        var == index
            || self.activity.is_number(var)
            || self.adjoint.shape_only.contains(&var)
            || self.adjoint.residuals.get(&var).is_some_and(|residuals| {
                residuals
                    .then_vars
                    .iter()
                    .chain(&residuals.else_vars)
                    .all(|residual| self.holds_numbers(*residual, index))
            })
    }

    fn uses_tape(&self, stmt: &LoopStmt) -> bool {
        self.adjoint
            .tapes
            .get(&stmt.tape)
            .is_some_and(|residuals| !residuals.is_empty() || stmt.exit_flag.is_some())
    }

    /// The value a branch ends with. A variable the branch defined is moved at
    /// its last occurrence; any other variable that is not `Copy` is cloned
    /// with `keep`, because the code after the `if` (or the adjoint) may still
    /// need it.
    fn branch_tail(&self, block: &Block, mut values: Vec<Operand>, record: Option<(&str, &[Var])>) -> TokenStream {
        let output_count = values.len();
        if let Some((_, residuals)) = record {
            values.extend(residuals.iter().map(|var| Operand::Var(*var)));
        }
        let local = defined_in(block);
        let rendered: Vec<TokenStream> = values
            .iter()
            .enumerate()
            .map(|(index, value)| match value {
                Operand::Var(var) => {
                    let used_later = values[index + 1..].iter().any(|later| later.var() == Some(*var));
                    if local.contains(var) && !used_later {
                        self.operand(value)
                    } else {
                        self.by_value(value)
                    }
                }
                _ => self.by_value(value),
            })
            .collect();
        let (outputs, residuals) = rendered.split_at(output_count);
        let mut items = outputs.to_vec();
        if let Some((variant, _)) = record {
            let variant = Ident::new(variant, Span::call_site());
            items.push(quote!(::chainrule::rules::Branch::#variant((#(#residuals,)*))));
        }
        match items.as_slice() {
            [single] => single.clone(),
            items => quote!((#(#items),*)),
        }
    }

    // ----- adjoint sweep ----------------------------------------------------

    fn adjoint_stmts(&self, body: &[AdjStmt]) -> TokenStream {
        let stmts = body.iter().map(|stmt| self.adjoint_stmt(stmt));
        quote!(#(#stmts)*)
    }

    /// `let adj_v = zero_like(&v)`, or `zero_shaped(&v)` where `v` names the
    /// shape the tape kept of it (`reverse::Adjoint::shape_only`).
    fn zero_adjoint(&self, var: Var, from_shape: bool) -> TokenStream {
        let adj = self.adj(var);
        let primal = self.ident(var);
        let mutability = self.adjoint.accumulated.contains(&var).then(|| quote!(mut));
        if from_shape {
            quote!(let #mutability #adj = ::chainrule::rules::zero_shaped(&#primal);)
        } else {
            quote!(let #mutability #adj = ::chainrule::rules::zero_like(&#primal);)
        }
    }

    fn adjoint_stmt(&self, stmt: &AdjStmt) -> TokenStream {
        match stmt {
            AdjStmt::Zero(var) => self.zero_adjoint(*var, self.adjoint.shape_only.contains(var)),
            AdjStmt::ZeroScalar(var) => {
                let adj = self.adj(*var);
                let mutability = self.adjoint.accumulated.contains(var).then(|| quote!(mut));
                // An intermediate adjoint starts at −0.0, the identity of
                // `+` (0.0 is not: 0.0 + −0.0 = 0.0), so the compiler can drop
                // the addition of the first contribution. A gradient returned
                // to the caller starts at 0.0, which prints as `0`.
                let is_param = self.function.params.iter().any(|param| param.var == *var);
                if is_param {
                    quote!(let #mutability #adj = 0.0_f64;)
                } else {
                    quote!(let #mutability #adj = -0.0_f64;)
                }
            }
            AdjStmt::Seed(var) => {
                let adj = self.adj(*var);
                let seed = mixed("seed");
                quote!(::chainrule::rules::accumulate(&mut #adj, #seed);)
            }
            AdjStmt::Kernel {
                kernel,
                target,
                out,
                reads,
                span,
            } => {
                let kernel = Ident::new(kernel, Span::call_site());
                let target = self.target(*target);
                let out = self.adj(*out);
                let reads = reads.iter().map(|read| self.operand(read));
                let call = quote!(::chainrule::rules::#kernel(#target, &#out #(, &#reads)*));
                let call = located_at(call, *span);
                quote!(#call;)
            }
            AdjStmt::Flow { target, from } => {
                let target = self.target(*target);
                let from = self.adj(*from);
                quote!(::chainrule::rules::accumulate(#target, &#from);)
            }
            AdjStmt::CallPullback {
                pullback,
                out,
                args,
                gradients,
                origin,
            } => {
                let pullback = self.ident(*pullback);
                let seed = match out {
                    Some(out) => {
                        let adj = self.adj(*out);
                        quote!(&#adj)
                    }
                    None => quote!(&::core::default::Default::default()),
                };
                // An argument passed by `&mut` gets its adjoint through the
                // reference, not in the gradient tuple.
                let by_reference = |arg: &CallArg| arg.mutated.is_some() || arg.buffer;
                let patterns = args.iter().zip(gradients).map(|((target, _, arg), grad)| match target {
                    Some(_) if !by_reference(arg) => grad.to_token_stream(),
                    _ => quote!(_),
                });
                let accumulations = args.iter().zip(gradients).filter_map(|((target, starts, arg), grad)| {
                    let target = (*target)?;
                    if arg.buffer {
                        return None;
                    }
                    if let Some(mutated) = arg.mutated {
                        // The pullback turned the new value's adjoint into the old one's.
                        let adj = self.adj(mutated);
                        let target = self.target(target);
                        return self
                            .activity
                            .is_active(mutated)
                            .then(|| quote_spanned!(origin.start=> ::chainrule::rules::accumulate(#target, &#adj);));
                    }
                    if *starts {
                        let adj = self.adj(target.var);
                        let mutability = self.adjoint.accumulated.contains(&target.var).then(|| quote!(mut));
                                                return Some(
                            quote_spanned!(origin.start=> let #mutability #adj = ::chainrule::rules::adjoint_from(#grad);),
                        );
                    }
                    let target = self.target(target);
                    Some(quote_spanned!(origin.start=> ::chainrule::rules::accumulate(#target, &#grad);))
                });
                let args = args
                    .iter()
                    .map(|(.., arg)| match (arg.mutated, arg.buffer, arg.operand.var()) {
                        (Some(mutated), ..) if self.activity.is_active(mutated) => {
                            let adj = self.adj(mutated);
                            quote!(&mut #adj)
                        }
                        (Some(_), ..) => quote!(&mut 0.0_f64),
                        // A buffer written in place gets its adjoint updated in place.
                        (None, true, Some(buffer)) => {
                            let adj = self.adj(buffer).to_token_stream();
                            self.lend(arg, adj)
                        }
                        _ => self.call_arg(arg),
                    });
                quote! {
                    let (#(#patterns,)*) = ::chainrule::rules::pull(#pullback, #seed, (#(#args,)*));
                    #(#accumulations)*
                }
            }
            AdjStmt::CountdownStart { head, exit } => {
                let head = self.ident(*head);
                let exit = self.ident(*exit);
                quote!(let mut #head = #exit;)
            }
            AdjStmt::CountdownStep { head, step, increments } => {
                let head = self.ident(*head);
                let step = self.operand(step);
                if *increments {
                    quote!(#head -= #step;)
                } else {
                    quote!(#head += #step;)
                }
            }
            AdjStmt::CountdownEnd { next, head } => {
                let next = self.ident(*next);
                let head = self.ident(*head);
                quote!(let #next = #head;)
            }
            AdjStmt::CountdownFrom { head, inner } => {
                let head = self.ident(*head);
                let inner = self.ident(*inner);
                quote!(#head = #inner;)
            }
            AdjStmt::SeedInOut { var, param } => {
                let adj = self.adj(*var);
                let param = self.param_ident(*param);
                quote!(::chainrule::rules::accumulate(&mut #adj, &*#param);)
            }
            AdjStmt::ReturnInOut { var, param } => {
                let adj = self.adj(*var);
                let param = self.param_ident(*param);
                quote!(*#param = #adj;)
            }
            AdjStmt::ZeroLikeAdjoint { var, like } => {
                let adj = self.adj(*var);
                let like = self.adj(*like);
                let mutability = self.adjoint.accumulated.contains(var).then(|| quote!(mut));
                quote!(let #mutability #adj = ::chainrule::rules::zero_like(&#like);)
            }
            AdjStmt::InitFrom { var, from, scalar } => {
                let adj = self.adj(*var);
                let from = self.adj(*from);
                let mutability = self.adjoint.accumulated.contains(var).then(|| quote!(mut));
                let value = if *scalar {
                    quote!(#from)
                } else {
                    quote!(::chainrule::rules::keep(&#from))
                };
                quote!(let #mutability #adj = #value;)
            }
            AdjStmt::InitSeed { var, scalar } => {
                let adj = self.adj(*var);
                let seed = mixed("seed");
                let mutability = self.adjoint.accumulated.contains(var).then(|| quote!(mut));
                let value = if *scalar {
                    quote!(*#seed)
                } else {
                    quote!(::chainrule::rules::keep(#seed))
                };
                quote!(let #mutability #adj = #value;)
            }
            AdjStmt::Carry { exit, head } => {
                let exit = self.adj(*exit);
                let head = self.adj(*head);
                quote!(#exit = #head;)
            }
            AdjStmt::Loop(adjoint_loop) => self.adjoint_loop(adjoint_loop),
            AdjStmt::Recompute { var, .. } => match (self.definitions.get(var), self.snapshot_reads.get(var)) {
                (Some((Op::Index { index, .. }, _)), Some((tape, buffer))) => {
                    let ident = self.ident(*var);
                    let view = self.snapshot_view(*tape, *buffer);
                    let index = self.operand(index);
                    quote!(let #ident = #view[#index];)
                }
                (Some((op, origin)), _) => self.forward_let(*var, op, *origin),
                (None, _) => TokenStream::new(),
            },
            AdjStmt::Replay { tape, .. } => match self.replayed_loop(*tape) {
                Some(replayed) => self.forward_block(&replayed.body, true),
                None => TokenStream::new(),
            },
            AdjStmt::Eager { tape, seed, exported } => {
                let seed = self.adj(*seed);
                let sums = exported.iter().map(|var| {
                    let adj = self.adj(*var);
                    let sum = self.eager_sum(*tape, *var);
                    quote!(::chainrule::rules::accumulate_scaled(&mut #adj, &#seed, &#sum);)
                });
                quote!(#(#sums)*)
            }
            AdjStmt::ClearElement { buffer, index } => {
                let adj = self.adj(*buffer);
                let index = self.operand(index);
                quote!(::chainrule::rules::clear_element(&mut #adj, &#index);)
            }
            AdjStmt::Branch {
                record,
                then_body,
                else_body,
            } => {
                let record_ident = self.ident(*record);
                let residuals = &self.adjoint.residuals[record];
                let then_pattern = self.residual_pattern(&residuals.then_vars, &HashSet::new());
                let else_pattern = self.residual_pattern(&residuals.else_vars, &HashSet::new());
                let then_body = self.adjoint_stmts(then_body);
                let else_body = self.adjoint_stmts(else_body);
                quote! {
                    match #record_ident {
                        ::chainrule::rules::Branch::Then(#then_pattern) => { #then_body }
                        ::chainrule::rules::Branch::Else(#else_pattern) => { #else_body }
                    }
                }
            }
        }
    }

    /// The iterations of a loop in reverse: the range backwards, zipped with
    /// the tape when there is one, or the tape alone for a loop that may
    /// have stopped early (its counter is on the tape).
    fn adjoint_loop(&self, adjoint_loop: &AdjointLoop) -> TokenStream {
        let AdjointLoop {
            tape,
            trips,
            index,
            start,
            end,
            inclusive,
            reverse,
            driven_by_tape,
            body,
            ..
        } = adjoint_loop;
        let reads = all_reads(body);
        let index_pattern = if reads.contains(index) {
            self.ident(*index).to_token_stream()
        } else {
            quote!(_)
        };
        let mut replayed_writes = HashSet::new();
        self.replayed_stores(body, &mut replayed_writes);
        let body = self.adjoint_stmts(body);
        // Each iteration reads its copies of buffers from the end of their
        // snapshots back, which are dropped after the loop.
        let (mut snapshots_start, mut snapshots_end) = (TokenStream::new(), TokenStream::new());
        let body = match self.adjoint.snapshots.get(tape) {
            Some(taken) => {
                let mut views = TokenStream::new();
                for snapshot in taken {
                    let snapshots = self.snapshots(*tape, snapshot.buffer);
                    let view = self.snapshot_view(*tape, snapshot.buffer);
                    let cursor = mixed(&format!("end_of_{snapshots}"));
                    snapshots_start.extend(quote!(let mut #cursor = #snapshots.end();));
                    views.extend(quote! {
                        #cursor -= #snapshots.width();
                        let #view = #snapshots.at(#cursor);
                    });
                    snapshots_end.extend(quote!(#snapshots.truncate(#cursor);));
                }
                quote!(#views #body)
            }
            None => body,
        };
        let residuals = self.adjoint.tapes.get(tape).map_or(&[][..], Vec::as_slice);
        let tape = self.ident(*tape);
        let trips = self.ident(*trips);
        // A buffer from the tape that a replayed loop inside writes into
        // again (with the values it already holds) is bound `mut`.
        let pattern = self.residual_pattern(residuals, &replayed_writes);
        if *driven_by_tape {
            let from = mixed("from");
            return quote! {
                for #pattern in ::core::iter::Iterator::rev({
                    let #from = #tape.len() - #trips;
                    #tape.drain(#from..)
                }) {
                    #body
                }
            };
        }
        let start = self.operand(start);
        let end = end.as_ref().map(|end| self.operand(end));
        let range = range_tokens(&start, end.as_ref(), *inclusive, !*reverse);
        if residuals.is_empty() {
            quote! {
                #snapshots_start
                for #index_pattern in #range {
                    #body
                }
                #snapshots_end
            }
        } else {
            // This run's entries are the last ones on the tape.
            let run = range_tokens(&start, end.as_ref(), *inclusive, false);
            quote! {
                #snapshots_start
                let #trips = #tape.len() - ::core::iter::Iterator::size_hint(&#run).0;
                for (#index_pattern, #pattern) in ::core::iter::Iterator::zip(#range, ::core::iter::Iterator::rev(#tape.drain(#trips..))) {
                    #body
                }
                #snapshots_end
            }
        }
    }

    /// The loop whose tape is `tape`, which an adjoint replays.
    fn replayed_loop(&self, tape: Var) -> Option<&LoopStmt> {
        let mut loops = Vec::new();
        loops_in(&self.function.body, &mut loops);
        loops.into_iter().find(|stmt| stmt.tape == tape)
    }

    /// The buffers that the loops `body` replays (at any depth) store into.
    fn replayed_stores(&self, body: &[AdjStmt], stored: &mut HashSet<Var>) {
        for stmt in body {
            match stmt {
                AdjStmt::Replay { tape, .. } => {
                    if let Some(replayed) = self.replayed_loop(*tape) {
                        stored_buffers(&replayed.body, stored);
                    }
                }
                AdjStmt::Loop(inner) => self.replayed_stores(&inner.body, stored),
                AdjStmt::Branch {
                    then_body, else_body, ..
                } => {
                    self.replayed_stores(then_body, stored);
                    self.replayed_stores(else_body, stored);
                }
                _ => {}
            }
        }
    }

    /// `(a, mut b, …)`: the residuals bound from a tape or a branch record,
    /// `mut` for those in `mutable`.
    fn residual_pattern(&self, vars: &[Var], mutable: &HashSet<Var>) -> TokenStream {
        let idents = vars.iter().map(|var| {
            let ident = self.ident(*var);
            let mutability = mutable.contains(var).then(|| quote!(mut));
            quote!(#mutability #ident)
        });
        quote!((#(#idents,)*))
    }
}

/// `start..end`, `start..=end`, or `start..` without an end, reversed with
/// `.rev()` when asked.
fn range_tokens(start: &TokenStream, end: Option<&TokenStream>, inclusive: bool, reverse: bool) -> TokenStream {
    let range = match end {
        Some(end) if inclusive => quote!((#start..=#end)),
        Some(end) => quote!((#start..#end)),
        None => quote!((#start..)),
    };
    if reverse {
        quote!(::core::iter::Iterator::rev(#range))
    } else {
        range
    }
}

/// `g` → `g_pullback`, `module::g` → `module::g_pullback`, keeping the span of
/// the user's call so that a missing `#[differentiate]` is reported there.
fn pullback_path(func: &syn::ExprPath) -> syn::ExprPath {
    let mut path = func.clone();
    if let Some(last) = path.path.segments.last_mut() {
        last.ident = format_ident!("{}_pullback", last.ident, span = last.ident.span());
    }
    path
}

/// `tokens` placed at `span` in the source, each name still resolved as
/// before: a type error in a generated call (an operand of a type with no
/// rule, such as `n: usize` in `s / n`) is then reported at the user's
/// expression rather than at the attribute.
fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut relocated = Group::new(group.delimiter(), located_at(group.stream(), span));
                relocated.set_span(group.span().located_at(span));
                TokenTree::Group(relocated)
            }
            mut token => {
                token.set_span(token.span().located_at(span));
                token
            }
        })
        .collect()
}
