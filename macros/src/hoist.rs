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
//! An element read `b[k]` at the top level of a loop body moves before the
//! loop when `b` holds `f64`s (a vector or matrix parameter, or a local
//! buffer filled with a float literal), was defined before the loop, and the
//! loop never writes it (no element store, no `&mut` loan; a reassigned `b`
//! is loop-carried, so defined in the loop), and `k` does not change in the
//! loop. The integer computations of `k` that do not change either stay in
//! the body and are copied before the loop.
//!
//! Only `for` loops over a range qualify, with no `break` or `return` (so
//! every iteration would make the read) and nothing that changes a value
//! behind the IR's back: every opaque expression free of side effects, every
//! method one with a derivative rule (`p.swap(0, 2)` rewrites `p` without an
//! element store). The reads run under `if start < end` (`<=` for `..=`): a
//! read the empty loop never makes cannot panic. The `if` hands each value
//! to the body through a merge whose other side, `0.0` for the empty loop,
//! nothing reads. Reads that cannot panic need no `if`: `b[i]` with `i` the
//! counter of an enclosing `for i in a..n` and `b` a `vec![…; n]` of the
//! same `n` (`in_bounds_indices`). Without the `if`, the gradient keeps no
//! record of it, and the read is an element read like any other, which the
//! adjoint may read again rather than tape.

use std::collections::{BTreeSet, HashMap, HashSet};

use syn::visit_mut::VisitMut;

use crate::ir::{
    Block, Function, IfStmt, LoopStmt, Names, Op, Operand, Param, ParamKind, Phi, Stmt, Var, VarInfo, stored_buffers,
};
use crate::replay::{BufferUse, all_defined, mentions_in};
use crate::rules::{SHAPE_QUERIES, method_rule};

/// Moves loop-invariant element reads out of every loop of `body`, innermost
/// loops first; `in_bounds` are the reads that need no guard
/// ([`in_bounds_indices`]).
pub fn hoist_invariant_reads(
    body: &mut Block,
    params: &[Param],
    vars: &mut Vec<VarInfo>,
    names: &mut Names,
    in_bounds: &HashSet<(Var, Var)>,
) {
    let float_buffers = float_buffers(body, params);
    let mut hoister = Hoister {
        vars,
        names,
        float_buffers,
        in_bounds,
    };
    hoister.block(body);
}

/// The pairs (loop counter `i`, buffer `b`) for which `b[i]` is in bounds
/// wherever `i` is: `i` counts `for i in a..n` (not `..=`) and `b` is made
/// by `vec![…; n]` (or `[…; n]`) of the same `n`; element stores and pushes
/// never shorten it.
pub fn in_bounds_indices(function: &Function) -> HashSet<(Var, Var)> {
    let buffers = BufferUse::new(function);
    let mut lengths = Vec::new();
    let mut loops = Vec::new();
    collect_lengths_and_loops(&function.body, &mut lengths, &mut loops);
    let mut pairs = HashSet::new();
    for (index, end) in loops {
        for (buffer, len) in &lengths {
            if buffers.same_value(end, len) {
                pairs.insert((index, *buffer));
            }
        }
    }
    pairs
}

/// Each buffer made by a fill with its length, and each non-inclusive
/// range loop's counter with its end.
fn collect_lengths_and_loops<'a>(
    block: &'a Block,
    lengths: &mut Vec<(Var, &'a Operand)>,
    loops: &mut Vec<(Var, &'a Operand)>,
) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                var,
                op: Op::Fill { len, .. },
                ..
            } => lengths.push((*var, len)),
            Stmt::If(branch) => {
                collect_lengths_and_loops(&branch.then_block, lengths, loops);
                collect_lengths_and_loops(&branch.else_block, lengths, loops);
            }
            Stmt::Loop(inner) => {
                if let (Some(end), false) = (&inner.end, inner.inclusive) {
                    loops.push((inner.index, end));
                }
                collect_lengths_and_loops(&inner.body, lengths, loops);
            }
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}

