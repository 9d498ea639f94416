//! Loop-invariant element reads, moved out of the loop that repeats them.
//!
//! `for j in i + 1..d { q[j] += l[p] * xc[i] }` reads `xc[i]` on every
//! iteration although neither `xc` nor `i` changes inside the loop. In the
//! gradient such a read costs on every iteration twice: the forward sweep
//! tapes its value, and the adjoint sweep adds into `x̄c[i]` through memory.
//! Read once before the loop, the value is taped once per loop, and its
//! adjoint is summed in a local and added into the buffer once:
//! Σ_j ∂f_j/∂xc[i] reaches `x̄c[i]` in one addition instead of one per `j`.
//!
//! A `let` at the top level of a loop body moves before the loop when it is
//! - an element read `b[k]` of a buffer `b` defined before the loop that the
//!   loop never writes (no element store, no `&mut` loan; a reassigned `b` is
//!   loop-carried, so defined in the loop), at an index `k` that does not
//!   change in the loop, or
//! - an integer expression without side effects (arithmetic, comparisons,
//!   shape queries such as `len()`) of values that do not change in the loop:
//!   the indices of those reads.
//!
//! Only `for` loops over a range with no `break` or `return` qualify, so the
//! moved statements would run on every iteration. They run under
//! `if start < end` (`<=` for `..=`): a read the empty loop never makes
//! cannot panic before it. The `if` hands each moved value the body still
//! uses to the body through a merge, whose other side (the empty loop's) is
//! never read.

use std::collections::{BTreeSet, HashMap, HashSet};

use syn::visit_mut::VisitMut;

use crate::ir::{Block, IfStmt, LoopStmt, Names, Op, Operand, Phi, Stmt, Var, VarInfo, stored_buffers};
use crate::replay::{all_defined, mentions_in};
use crate::rules::SHAPE_QUERIES;

/// Moves loop-invariant element reads out of every loop of `body`, innermost
/// loops first.
pub fn hoist_invariant_reads(body: &mut Block, vars: &mut Vec<VarInfo>, names: &mut Names) {
    let mut hoister = Hoister { vars, names };
    hoister.block(body);
}

struct Hoister<'a> {
    vars: &'a mut Vec<VarInfo>,
    names: &'a mut Names,
}

