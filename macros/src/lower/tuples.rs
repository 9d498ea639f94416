//! Tuples, taken apart where they are written: the IR has no tuple values.
//!
//! `let (a, b) = (e0, e1);` and `(a, b) = (e0, e1);` become one binding per
//! part: every part is evaluated first into a variable of its own, then the
//! parts are bound or assigned, so `(a, b) = (b, a + b)` reads the old `a`
//! and `b` as Rust does. `x.sin_cos()` is the pair `(x.sin(), x.cos())`,
//! with `x` evaluated once, whether it is taken apart by a `let` or read as
//! `x.sin_cos().0`. An `if` whose branches are tuples alone is one `if`
//! per part on the same condition. A tuple parameter that is not
//! differentiated is a constant, taken apart field by field. Nested tuple
//! patterns are taken apart part by part, and a pattern's tuple type
//! `(f64, f64)` gives each part its type.

use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::{Lowerer, strip_parens};
use crate::ir::{Operand, Stmt};

impl Lowerer<'_> {
    /// `let (a, b) = value;`: `true` once lowered (or reported), `false`
    /// when the pattern is not a tuple.
    pub(super) fn lower_tuple_local(&mut self, local: &syn::Local, out: &mut Vec<Stmt>) -> bool {
        if !matches!(untyped(&local.pat).0, syn::Pat::Tuple(_)) {
            return false;
        }
        let Some(init) = &local.init else {
            self.cx.error_spanned_by(
                &local.pat,
                "give a tuple pattern its value where it is declared: `let (a, b) = (x, y);`",
            );
            return true;
        };
        let mut leaves = Vec::new();
        if self
            .evaluate_pattern_parts(&local.pat, None, &init.expr, &mut leaves, out)
            .is_some()
        {
            for (pat, ty, part) in leaves {
                let stmt: syn::Stmt = match ty {
                    Some(ty) => syn::parse_quote_spanned!(pat.span()=> let #pat: #ty = #part;),
                    None => syn::parse_quote_spanned!(pat.span()=> let #pat = #part;),
                };
                self.lower_stmt(&stmt, out);
            }
        }
        true
    }

    /// `(a, b) = value`: each target assigned its part.
    pub(super) fn lower_tuple_assign(&mut self, targets: &Expr, value: &Expr, out: &mut Vec<Stmt>) {
        let mut leaves = Vec::new();
        if self.evaluate_target_parts(targets, value, &mut leaves, out).is_some() {
            for (target, part) in leaves {
                self.lower_expr(&syn::parse_quote_spanned!(target.span()=> #target = #part), out);
            }
        }
    }

    /// `x.sin_cos().0` and `.1`: `x.sin()` and `x.cos()`. `None` for other
    /// fields.
    pub(super) fn lower_sin_cos_field(&mut self, field: &syn::ExprField, out: &mut Vec<Stmt>) -> Option<Operand> {
        let angle = sin_cos_angle(&field.base)?;
        let method = match &field.member {
            syn::Member::Unnamed(index) if index.index == 0 => "sin",
            syn::Member::Unnamed(index) if index.index == 1 => "cos",
            _ => return None,
        };
        let method = Ident::new(method, field.member.span());
        Some(self.lower_expr(&syn::parse_quote_spanned!(field.span()=> (#angle).#method()), out))
    }

    /// Evaluates `value` into a fresh variable per name `pat` binds, and
    /// lists each name's pattern, type (written, or `given_type` from the
    /// tuple type around it) and variable in `leaves`.
    fn evaluate_pattern_parts<'p>(
        &mut self,
        pat: &'p syn::Pat,
        given_type: Option<&'p syn::Type>,
        value: &Expr,
        leaves: &mut Vec<(&'p syn::Pat, Option<&'p syn::Type>, Ident)>,
        out: &mut Vec<Stmt>,
    ) -> Option<()> {
        let (pat, written_type) = untyped(pat);
        let ty = written_type.or(given_type);
        let syn::Pat::Tuple(tuple) = pat else {
            leaves.push((pat, ty, self.evaluate_part(value, out)));
            return Some(());
        };
        let parts = self.split_tuple(value, tuple.elems.len(), out)?;
        let types: Vec<Option<&syn::Type>> = match ty {
            Some(syn::Type::Tuple(types)) if types.elems.len() == parts.len() => types.elems.iter().map(Some).collect(),
            _ => vec![None; parts.len()],
        };
        for ((pat, ty), part) in tuple.elems.iter().zip(types).zip(&parts) {
            self.evaluate_pattern_parts(pat, ty, part, leaves, out)?;
        }
        Some(())
    }

    /// Evaluates `value` into a fresh variable per place `target` assigns,
    /// and lists each place and its variable in `leaves`.
    fn evaluate_target_parts(
        &mut self,
        target: &Expr,
        value: &Expr,
        leaves: &mut Vec<(Expr, Ident)>,
        out: &mut Vec<Stmt>,
    ) -> Option<()> {
        let Expr::Tuple(targets) = strip_parens(target) else {
            let part = self.evaluate_part(value, out);
            // `(a, _) = …` evaluates the part `_` stands for, and drops it.
            if !matches!(strip_parens(target), Expr::Infer(_)) {
                leaves.push((target.clone(), part));
            }
            return Some(());
        };
        let parts = self.split_tuple(value, targets.elems.len(), out)?;
        for (target, part) in targets.elems.iter().zip(&parts) {
            self.evaluate_target_parts(target, part, leaves, out)?;
        }
        Some(())
    }

    /// `let chainrule_part = value;`, and that variable.
    fn evaluate_part(&mut self, value: &Expr, out: &mut Vec<Stmt>) -> Ident {
        let name = self.names.fresh("chainrule_part");
        self.lower_stmt(&syn::parse_quote_spanned!(value.span()=> let #name = #value;), out);
        name
    }

    /// The `arity` parts of a tuple value: the elements of `(e0, e1, …)`,
    /// the fields `.0`, `.1`, … of a constant tuple (a parameter not
    /// differentiated), or `x.sin()` and `x.cos()` of `x.sin_cos()` with `x`
    /// evaluated once.
    /// `None` after reporting a value that is neither.
    fn split_tuple(&mut self, value: &Expr, arity: usize, out: &mut Vec<Stmt>) -> Option<Vec<Expr>> {
        let span = value.span();
        match strip_parens(value) {
            Expr::Tuple(tuple) if tuple.elems.len() == arity => Some(tuple.elems.iter().cloned().collect()),
            Expr::If(expr_if) if branch_tuple(&expr_if.then_branch, arity).is_some() => {
                self.split_if(expr_if, arity, out)
            }
            // `*pair` of a constant `&(f64, f64)`: its fields are read through the reference.
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr: constant,
                ..
            }) if self.is_constant_value(constant) => Some(fields_of(constant, arity, span)),
            // A tuple parameter that is not differentiated, or such a field.
            constant if self.is_constant_value(constant) => Some(fields_of(constant, arity, span)),
            value => match sin_cos_angle(value) {
                Some(angle) if arity == 2 => {
                    let angle = self.evaluate_part(angle, out);
                    Some(vec![
                        syn::parse_quote_spanned!(span=> #angle.sin()),
                        syn::parse_quote_spanned!(span=> #angle.cos()),
                    ])
                }
                _ => {
                    self.cx.error_spanned_by(
                        value,
                        format!(
                            "#[differentiate] takes a tuple apart only where it is written: give this pattern \
                             a tuple of {arity} values, `(e0, e1, …)`, or `x.sin_cos()`"
                        ),
                    );
                    None
                }
            },
        }
    }
    /// `if c { (a, b) } else { (d, e) }`, each branch a tuple alone (or an
    /// `else if` of such): the parts `if c { a } else { d }` and
    /// `if c { b } else { e }`, with `c` evaluated once.
    fn split_if(&mut self, expr_if: &syn::ExprIf, arity: usize, out: &mut Vec<Stmt>) -> Option<Vec<Expr>> {
        let then_parts = branch_tuple(&expr_if.then_branch, arity)?;
        let else_parts = match expr_if.else_branch.as_ref().map(|(_, branch)| strip_parens(branch)) {
            Some(Expr::Block(block)) if branch_tuple(&block.block, arity).is_some() => {
                branch_tuple(&block.block, arity)?
            }
            Some(Expr::If(else_if)) => self.split_if(else_if, arity, out)?,
            _ => {
                self.cx.error_spanned_by(
                    expr_if,
                    format!(
                        "#[differentiate] takes an `if` apart when every branch is a tuple of {arity} values alone"
                    ),
                );
                return None;
            }
        };
        let condition = self.evaluate_part(&expr_if.cond, out);
        Some(
            then_parts
                .into_iter()
                .zip(else_parts)
                .map(|(then_part, else_part)| syn::parse_quote!(if #condition { #then_part } else { #else_part }))
                .collect(),
        )
    }
}

/// The parts of a block that is a tuple of `arity` values alone.
fn branch_tuple(block: &syn::Block, arity: usize) -> Option<Vec<Expr>> {
    match block.stmts.as_slice() {
        [syn::Stmt::Expr(expr, None)] => match strip_parens(expr) {
            Expr::Tuple(tuple) if tuple.elems.len() == arity => Some(tuple.elems.iter().cloned().collect()),
            _ => None,
        },
        _ => None,
    }
}

/// A pattern and the type it is given, if any: `a: f64`, `(a, b)`.
fn untyped(pat: &syn::Pat) -> (&syn::Pat, Option<&syn::Type>) {
    match pat {
        syn::Pat::Type(typed) => (untyped(&typed.pat).0, Some(&*typed.ty)),
        syn::Pat::Paren(paren) => untyped(&paren.pat),
        pat => (pat, None),
    }
}

/// `x` of `x.sin_cos()`.
fn sin_cos_angle(expr: &Expr) -> Option<&Expr> {
    match strip_parens(expr) {
        Expr::MethodCall(call) if call.method == "sin_cos" && call.args.is_empty() => Some(&call.receiver),
        _ => None,
    }
}

/// `constant.0`, `constant.1`, …: the parts of a constant tuple of `arity`
/// values, read where they are.
fn fields_of(constant: &Expr, arity: usize, span: proc_macro2::Span) -> Vec<Expr> {
    (0..arity)
        .map(|index| {
            let index = syn::Index::from(index);
            syn::parse_quote_spanned!(span=> #constant.#index)
        })
        .collect()
}
