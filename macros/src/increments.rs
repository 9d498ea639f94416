//! In-place increments: `b[i] += e` and `b[i] -= e`, whose adjoints leave
//! `b̄[i]` as it is.
//!
//! Lowering turns `b[i] += e` into three statements: `old = b[i]`,
//! `new = old + e`, `b[i] = new`. Taken one by one, their adjoints read
//! `b̄[i]` into `n̄`, clear `b̄[i]` (the element was overwritten), add `n̄` to
//! `ō` and to `ē`, and finally add `ō` back into `b̄[i]`: three accesses to
//! the adjoint buffer where one does, since ∂new/∂old = 1 means the adjoint
//! of the old element is that of the new one. For such a triple the adjoint
//! sweep only adds `b̄[i]` to `ē`'s side (`n̄ = b̄[i]`), and `old` gets no
//! adjoint at all. `new = old − e` is the same with `ē −= n̄`; `e − old`
//! (∂new/∂old = −1) is not an increment.
//!
//! The triple must be exactly that: `old` read from the same buffer at the
//! same index (the same variable, the same constant, or the same integer
//! expression: lowering writes `b[j + 1] += e`'s index twice) in the same block,
//! used only by the sum, the sum used only by the store, and nothing
//! between the read and the store writing the buffer.

use std::collections::{HashMap, HashSet};

use quote::ToTokens;

use crate::ir::{BinaryOp, Block, Function, Op, Operand, Stmt, Var};
use crate::replay::BufferUse;

/// The element reads (`old` above) of every in-place increment in the
/// function.
pub fn in_place_increments(function: &Function) -> HashSet<Var> {
    let mut uses = HashMap::new();
    count_uses_in(&function.body, &mut uses);
    for operand in std::iter::once(&function.result).chain(function.inout.iter().map(|(_, value)| value)) {
        count(operand, &mut uses);
    }
    let mut found = HashSet::new();
    find_in(&function.body, &uses, &BufferUse::new(function), &mut found);
    found
}

fn find_in(block: &Block, uses: &HashMap<Var, usize>, values: &BufferUse, found: &mut HashSet<Var>) {
    let definition = |var: Var| {
        block.stmts.iter().enumerate().find_map(|(position, stmt)| match stmt {
            Stmt::Let { var: defined, op, .. } if *defined == var => Some((position, op)),
            _ => None,
        })
    };
    for (store_position, stmt) in block.stmts.iter().enumerate() {
        match stmt {
            Stmt::If(branch) => {
                find_in(&branch.then_block, uses, values, found);
                find_in(&branch.else_block, uses, values, found);
            }
            Stmt::Loop(inner) => find_in(&inner.body, uses, values, found),
            Stmt::Store {
                buffer,
                index,
                value: Operand::Var(sum),
                ..
            } if uses.get(sum) == Some(&1) => {
                // `old + e`, `e + old` or `old − e`: ∂new/∂old = 1 in each.
                let candidates = match definition(*sum) {
                    Some((_, Op::Binary(BinaryOp::Add, lhs, rhs))) => vec![lhs, rhs],
                    Some((_, Op::Binary(BinaryOp::Sub, lhs, _))) => vec![lhs],
                    _ => continue,
                };
                for old in candidates.into_iter().filter_map(Operand::var) {
                    let Some((
                        read_position,
                        Op::Index {
                            base,
                            index: read_index,
                        },
                    )) = definition(old)
                    else {
                        continue;
                    };
                    let between = &block.stmts[read_position + 1..store_position];
                    let untouched_between = between.iter().all(|stmt| !writes(stmt, &|written| written == *buffer));
                    // Equal expressions are equal values while nothing they could read changes.
                    let equal_expressions =
                        || values.same_value(read_index, index) && between.iter().all(|stmt| !writes(stmt, &|_| true));
                    if base.var() == Some(*buffer)
                        && (same_index(read_index, index) || equal_expressions())
                        && uses.get(&old) == Some(&1)
                        && untouched_between
                    {
                        found.insert(old);
                        break;
                    }
                }
            }
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}

fn same_index(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Var(a), Operand::Var(b)) => a == b,
        (Operand::Const(a), Operand::Const(b)) => a.to_token_stream().to_string() == b.to_token_stream().to_string(),
        _ => false,
    }
}

/// Whether `stmt` may write a buffer that `written` picks: a store into it,
/// or a call given it by `&mut`, at any depth.
fn writes(stmt: &Stmt, written: &dyn Fn(Var) -> bool) -> bool {
    match stmt {
        Stmt::Store { buffer, .. } => written(*buffer),
        Stmt::Let {
            op: Op::Call { args, .. },
            ..
        } => args
            .iter()
            .any(|arg| (arg.buffer || arg.mutated.is_some()) && arg.operand.var().is_some_and(written)),
        Stmt::Let { .. } => false,
        Stmt::If(branch) => branch
            .then_block
            .stmts
            .iter()
            .chain(&branch.else_block.stmts)
            .any(|stmt| writes(stmt, written)),
        Stmt::Loop(inner) => inner.body.stmts.iter().any(|stmt| writes(stmt, written)),
    }
}

fn count(operand: &Operand, uses: &mut HashMap<Var, usize>) {
    if let Some(var) = operand.var() {
        *uses.entry(var).or_default() += 1;
    }
}

/// How often each variable is read, anywhere: by operations, stores, branch
/// conditions and merges, loop bounds and carried values.
fn count_uses_in(block: &Block, uses: &mut HashMap<Var, usize>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { op, .. } => {
                for operand in op.operands() {
                    count(operand, uses);
                }
                if let Op::Opaque { reads, shapes, .. } = op {
                    for var in reads.iter().chain(shapes) {
                        *uses.entry(*var).or_default() += 1;
                    }
                }
            }
            Stmt::Store {
                buffer, index, value, ..
            } => {
                *uses.entry(*buffer).or_default() += 1;
                count(index, uses);
                count(value, uses);
            }
            Stmt::If(branch) => {
                count(&branch.cond, uses);
                for phi in &branch.outputs {
                    count(&phi.then_value, uses);
                    count(&phi.else_value, uses);
                }
                count_uses_in(&branch.then_block, uses);
                count_uses_in(&branch.else_block, uses);
            }
            Stmt::Loop(inner) => {
                count(&inner.start, uses);
                if let Some(end) = &inner.end {
                    count(end, uses);
                }
                for carried in &inner.carried {
                    count(&carried.init, uses);
                    count(&carried.next, uses);
                }
                count_uses_in(&inner.body, uses);
            }
        }
    }
}
