//! Early exit: `return` from inside a loop becomes `break`, before lowering.
//!
//! The lowering understands `return` in `if` statements outside loops and
//! `break` inside them, so a return from a loop is rewritten into both. The
//! outermost loop that contains a `return` gets two variables declared before
//! it, a flag that says whether the function returned and the value it
//! returned; each `return value;` in the loop stores them and breaks, each
//! inner loop is followed by `if returned { break; }`, and the outermost loop
//! by `if returned { return value; }` (or by `return value;` when it is a
//! `loop` that has no `break` of its own):
//!
//! ```text
//! for i in 0..n {              let mut returned = false;
//!     if c(i) {                let mut value = 0.0;
//!         return v(i);   ==>   for i in 0..n {
//!     }                            if c(i) { value = v(i); returned = true; break; }
//! }                            }
//! rest                         if returned { return value; }
//!                              rest
//! ```
//!
//! The trip count, and so the tape, is then decided by the primal values
//! exactly as for a `break`, and the returned value reaches the result
//! through the same branch records as any other `return` in an `if`. Only
//! `return value;` in statement position is rewritten; a `return` elsewhere
//! is left for the lowering to report.

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{Expr, Ident, Stmt};

use crate::ir::Shape;
use crate::lower;

/// The body `stmts` of a function returning `output`, with every `return`
/// inside a loop rewritten into a `break` and a `return` after the loop.
pub fn returns_to_breaks(stmts: &[Stmt], output: Shape, return_type: &syn::ReturnType) -> Vec<Stmt> {
    let names = ExitNames {
        returned: Ident::new("__chainrule_returned", Span::mixed_site()),
        value: Ident::new("__chainrule_return_value", Span::mixed_site()),
        initial: initial_value(output, return_type),
    };
    names.outside_loops(stmts)
}

struct ExitNames {
    returned: Ident,
    value: Ident,
    /// A value of the result's type, held until a `return` replaces it.
    initial: Expr,
}