impl Hoister<'_> {
    fn block(&mut self, block: &mut Block) {
        for mut stmt in std::mem::take(&mut block.stmts) {
            match &mut stmt {
                Stmt::If(branch) => {
                    self.block(&mut branch.then_block);
                    self.block(&mut branch.else_block);
                }
                Stmt::Loop(inner) => {
                    self.block(&mut inner.body);
                    block.stmts.extend(self.hoist_from(inner));
                }
                Stmt::Let { .. } | Stmt::Store { .. } => {}
            }
            block.stmts.push(stmt);
        }
    }

    /// Takes the invariant statements out of `stmt`'s body and returns what
    /// replaces them before the loop: the emptiness test and the `if` that
    /// runs them.
    fn hoist_from(&mut self, stmt: &mut LoopStmt) -> Vec<Stmt> {
        let Some(end) = &stmt.end else {
            return Vec::new();
        };
        if stmt.exit_flag.is_some() {
            return Vec::new();
        }
        let mut variant = BTreeSet::new();
        all_defined(&stmt.body, &mut variant);
        variant.insert(stmt.index);
        variant.extend(stmt.carried.iter().map(|carried| carried.head));
        let mut written = HashSet::new();
        stored_buffers(&stmt.body, &mut written);

        let mut moving = Vec::new();
        for (position, body_stmt) in stmt.body.stmts.iter().enumerate() {
            if let Stmt::Let { var, op, .. } = body_stmt
                && is_invariant(op, &variant, &written)
            {
                variant.remove(var);
                moving.push(position);
            }
        }
        let reads_an_element = moving.iter().any(|&position| {
            matches!(
                stmt.body.stmts[position],
                Stmt::Let {
                    op: Op::Index { .. },
                    ..
                }
            )
        });
        if !reads_an_element {
            return Vec::new();
        }

        let mut moved = Vec::new();
        for (position, body_stmt) in std::mem::take(&mut stmt.body.stmts).into_iter().enumerate() {
            if moving.contains(&position) {
                moved.push(body_stmt);
            } else {
                stmt.body.stmts.push(body_stmt);
            }
        }
        let mut still_read = BTreeSet::new();
        mentions_in(&stmt.body, &mut still_read);
        still_read.extend(stmt.carried.iter().filter_map(|carried| carried.next.var()));

        // Each value the body still reads keeps its variable, now the `if`'s
        // output; inside the `if` it is computed into a fresh one.
        let mut renamed = HashMap::new();
        let mut outputs = Vec::new();
        for moved_stmt in &mut moved {
            let Stmt::Let { var, op, .. } = moved_stmt else {
                continue;
            };
            rename_reads(op, &renamed, self.vars);
            if still_read.contains(var) {
                let inner = self.new_var(&self.vars[var.0].ident.to_string());
                outputs.push(Phi {
                    var: *var,
                    then_value: Operand::Var(inner),
                    else_value: Operand::Const(syn::parse_quote!(::core::default::Default::default())),
                });
                renamed.insert(*var, inner);
                *var = inner;
            }
        }

        let origin = stmt.origin;
        let start = self.operand_tokens(&stmt.start);
        let end_tokens = self.operand_tokens(end);
        let comparison = if stmt.inclusive {
            quote::quote!(<=)
        } else {
            quote::quote!(<)
        };
        let nonempty = self.new_var("nonempty");
        let reads = [Some(&stmt.start), Some(end)]
            .into_iter()
            .flatten()
            .filter_map(Operand::var)
            .collect();
        let test = Stmt::Let {
            var: nonempty,
            op: Op::Opaque {
                expr: syn::parse_quote!(#start #comparison #end_tokens),
                reads,
                shapes: Vec::new(),
            },
            origin,
        };
        let record = self.new_var("branch");
        let guarded = Stmt::If(IfStmt {
            cond: Operand::Var(nonempty),
            then_block: Block { stmts: moved },
            else_block: Block::default(),
            outputs,
            record,
        });
        vec![test, guarded]
    }

    fn new_var(&mut self, hint: &str) -> Var {
        let ident = self.names.fresh(hint);
        let adjoint = self.names.fresh(&format!("adj_{ident}"));
        self.vars.push(VarInfo { ident, adjoint });
        Var(self.vars.len() - 1)
    }

    fn operand_tokens(&self, operand: &Operand) -> proc_macro2::TokenStream {
        match operand {
            Operand::Var(var) | Operand::Transposed(var) => {
                let ident = &self.vars[var.0].ident;
                quote::quote!(#ident)
            }
            Operand::Const(expr) => quote::quote!((#expr)),
        }
    }
}

/// Whether `op` gives the same value on every iteration of a loop that
/// defines `variant` and writes into `written`, and may run once before it.
fn is_invariant(op: &Op, variant: &BTreeSet<Var>, written: &HashSet<Var>) -> bool {
    let unchanged = |operand: &Operand| operand.var().is_none_or(|var| !variant.contains(&var));
    match op {
        Op::Index {
            base: Operand::Var(buffer),
            index,
        } => !variant.contains(buffer) && !written.contains(buffer) && unchanged(index),
        Op::Opaque { expr, reads, shapes } => {
            reads.iter().chain(shapes).all(|read| !variant.contains(read)) && is_pure(expr)
        }
        _ => false,
    }
}

/// Whether evaluating `expr` has no effect but its value: literals, paths,
/// arithmetic, comparisons, casts and shape queries of those.
fn is_pure(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Path(_) => true,
        syn::Expr::Paren(inner) => is_pure(&inner.expr),
        syn::Expr::Group(inner) => is_pure(&inner.expr),
        syn::Expr::Cast(cast) => is_pure(&cast.expr),
        syn::Expr::Unary(unary) => !matches!(unary.op, syn::UnOp::Deref(_)) && is_pure(&unary.expr),
        syn::Expr::Binary(binary) => {
            !is_compound_assignment(&binary.op) && is_pure(&binary.left) && is_pure(&binary.right)
        }
        syn::Expr::MethodCall(call) => {
            SHAPE_QUERIES.contains(&call.method.to_string().as_str()) && call.args.is_empty() && is_pure(&call.receiver)
        }
        _ => false,
    }
}

fn is_compound_assignment(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// Makes `op` read `renamed[v]` wherever it read `v`.
fn rename_reads(op: &mut Op, renamed: &HashMap<Var, Var>, vars: &[VarInfo]) {
    let rename = |operand: &mut Operand| {
        if let Operand::Var(var) = operand
            && let Some(new) = renamed.get(var)
        {
            *var = *new;
        }
    };
    match op {
        Op::Index { base, index } => {
            rename(base);
            rename(index);
        }
        Op::Opaque { expr, reads, shapes } => {
            let idents = reads
                .iter_mut()
                .chain(shapes)
                .filter_map(|read| {
                    let new = *renamed.get(read)?;
                    let old = std::mem::replace(read, new);
                    Some((vars[old.0].ident.to_string(), vars[new.0].ident.clone()))
                })
                .collect();
            IdentRenamer(idents).visit_expr_mut(expr);
        }
        _ => {}
    }
}

/// Replaces the variables an opaque expression names.
struct IdentRenamer(HashMap<String, syn::Ident>);

impl VisitMut for IdentRenamer {
    fn visit_expr_path_mut(&mut self, path: &mut syn::ExprPath) {
        if let Some(ident) = path.path.get_ident()
            && let Some(new) = self.0.get(&ident.to_string())
        {
            *path = syn::parse_quote!(#new);
        }
    }
}
