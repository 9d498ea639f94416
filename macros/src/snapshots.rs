//! Buffer snapshots: reading a scratch buffer's elements again in a loop's
//! adjoint instead of taping each read.
//!
//! A loop body often fills a buffer and then reads it in several inner
//! loops (a mixture model centres a point into `xc`, then reads `xc[i]` in
//! a triangular product and in a norm). Each of those reads is a residual
//! that the tape would keep, once per read: the same d numbers taped two or
//! three times per iteration, with a record per inner iteration. Yet once
//! the body has written the buffer for the last time in an iteration, the
//! buffer's state at the end of the iteration answers all of those reads.
//!
//! So for such a loop, the forward sweep copies the buffer whole onto a
//! snapshot tape at the end of every iteration (`rules::Snapshots::push`),
//! and the adjoint of each iteration reads the reads again from its
//! snapshot (`Snapshots::at`, a slice of the tape; the buffer itself is
//! left alone), then drops the iteration's snapshots after the loop. A read
//! qualifies when nothing in the loop's body writes its buffer after it
//! (`ir::reads_after_last_write`, relative to the body, so a write in an
//! inner loop counts at that loop's end).
//!
//! The buffer must be a local `vec![…; n]` made outside the loop, written
//! in the body only by element stores, and *scratch* there (overwritten
//! whole before it is read, see `replay.rs`): the copy then costs no more
//! than the body's own writes. And at least one qualifying read must be in
//! an inner loop, so that the reads are as many as the copied elements; a
//! body reading one element of a long buffer keeps taping that element.
//!
//! Loops that may stop early (their snapshots would not match their
//! iterations) and replayed loops (which compute everything again anyway)
//! take none. An eager loop (`eager.rs`) needs no snapshot at all: its
//! iteration's adjoint runs right after the iteration, while the buffer
//! still holds the end state, so its qualifying reads read the buffer.

use std::collections::{HashMap, HashSet};

use crate::check::Activity;
use crate::ir::{Block, Function, LoopStmt, Stmt, Var, buffers_stored_by, reads_after_last_write};
use crate::replay::{BufferUse, all_defined, stores_in};

/// One buffer a loop copies at the end of each iteration, and the element
/// reads its adjoint takes from the copies.
pub struct Snapshot {
    pub buffer: Var,
    pub reads: Vec<Var>,
}

/// The element reads that the adjoint sweep can take again from a buffer's
/// end-of-iteration state.
#[derive(Default)]
pub struct IterationReads {
    /// By loop (its tape variable): the buffers it copies.
    pub snapshots: HashMap<Var, Vec<Snapshot>>,
    /// Reads in eager loops, taken from the buffer itself.
    pub in_place: HashSet<Var>,
}

impl IterationReads {
    /// Every read that need not be taped.
    pub fn all_reads(&self) -> impl Iterator<Item = Var> + '_ {
        self.snapshots
            .values()
            .flatten()
            .flat_map(|snapshot| snapshot.reads.iter().copied())
            .chain(self.in_place.iter().copied())
    }
}

pub fn iteration_reads(
    function: &Function,
    activity: &Activity,
    replayed: &HashSet<Var>,
    eager: &HashSet<Var>,
) -> IterationReads {
    let mut found = IterationReads::default();
    let buffers = BufferUse::new(function);
    visit_loops(&function.body, &mut |stmt| {
        if stmt.exit_flag.is_some() || replayed.contains(&stmt.tape) {
            return;
        }
        let is_eager = eager.contains(&stmt.tape);
        let candidates = snapshot_candidates(stmt, &buffers);
        let mut by_buffer: HashMap<Var, (Vec<Var>, bool)> = HashMap::new();
        for read in reads_after_last_write(&stmt.body) {
            if candidates.contains(&read.buffer) && activity.is_number(read.var) {
                let entry = by_buffer.entry(read.buffer).or_default();
                entry.0.push(read.var);
                entry.1 |= read.in_loop;
            }
        }
        for (buffer, (reads, in_loop)) in by_buffer {
            if is_eager {
                found.in_place.extend(reads);
            } else if in_loop {
                found
                    .snapshots
                    .entry(stmt.tape)
                    .or_default()
                    .push(Snapshot { buffer, reads });
            }
        }
    });
    for snapshots in found.snapshots.values_mut() {
        snapshots.sort_by_key(|snapshot| snapshot.buffer);
    }
    found
}

/// The buffers `stmt` may copy: made outside it, written in its body only
/// by element stores, and overwritten whole there before being read.
fn snapshot_candidates(stmt: &LoopStmt, buffers: &BufferUse) -> HashSet<Var> {
    let mut stored = HashSet::new();
    stores_in(&stmt.body, &mut stored);
    let mut defined = Default::default();
    all_defined(&stmt.body, &mut defined);
    let mut written_otherwise = HashSet::new();
    writes_other_than_stores(&stmt.body, &mut written_otherwise);
    stored
        .into_iter()
        .filter(|buffer| {
            !defined.contains(buffer)
                && !written_otherwise.contains(buffer)
                && buffers.scratch(*buffer, &stmt.body.stmts)
        })
        .collect()
}

/// The buffers a block writes through calls, effects or in-place methods.
fn writes_other_than_stores(block: &Block, written: &mut HashSet<Var>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { .. } => written.extend(buffers_stored_by(stmt)),
            Stmt::If(branch) => {
                writes_other_than_stores(&branch.then_block, written);
                writes_other_than_stores(&branch.else_block, written);
            }
            Stmt::Loop(inner) => writes_other_than_stores(&inner.body, written),
            Stmt::Store { .. } => {}
        }
    }
}

/// Calls `visit` on every loop of `block`, at any depth.
fn visit_loops(block: &Block, visit: &mut impl FnMut(&LoopStmt)) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Loop(inner) => {
                visit(inner);
                visit_loops(&inner.body, visit);
            }
            Stmt::If(branch) => {
                visit_loops(&branch.then_block, visit);
                visit_loops(&branch.else_block, visit);
            }
            Stmt::Let { .. } | Stmt::Store { .. } => {}
        }
    }
}
