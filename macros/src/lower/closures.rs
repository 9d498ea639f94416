//! Closures the lowering accepts: faer's `from_fn` constructors and
//! iterator reductions (`sum`, `product`, `fold`, a `map` collected into a
//! `Vec`, `Col` or `Row`) over what a `for` loop iterates, through the
//! `map`s and `filter`s that `pipelines.rs` turns into loop bodies.
//!
//! None of them is differentiated as a closure. Each call is rewritten, as
//! `syn`, into the loop it stands for: a zero value or an accumulator
//! declared first, the closure's parameters as the loop's pattern and its
//! body as the loop's body, writing an element or updating the accumulator.
//! That loop is then lowered like one the user wrote, so the closure's body
//! is differentiated as a loop body is, in every mode. A closure that
//! returns or changes a variable of the function cannot be such a body and
//! is a spanned error.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident};

use super::pipelines::{Pipeline, bind_to};
use super::{Lowerer, ReturnFinder, Walk, assigned_names_in_stmt, strip_parens};
use crate::ir::{Operand, Stmt};

impl Lowerer<'_> {
    /// `Col::from_fn(n, |i| e)`, `Row::from_fn(n, |j| e)` or
    /// `Mat::from_fn(r, c, |i, j| e)` with the closure written in place: a
    /// zero value of that size written element by element in loops over the
    /// closure's indices, so that `e` is differentiated as any loop body is.
    /// `None` when the call is not one of these.
    pub(super) fn lower_from_fn(
        &mut self,
        func: &syn::ExprPath,
        call: &syn::ExprCall,
        out: &mut Vec<Stmt>,
    ) -> Option<Operand> {
        let segments = &func.path.segments;
        if segments.len() < 2 || segments.last()?.ident != "from_fn" {
            return None;
        }
        let kind = segments[segments.len() - 2].ident.to_string();
        let dimensions = match kind.as_str() {
            "Col" | "Row" => 1,
            "Mat" => 2,
            _ => return None,
        };
        let Some(Expr::Closure(closure)) = call.args.last().map(strip_parens) else {
            return None;
        };
        let span = closure.span();
        let placeholder = Operand::Const(syn::parse_quote!(()));
        if call.args.len() != dimensions + 1 || closure.inputs.len() != dimensions {
            let usage = if dimensions == 1 {
                format!("`{kind}::from_fn(n, |i| …)`")
            } else {
                "`Mat::from_fn(rows, columns, |i, j| …)`".to_owned()
            };
            self.cx
                .error_spanned_by(call, format!("#[differentiate] reads this call as {usage}"));
            return Some(placeholder);
        }
        let mut indices = Vec::new();
        for (input, unnamed) in closure.inputs.iter().zip(["chainrule_row", "chainrule_column"]) {
            match untyped(input) {
                syn::Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                    indices.push(ident.ident.clone());
                }
                syn::Pat::Wild(_) => indices.push(Ident::new(unnamed, span)),
                pat => {
                    self.cx
                        .error_spanned_by(pat, "name each index of a `from_fn` closure, or write `_`");
                    return Some(placeholder);
                }
            }
        }
        if !self.closure_becomes_loop_body(closure, "from_fn") {
            return Some(placeholder);
        }
        let value = Ident::new(&self.names.fresh("chainrule_from_fn").to_string(), span);
        let mut zeros = func.clone();
        if let Some(last) = zeros.path.segments.last_mut() {
            last.ident = Ident::new("zeros", last.ident.span());
        }
        // The sizes are bound first: the closure's indices may shadow names
        // they read.
        let sizes: Vec<Ident> = ["chainrule_rows", "chainrule_columns"][..dimensions]
            .iter()
            .map(|hint| Ident::new(&self.names.fresh(hint).to_string(), span))
            .collect();
        for (size, dimension) in sizes.iter().zip(&call.args) {
            self.lower_stmt(&syn::parse_quote_spanned!(span=> let #size = #dimension;), out);
        }
        let body = &closure.body;
        let write: syn::Stmt = match (&indices[..], &sizes[..]) {
            ([i, j], [rows, columns]) => syn::parse_quote_spanned!(span=>
                for #j in 0..#columns {
                    for #i in 0..#rows {
                        #value[(#i, #j)] = #body;
                    }
                }
            ),
            ([i], [size]) => syn::parse_quote_spanned!(span=>
                for #i in 0..#size {
                    #value[#i] = #body;
                }
            ),
            _ => return Some(placeholder),
        };
        self.lower_stmt(
            &syn::parse_quote_spanned!(span=> let mut #value = #zeros(#(#sizes),*);),
            out,
        );
        self.lower_stmt(&write, out);
        Some(self.lower_expr(&syn::parse_quote!(#value), out))
    }

    /// Whether `closure`, given to `what`, can become the body of a loop:
    /// it does not `return`, and changes no variable of the function (the
    /// loops around it do not look into closures for the variables they
    /// carry). Reports why not.
    pub(super) fn closure_becomes_loop_body(&mut self, closure: &syn::ExprClosure, what: &str) -> bool {
        let mut returns = ReturnFinder::default();
        returns.visit_expr(&closure.body);
        if returns.0 {
            self.cx.error_spanned_by(
                closure,
                format!(
                    "a `{what}` closure cannot `return` in a #[differentiate] function: it becomes the body of \
                     a loop; make the value the closure's last expression"
                ),
            );
            return false;
        }
        let body = syn::Stmt::Expr((*closure.body).clone(), None);
        if let Some((name, _)) = assigned_names_in_stmt(&body, &self.inout_names)
            .into_iter()
            .find(|(name, _)| self.lookup(name).is_some())
        {
            self.cx.error_spanned_by(
                closure,
                format!(
                    "a `{what}` closure cannot change `{name}` in a #[differentiate] function; write a `for` \
                     loop that updates `{name}` instead"
                ),
            );
            return false;
        }
        true
    }

    /// `iterator.sum::<f64>()`, `iterator.map(|x| e).sum()`, `.product()`
    /// alike, and `iterator.fold(init, |acc, x| e)`, over what a `for` loop
    /// iterates (`xs.iter()`, `xs.iter().enumerate()`, `0..n`): that loop,
    /// accumulating in a variable of its own, so that `e` is differentiated
    /// as a loop body is. `None` for other calls, and for reductions without
    /// a closure or `::<f64>`, which may add integers.
    pub(super) fn lower_iterator_reduction(
        &mut self,
        call: &syn::ExprMethodCall,
        out: &mut Vec<Stmt>,
    ) -> Option<Operand> {
        let method = call.method.to_string();
        if method == "fold" {
            return self.lower_fold(call, out);
        }
        let span = call.span();
        let turbofish_f64 = match &call.turbofish {
            None => false,
            Some(_) if turbofish_type(call).is_some_and(|path| path.is_ident("f64")) => true,
            Some(_) => return None,
        };
        if !matches!(method.as_str(), "sum" | "product") || !call.args.is_empty() {
            return None;
        }
        let pipeline = match self.pipeline(&call.receiver) {
            Some(Ok(pipeline)) => pipeline,
            Some(Err(())) => return Some(Operand::Const(syn::parse_quote!(()))),
            None if turbofish_f64 => {
                let element = Ident::new("chainrule_element", span);
                Pipeline {
                    source: strip_parens(&call.receiver),
                    pattern: syn::parse_quote!(#element),
                    stmts: Vec::new(),
                    value: syn::parse_quote!(#element),
                    filtered: false,
                }
            }
            None => return None,
        };
        let (start, update) = if method == "product" {
            (quote::quote!(1.0_f64), quote::quote!(*=))
        } else {
            (quote::quote!(0.0_f64), quote::quote!(+=))
        };
        // The block scopes the total: nested reductions may reuse its name.
        let total = Ident::new(&format!("chainrule_{method}"), span);
        let Pipeline {
            source,
            pattern,
            stmts,
            value,
            ..
        } = pipeline;
        let block = syn::parse_quote_spanned!(span=> {
            let mut #total = #start;
            for #pattern in #source {
                #(#stmts)*
                #total #update #value;
            }
            #total
        });
        Some(self.lower_expr(&block, out))
    }

    /// `iterator.fold(init, |acc, x| e)`, or `fold(init, f64::max)` with a
    /// function of two arguments, over a loop's sequence or a chain of `map`s
    /// and `filter`s of one:
    /// the loop, binding the mapped value to `x`, then `acc` to the total so
    /// far, and setting the total to `e`.
    fn lower_fold(&mut self, call: &syn::ExprMethodCall, out: &mut Vec<Stmt>) -> Option<Operand> {
        let span = call.span();
        if call.args.len() != 2 || call.turbofish.is_some() {
            return None;
        }
        let written_closure: syn::ExprClosure;
        let closure = match strip_parens(&call.args[1]) {
            Expr::Closure(closure) if closure.inputs.len() == 2 => {
                if !self.closure_becomes_loop_body(closure, "fold") {
                    return Some(Operand::Const(syn::parse_quote!(())));
                }
                closure
            }
            Expr::Path(function) => {
                written_closure = syn::parse_quote_spanned!(span=>
                    |chainrule_acc, chainrule_element| #function(chainrule_acc, chainrule_element)
                );
                &written_closure
            }
            _ => return None,
        };
        let (acc_pat, element_pat) = (untyped(&closure.inputs[0]), untyped(&closure.inputs[1]));
        let mut element = (*closure.body).clone();
        let (source, loop_pat, mapping) = match self.pipeline(&call.receiver) {
            Some(Ok(Pipeline {
                source,
                pattern,
                mut stmts,
                value,
                ..
            })) => {
                bind_to(element_pat, &value, &mut stmts).visit_expr_mut(&mut element);
                (source, pattern, stmts)
            }
            Some(Err(())) => return Some(Operand::Const(syn::parse_quote!(()))),
            None => (strip_parens(&call.receiver), element_pat.clone(), Vec::new()),
        };
        let init = &call.args[0];
        let total = Ident::new("chainrule_fold", span);
        // `|acc: f64, x| …` gives the total its type, which `0.0` lacks.
        let annotation = match &closure.inputs[0] {
            syn::Pat::Type(typed) => {
                let ty = &typed.ty;
                Some(quote::quote!(: #ty))
            }
            _ => None,
        };
        let block = syn::parse_quote_spanned!(span=> {
            let mut #total #annotation = #init;
            for #loop_pat in #source {
                #(#mapping)*
                let #acc_pat = #total;
                #total = #element;
            }
            #total
        });
        Some(self.lower_expr(&block, out))
    }

    /// `xs.iter().map(|x| e).collect::<Vec<f64>>()` (or `.collect()` where
    /// the type is known) and `(a..b).map(|i| e).collect()`: a `vec!` of
    /// zeros of that length written element by element in the loop the
    /// iterator stands for, so that `e` is differentiated as a loop body is.
    /// Collected into a faer `Col<f64>` or `Row<f64>`, the zeros are
    /// `Col::zeros(n)` or `Row::zeros(n)`. `None` for other calls.
    pub(super) fn lower_collected_map(&mut self, call: &syn::ExprMethodCall, out: &mut Vec<Stmt>) -> Option<Operand> {
        if call.method != "collect" || !call.args.is_empty() {
            return None;
        }
        let collection = match (&call.turbofish, turbofish_type(call)) {
            (None, _) => Collection::Vec,
            (Some(_), Some(path)) => collection_of(path)?,
            (Some(_), None) => return None,
        };
        let span = call.span();
        let Pipeline {
            source,
            pattern,
            stmts,
            value,
            filtered,
        } = match self.pipeline(&call.receiver)? {
            Ok(pipeline) => pipeline,
            Err(()) => return Some(Operand::Const(syn::parse_quote!(()))),
        };
        if filtered {
            self.cx.error_spanned_by(
                call,
                "#[differentiate] cannot collect a filtered sequence: its length is known only once the filter \
                 has run, and vectors here have their length before the loop; sum or fold the filtered values \
                 instead, or collect every element with a `map` that gives 0.0 where the filter would skip",
            );
            return Some(Operand::Const(syn::parse_quote!(())));
        }
        let values = Ident::new("chainrule_collect", span);
        let block: Expr = match source {
            Expr::Range(range) if matches!(range.limits, syn::RangeLimits::HalfOpen(_)) => {
                let (Some(start), Some(end), syn::Pat::Ident(index)) = (&range.start, &range.end, &pattern) else {
                    return None;
                };
                let first = Ident::new("chainrule_start", span);
                let index = &index.ident;
                let zeros = collection.zeros(quote::quote!(#end - #first));
                syn::parse_quote_spanned!(span=> {
                    let #first = #start;
                    let mut #values = #zeros;
                    for #index in #first..#end {
                        #(#stmts)*
                        #values[#index - #first] = #value;
                    }
                    #values
                })
            }
            source => {
                let length = Walk::of(source)?.length();
                let position = Ident::new("chainrule_position", span);
                let zeros = collection.zeros(length);
                syn::parse_quote_spanned!(span=> {
                    let mut #values = #zeros;
                    for (#position, #pattern) in #source.enumerate() {
                        #(#stmts)*
                        #values[#position] = #value;
                    }
                    #values
                })
            }
        };
        Some(self.lower_expr(&block, out))
    }
}

/// The body with the types the function states elsewhere written on the
/// iterator ends that need them, as rustc infers them:
/// - `::<f64>` on the sums and products of `let s: f64 = xs.iter().sum();`
///   and, in a function returning `f64`, on `xs.iter().sum()` as its last
///   expression or `return`ed, so that
///   [`Lowerer::lower_iterator_reduction`] knows they add `f64`s;
/// - `::<Col<f64>>` (or the `Vec` or `Row` stated) on the `collect()` of
///   `let y: Col<f64> = ….collect();` and of a function's result of that
///   type, so that [`Lowerer::lower_collected_map`] builds that value.
pub(super) fn typed_iterator_ends(stmts: &[syn::Stmt], output: &syn::ReturnType) -> Vec<syn::Stmt> {
    struct Annotate<'a> {
        returned: Option<&'a syn::Type>,
    }
    impl syn::visit_mut::VisitMut for Annotate<'_> {
        fn visit_local_mut(&mut self, local: &mut syn::Local) {
            if let syn::Pat::Type(typed) = &local.pat
                && let Some(init) = &mut local.init
            {
                annotate(&mut init.expr, &typed.ty);
            }
            syn::visit_mut::visit_local_mut(self, local);
        }
        fn visit_expr_return_mut(&mut self, ret: &mut syn::ExprReturn) {
            if let (Some(ty), Some(value)) = (self.returned, &mut ret.expr) {
                annotate(value, ty);
            }
            syn::visit_mut::visit_expr_return_mut(self, ret);
        }
        // A closure's `return` returns from the closure.
        fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
    }
    let returned = match output {
        syn::ReturnType::Type(_, ty) => Some(&**ty),
        syn::ReturnType::Default => None,
    };
    let mut stmts = stmts.to_vec();
    if let (Some(ty), Some(syn::Stmt::Expr(tail, None))) = (returned, stmts.last_mut()) {
        annotate(tail, ty);
    }
    let mut annotate = Annotate { returned };
    for stmt in &mut stmts {
        syn::visit_mut::VisitMut::visit_stmt_mut(&mut annotate, stmt);
    }
    stmts
}

/// `.sum()` or `.product()` of an iterator, without a turbofish, becomes
/// `.sum::<f64>()` where `ty` is `f64` (faer's own `.sum()` of a vector or
/// matrix stays); `.collect()` of a `map` or `filter` becomes `.collect::<ty>()`
/// where `ty` is a `Vec`, `Col` or `Row`. The value of an `if`, a `match` or
/// a block has the type of each of its branches, arms or tail.
fn annotate(expr: &mut Expr, ty: &syn::Type) {
    let mut expr = expr;
    while let Expr::Paren(paren) = expr {
        expr = &mut paren.expr;
    }
    let call = match expr {
        Expr::If(branches) => {
            annotate_tail(&mut branches.then_branch, ty);
            if let Some((_, otherwise)) = &mut branches.else_branch {
                annotate(otherwise, ty);
            }
            return;
        }
        Expr::Match(choice) => {
            for arm in &mut choice.arms {
                annotate(&mut arm.body, ty);
            }
            return;
        }
        Expr::Block(block) => {
            annotate_tail(&mut block.block, ty);
            return;
        }
        Expr::MethodCall(call) => call,
        _ => return,
    };
    if !call.args.is_empty() || call.turbofish.is_some() || !is_iterator(&call.receiver) {
        return;
    }
    let reduction = call.method == "sum" || call.method == "product";
    if reduction && is_f64(ty) {
        call.turbofish = Some(syn::parse_quote!(::<f64>));
    } else if call.method == "collect"
        && ends_with_stage(&call.receiver)
        && let syn::Type::Path(path) = ty
        && collection_of(&path.path).is_some()
    {
        call.turbofish = Some(syn::parse_quote!(::<#ty>));
    }
}

/// Annotates the value of `block`, its tail expression.
fn annotate_tail(block: &mut syn::Block, ty: &syn::Type) {
    if let Some(syn::Stmt::Expr(tail, None)) = block.stmts.last_mut() {
        annotate(tail, ty);
    }
}

/// Whether `iterator` ends with a `map` or `filter`: a stage of a pipeline,
/// as the collects [`Lowerer::lower_collected_map`] lowers end.
pub(super) fn ends_with_stage(iterator: &Expr) -> bool {
    matches!(strip_parens(iterator), Expr::MethodCall(call) if call.method == "map" || call.method == "filter")
}

/// What a `collect()` into `path` builds, by the last segment of the type:
/// `Vec<f64>`, faer's `Col<f64>` or `Row<f64>`.
fn collection_of(path: &syn::Path) -> Option<Collection> {
    match path.segments.last()?.ident.to_string().as_str() {
        "Vec" => Some(Collection::Vec),
        "Col" | "Row" => {
            let mut constructor = path.clone();
            constructor.segments.last_mut()?.arguments = syn::PathArguments::None;
            Some(Collection::Faer(constructor))
        }
        _ => None,
    }
}

/// The value a collected `map` is written into.
enum Collection {
    /// `vec![0.0; n]`.
    Vec,
    /// `Col::zeros(n)` or `Row::zeros(n)`, by the path the type was named
    /// with (`Col` or `faer::Col`).
    Faer(syn::Path),
}

impl Collection {
    /// `length` zeros to write the collected elements into.
    fn zeros(&self, length: impl quote::ToTokens) -> Expr {
        match self {
            Collection::Vec => syn::parse_quote!(vec![0.0_f64; #length]),
            Collection::Faer(constructor) => syn::parse_quote!(#constructor::zeros(#length)),
        }
    }
}

/// An iterator by its last step: `xs.iter()`, `.map(…)`, `.enumerate()`,
/// a range.
fn is_iterator(expr: &Expr) -> bool {
    match strip_parens(expr) {
        Expr::MethodCall(call) => matches!(
            call.method.to_string().as_str(),
            "iter" | "into_iter" | "copied" | "cloned" | "map" | "filter" | "enumerate" | "zip" | "rev"
        ),
        Expr::Range(_) => true,
        _ => false,
    }
}

fn is_f64(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.qself.is_none() && path.path.is_ident("f64"))
}

/// A closure's parameter without its type: `x` of `x: &f64`.
pub(super) fn untyped(pat: &syn::Pat) -> &syn::Pat {
    match pat {
        syn::Pat::Type(typed) => &typed.pat,
        pat => pat,
    }
}

/// The one type a method call names in its turbofish: `f64` of `sum::<f64>()`.
fn turbofish_type(call: &syn::ExprMethodCall) -> Option<&syn::Path> {
    let generics = call.turbofish.as_ref()?;
    match (generics.args.first(), generics.args.len()) {
        (Some(syn::GenericArgument::Type(syn::Type::Path(path))), 1) => Some(&path.path),
        _ => None,
    }
}
