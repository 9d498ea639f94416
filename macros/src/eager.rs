//! Eager loops: loops whose adjoint runs inside the forward sweep, one
//! iteration right after the other.
//!
//! Many objectives are a sum over data: `for i in 0..n { s += term(i) }`,
//! with `term` a whole computation of its own (a mixture model's
//! log-likelihood of one point). Reverse mode is linear in the seed, and
//! each iteration adds its term to `s` and does nothing else that a later
//! iteration sees, so the adjoint of the whole loop is `s̄` (the adjoint of
//! `s` after the loop) times the sum, over iterations, of the gradient of
//! one term. That sum needs no seed: the forward sweep computes it, running
//! each iteration's adjoint with the unit seed right after the iteration
//! itself, while its values are still in registers and cache. The tapes of
//! the loops inside then hold one iteration, and the loop keeps nothing at
//! all for the adjoint sweep but the summed gradients, which the adjoint
//! sweep scales by `s̄` and adds where the loop stands (`accumulate_scaled`).
//!
//! A loop is run eagerly when it stands at the top of the function's body,
//! runs over a range, holds a loop or a call (a flat loop tapes a value or
//! two per iteration, cheaper than the summed gradients, which are as large
//! as what the loop reads), and:
//! - carries one active value, an `f64` `s`, whose next value is `s + e` or
//!   `s − e` (or `e + s`), with `s` and the sum read by nothing else in the
//!   body: the unit seed of `s` then reaches every iteration unchanged;
//! - every buffer it writes is *scratch* (overwritten whole in every
//!   iteration before it is read, see `replay.rs`) and is read by nothing
//!   after the loop, so no iteration sees another's values and nothing
//!   after the loop sends an adjoint back into it;
//! - it passes nothing by `&mut` to a helper and touches no `&mut`
//!   parameter, whose adjoints the caller owns.
//!
//! The values the loop reads from outside (parameters, buffers and scalars
//! computed before it) may be anything: their summed gradients are added at
//! the loop's place in the adjoint sweep, after every later use of them has
//! been processed, exactly where the taped adjoint would have added them.

use std::collections::{BTreeSet, HashSet};

use crate::check::Activity;
use crate::ir::{BinaryOp, Block, Function, LoopStmt, Op, Operand, Stmt, Var};
use crate::replay::{BufferUse, all_defined, mentions_in, stmt_mentions, stores_in};

/// The loops to run eagerly, by tape variable.
pub fn eager_loops(function: &Function, activity: &Activity) -> HashSet<Var> {
    let buffers = BufferUse::new(function);
    let stmts = &function.body.stmts;
    let mut eager = HashSet::new();
    for (position, stmt) in stmts.iter().enumerate() {
        let Stmt::Loop(stmt) = stmt else { continue };
        if holds_work(&stmt.body)
            && accumulator(stmt, activity).is_some()
            && independent_iterations(function, &buffers, stmt, &stmts[position + 1..])
            && !touches_references(function, &stmt.body)
        {
            eager.insert(stmt.tape);
        }
    }
    eager
}

/// The carried head of the loop's only active carried value, if it is a
/// running sum (`s = s + e`, `s = s − e`, `s = e + s`) that nothing else in
/// the body reads.
pub fn accumulator(stmt: &LoopStmt, activity: &Activity) -> Option<Var> {
    if stmt.exit_flag.is_some() || stmt.end.is_none() {
        return None;
    }
    let mut active = stmt.carried.iter().filter(|carried| activity.is_active(carried.exit));
    let (Some(carried), None) = (active.next(), active.next()) else {
        return None;
    };
    let Operand::Var(next) = carried.next else {
        return None;
    };
    if !activity.is_scalar(carried.head) {
        return None;
    }
    let head = carried.head;
    let mut definition = None;
    for stmt in &stmt.body.stmts {
        match stmt {
            Stmt::Let { var, op, .. } if *var == next => definition = Some(op),
            other if stmt_mentions(other, head) || stmt_mentions(other, next) => return None,
            _ => {}
        }
    }
    let summand = match definition? {
        Op::Binary(BinaryOp::Add | BinaryOp::Sub, Operand::Var(lhs), summand) if *lhs == head => summand,
        Op::Binary(BinaryOp::Add, summand, Operand::Var(rhs)) if *rhs == head => summand,
        _ => return None,
    };
    (summand.var() != Some(head)).then_some(head)
}

/// Whether no iteration reads what another wrote: every buffer the loop
/// writes is scratch and unread after the loop (`after` are the statements
/// that follow it).
fn independent_iterations(function: &Function, buffers: &BufferUse, stmt: &LoopStmt, after: &[Stmt]) -> bool {
    let mut stored = HashSet::new();
    stores_in(&stmt.body, &mut stored);
    let mut fresh = BTreeSet::new();
    all_defined(&stmt.body, &mut fresh);
    let read_later = |buffer: Var| {
        after.iter().any(|stmt| stmt_mentions(stmt, buffer))
            || function.result.var() == Some(buffer)
            || function.inout.iter().any(|(_, value)| value.var() == Some(buffer))
    };
    stored
        .into_iter()
        .filter(|buffer| !fresh.contains(buffer))
        .all(|buffer| buffers.scratch(buffer, &stmt.body.stmts) && !read_later(buffer))
}

/// Whether `body` passes anything by `&mut` to a helper or reads a `&mut`
/// parameter.
fn touches_references(function: &Function, body: &Block) -> bool {
    let mut used = BTreeSet::new();
    mentions_in(body, &mut used);
    let inout_param = function
        .params
        .iter()
        .any(|param| param.kind.is_inout() && used.contains(&param.var));
    inout_param || passes_mut(body)
}

/// Whether `block` holds a loop or a call, at any depth.
fn holds_work(block: &Block) -> bool {
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Loop(_)
        | Stmt::Let {
            op: Op::Call { .. }, ..
        } => true,
        Stmt::Let { .. } | Stmt::Store { .. } => false,
        Stmt::If(branch) => holds_work(&branch.then_block) || holds_work(&branch.else_block),
    })
}

fn passes_mut(block: &Block) -> bool {
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Let {
            op: Op::Call { args, .. },
            ..
        } => args.iter().any(|arg| arg.buffer || arg.mutated.is_some()),
        Stmt::Let { .. } | Stmt::Store { .. } => false,
        Stmt::If(branch) => passes_mut(&branch.then_block) || passes_mut(&branch.else_block),
        Stmt::Loop(inner) => passes_mut(&inner.body),
    })
}