impl ExitNames {
    /// Statements outside every loop: a loop that returns is wrapped in the
    /// flag and value declarations and followed by the real `return`.
    fn outside_loops(&self, stmts: &[Stmt]) -> Vec<Stmt> {
        let mut rewritten = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            if !contains_return(stmt, false) {
                rewritten.push(stmt.clone());
                continue;
            }
            let Stmt::Expr(expr, semi) = stmt else {
                rewritten.push(stmt.clone());
                continue;
            };
            let ExitNames {
                returned,
                value,
                initial,
            } = self;
            let mut expr = expr.clone();
            // A `loop` with no `break` ends only by returning.
            let only_returns = matches!(&expr, Expr::Loop(expr_loop)
                if !expr_loop.body.stmts.iter().any(lower::stmt_breaks_loop));
            if let Some(body) = loop_body_mut(&mut expr) {
                body.stmts = self.inside_loop(&body.stmts);
                rewritten.push(syn::parse_quote!(let mut #returned = false;));
                rewritten.push(syn::parse_quote!(let mut #value = #initial;));
                rewritten.push(Stmt::Expr(expr, Some(semi.unwrap_or_default())));
                rewritten.push(if only_returns {
                    syn::parse_quote!(return #value;)
                } else {
                    syn::parse_quote!(if #returned { return #value; })
                });
                continue;
            }
            self.rewrite_branches(&mut expr, &|stmts| self.outside_loops(stmts));
            rewritten.push(Stmt::Expr(expr, *semi));
        }
        rewritten
    }

    /// Statements inside a loop: `return value;` stores and breaks, and an
    /// inner loop that returns is followed by a `break` out of this one.
    fn inside_loop(&self, stmts: &[Stmt]) -> Vec<Stmt> {
        let ExitNames { returned, value, .. } = self;
        let mut rewritten = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            if !contains_return(stmt, true) {
                rewritten.push(stmt.clone());
                continue;
            }
            let Stmt::Expr(expr, semi) = stmt else {
                rewritten.push(stmt.clone());
                continue;
            };
            let mut expr = expr.clone();
            if let Expr::Return(syn::ExprReturn { expr: Some(result), .. }) = &expr {
                rewritten.push(syn::parse_quote!(#value = #result;));
                rewritten.push(syn::parse_quote!(#returned = true;));
                rewritten.push(syn::parse_quote!(break;));
                continue;
            }
            if let Some(body) = loop_body_mut(&mut expr) {
                body.stmts = self.inside_loop(&body.stmts);
                rewritten.push(Stmt::Expr(expr, Some(semi.unwrap_or_default())));
                rewritten.push(syn::parse_quote!(if #returned { break; }));
                continue;
            }
            self.rewrite_branches(&mut expr, &|stmts| self.inside_loop(stmts));
            rewritten.push(Stmt::Expr(expr, *semi));
        }
        rewritten
    }

    /// Applies `rewrite` to the blocks of an `if` chain, a block or the arms
    /// of a `match`; an arm that is a bare `return value` becomes a block.
    fn rewrite_branches(&self, expr: &mut Expr, rewrite: &dyn Fn(&[Stmt]) -> Vec<Stmt>) {
        match expr {
            Expr::If(expr_if) => {
                expr_if.then_branch.stmts = rewrite(&expr_if.then_branch.stmts);
                if let Some((_, else_branch)) = &mut expr_if.else_branch {
                    self.rewrite_branches(else_branch, rewrite);
                }
            }
            Expr::Block(block) if block.label.is_none() => {
                block.block.stmts = rewrite(&block.block.stmts);
            }
            Expr::Match(expr_match) => {
                for arm in &mut expr_match.arms {
                    let body = &mut arm.body;
                    if let Expr::Return(_) = &**body {
                        let stmt = Stmt::Expr((**body).clone(), Some(Default::default()));
                        let stmts = rewrite(std::slice::from_ref(&stmt));
                        **body = syn::parse_quote!({ #(#stmts)* });
                    } else {
                        self.rewrite_branches(body, rewrite);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The body of a `for`, `while` or `loop`.
fn loop_body_mut(expr: &mut Expr) -> Option<&mut syn::Block> {
    match expr {
        Expr::ForLoop(for_loop) => Some(&mut for_loop.body),
        Expr::While(while_loop) => Some(&mut while_loop.body),
        Expr::Loop(expr_loop) => Some(&mut expr_loop.body),
        _ => None,
    }
}

/// The value a returned-value variable starts with, never read unless a
/// `return` replaced it: a zero of the result's type, empty where its size
/// is not in the type (an empty value's adjoint takes the shape of the
/// first adjoint added to it, see `chainrule::rules::accumulate`).
fn initial_value(output: Shape, return_type: &syn::ReturnType) -> Expr {
    match output {
        Shape::Column => syn::parse_quote!(::chainrule::faer::Col::<f64>::zeros(0)),
        Shape::Row => syn::parse_quote!(::chainrule::faer::Row::<f64>::zeros(0)),
        Shape::Matrix => syn::parse_quote!(::chainrule::faer::Mat::<f64>::zeros(0, 0)),
        Shape::Slice => syn::parse_quote!(::std::vec::Vec::<f64>::new()),
        Shape::Array => {
            if let syn::ReturnType::Type(_, ty) = return_type
                && let syn::Type::Array(array) = &**ty
            {
                let len = &array.len;
                syn::parse_quote!([0.0_f64; #len])
            } else {
                syn::parse_quote!(0.0_f64)
            }
        }
        Shape::Scalar | Shape::Unit => syn::parse_quote!(0.0_f64),
    }
}

/// Whether a statement contains a `return` with a value inside a loop; with
/// `in_loop`, the statement itself is in one.
fn contains_return(stmt: &Stmt, in_loop: bool) -> bool {
    #[derive(Default)]
    struct Finder {
        loops: usize,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
            self.found |= self.loops > 0 && ret.expr.is_some();
        }
        fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
            self.loops += 1;
            syn::visit::visit_expr_for_loop(self, node);
            self.loops -= 1;
        }
        fn visit_expr_while(&mut self, node: &'ast syn::ExprWhile) {
            self.loops += 1;
            syn::visit::visit_expr_while(self, node);
            self.loops -= 1;
        }
        fn visit_expr_loop(&mut self, node: &'ast syn::ExprLoop) {
            self.loops += 1;
            syn::visit::visit_expr_loop(self, node);
            self.loops -= 1;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder {
        loops: usize::from(in_loop),
        found: false,
    };
    finder.visit_stmt(stmt);
    finder.found
}