struct Hoister<'a> {
    vars: &'a mut Vec<VarInfo>,
    names: &'a mut Names,
    /// The buffers whose element reads may move: those holding `f64`s, so
    /// that the `if` has a value (`0.0`) for the empty loop.
    float_buffers: HashSet<Var>,
    /// The reads `b[i]` that cannot panic, as (`i`, `b`).
    in_bounds: &'a HashSet<(Var, Var)>,
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

    /// Takes the invariant element reads out of `stmt`'s body and returns
    /// what replaces them before the loop: the emptiness test and the `if`
    /// that runs them, with copies of the index computations they need.
    fn hoist_from(&mut self, stmt: &mut LoopStmt) -> Vec<Stmt> {
        let Some(end) = &stmt.end else {
            return Vec::new();
        };
        if stmt.exit_flag.is_some() || !only_known_effects(&stmt.body) {
            return Vec::new();
        }
        let mut variant = BTreeSet::new();
        all_defined(&stmt.body, &mut variant);
        variant.insert(stmt.index);
        variant.extend(stmt.carried.iter().map(|carried| carried.head));
        let mut written = HashSet::new();
        stored_buffers(&stmt.body, &mut written);

        // Invariant index computations stay in the body (they are cheap) and
        // are copied into the `if`; invariant reads move.
        let mut indices = HashSet::new();
        let mut moving = Vec::new();
        for (position, body_stmt) in stmt.body.stmts.iter().enumerate() {
            let Stmt::Let { var, op, .. } = body_stmt else {
                continue;
            };
            let unchanged = |operand: &Operand| operand.var().is_none_or(|var| !variant.contains(&var));
            let invariant = match op {
                Op::Index {
                    base: Operand::Var(buffer),
                    index,
                } => {
                    self.float_buffers.contains(buffer)
                        && !variant.contains(buffer)
                        && !written.contains(buffer)
                        && unchanged(index)
                }
                Op::Opaque { reads, shapes, .. } => reads
                    .iter()
                    .chain(shapes)
                    .all(|read| !variant.contains(read) && !written.contains(read)),
                _ => false,
            };
            if invariant {
                variant.remove(var);
                match op {
                    Op::Index { .. } => moving.push(position),
                    _ => {
                        indices.insert(*var);
                    }
                }
            }
        }
        if moving.is_empty() {
            return Vec::new();
        }

        let mut guarded = Vec::new();
        let mut renamed = HashMap::new();
        for (position, body_stmt) in std::mem::take(&mut stmt.body.stmts).into_iter().enumerate() {
            match body_stmt {
                Stmt::Let { var, ref op, origin } if indices.contains(&var) => {
                    let copy = self.new_var(&self.vars[var.0].ident.to_string());
                    let mut op = op.clone();
                    substitute_reads(&mut op, &renamed, self.vars);
                    guarded.push(Stmt::Let { var: copy, op, origin });
                    renamed.insert(var, copy);
                    stmt.body.stmts.push(body_stmt);
                }
                Stmt::Let { var, mut op, origin } if moving.contains(&position) => {
                    substitute_reads(&mut op, &renamed, self.vars);
                    guarded.push(Stmt::Let { var, op, origin });
                }
                body_stmt => stmt.body.stmts.push(body_stmt),
            }
        }
        // An index is often a copy of the counter (`let c = i;`).
        let counter = |index: Var| {
            let copied = guarded.iter().find_map(|guarded_stmt| match guarded_stmt {
                Stmt::Let {
                    var,
                    op:
                        Op::Opaque {
                            expr: syn::Expr::Path(_),
                            reads,
                            ..
                        },
                    ..
                } if *var == index && reads.len() == 1 => Some(reads[0]),
                _ => None,
            });
            copied.unwrap_or(index)
        };
        let cannot_panic = guarded.iter().all(|guarded_stmt| match guarded_stmt {
            Stmt::Let {
                op:
                    Op::Index {
                        base: Operand::Var(buffer),
                        index: Operand::Var(index),
                    },
                ..
            } => self.in_bounds.contains(&(counter(*index), *buffer)),
            Stmt::Let {
                op: Op::Index { .. }, ..
            } => false,
            _ => true,
        });
        if cannot_panic {
            return guarded;
        }
        let mut still_read = BTreeSet::new();
        mentions_in(&stmt.body, &mut still_read);
        still_read.extend(stmt.carried.iter().filter_map(|carried| carried.next.var()));

        // Each read keeps its variable, now the `if`'s output (an `f64`, so
        // `0.0` on the side of the empty loop, which nothing reads); inside
        // the `if` it is read into a fresh one.
        let mut outputs = Vec::new();
        for guarded_stmt in &mut guarded {
            let Stmt::Let {
                var,
                op: Op::Index { .. },
                ..
            } = guarded_stmt
            else {
                continue;
            };
            if still_read.contains(var) {
                let inner = self.new_var(&self.vars[var.0].ident.to_string());
                outputs.push(Phi {
                    var: *var,
                    then_value: Operand::Var(inner),
                    else_value: Operand::Const(syn::parse_quote!(0.0_f64)),
                });
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
                changes: Vec::new(),
            },
            origin,
        };
        let record = self.new_var("branch");
        let guarded = Stmt::If(IfStmt {
            cond: Operand::Var(nonempty),
            then_block: Block { stmts: guarded },
            else_block: Block::default(),
            outputs,
            record,
        });
        vec![test, guarded]
    }

    fn new_var(&mut self, hint: &str) -> Var {
        crate::ir::new_var(self.vars, self.names, hint)
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

/// Whether every statement of `block`, at any depth, affects nothing but
/// what the IR shows: opaque expressions without side effects and methods
/// with a derivative rule. A method such as `p.swap(0, 2)` or `v.push(x)`
/// on a constant buffer writes it without an element store.
fn only_known_effects(block: &Block) -> bool {
    block.stmts.iter().all(|stmt| match stmt {
        Stmt::Let {
            op: Op::Opaque { expr, .. },
            ..
        } => is_pure(expr),
        Stmt::Let {
            op: Op::Method { method, .. },
            ..
        } => method_rule(&method.to_string()).is_some(),
        Stmt::Let { .. } | Stmt::Store { .. } => true,
        Stmt::If(branch) => only_known_effects(&branch.then_block) && only_known_effects(&branch.else_block),
        Stmt::Loop(inner) => only_known_effects(&inner.body),
    })
}

/// The buffers whose elements are `f64`: the parameters of vector and
/// matrix types, and local buffers filled with a float literal
/// (`vec![0.0; n]`, `[0.0, 1.0]`).
fn float_buffers(body: &Block, params: &[Param]) -> HashSet<Var> {
    let mut buffers: HashSet<Var> = params
        .iter()
        .filter(|param| matches!(param.kind, ParamKind::Array { .. } | ParamKind::SliceInOut))
        .map(|param| param.var)
        .collect();
    collect_float_buffers(body, &mut buffers);
    buffers
}

fn collect_float_buffers(block: &Block, buffers: &mut HashSet<Var>) {
    let is_float = |operand: &Operand| {
        matches!(
            operand,
            Operand::Const(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Float(_),
                ..
            }))
        )
    };
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                var,
                op: Op::Fill { value, .. },
                ..
            } if is_float(value) => {
                buffers.insert(*var);
            }
            Stmt::Let {
                var,
                op: Op::Array { elements, .. },
                ..
            } if elements.first().is_some_and(is_float) => {
                buffers.insert(*var);
            }
            Stmt::If(branch) => {
                collect_float_buffers(&branch.then_block, buffers);
                collect_float_buffers(&branch.else_block, buffers);
            }
            Stmt::Loop(inner) => collect_float_buffers(&inner.body, buffers),
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}

/// Whether evaluating `expr` has no effect but its value: literals, paths,
/// arithmetic, comparisons, casts, shape queries and tuples (a matrix
/// element's index `(i, j)`) of those.
fn is_pure(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Path(_) => true,
        syn::Expr::Tuple(tuple) => tuple.elems.iter().all(is_pure),
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
fn substitute_reads(op: &mut Op, renamed: &HashMap<Var, Var>, vars: &[VarInfo]) {
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
        Op::Opaque {
            expr, reads, shapes, ..
        } => {
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
