//! The reverse transform: from the primal IR to the adjoint sweep.
//!
//! The adjoint of a block is built by walking its statements backwards. Each
//! active variable `v` gets an adjoint `adj_v`, created as a zero of `v`'s shape
//! at the start of the adjoint of the block that defines `v` (so before any of
//! its uses is processed), and every use of `v` adds its contribution through
//! the rule's kernel. By the time the walk reaches the definition of `v`,
//! `adj_v` is complete and is pushed further back to `v`'s own operands. A
//! variable used along several paths (`x + x * x`) simply receives several
//! contributions: the total derivative.
//!
//! An `if` becomes a `match` on the record its forward sweep kept of the branch
//! taken. The record also carries the branch's *residuals*: the values defined
//! inside the branch that its adjoint reads (operands a kernel needs, shapes of
//! zero adjoints, pullbacks of calls). Values defined outside the branch are
//! simply in scope. Nothing else is stored. What passes on the adjoint of a
//! value that only one arm gives an adjoint (`x̄[i] += v̄` after
//! `if v > top { top = v }`) moves into that arm, so the other path does not
//! add a zero.
//!
//! A loop runs backwards over the same range. Each iteration's residuals (the
//! values defined in the body that its adjoint reads: operands of non-linear
//! rules, pullbacks of calls, records of branches) go on the loop's tape, one
//! stack for the whole function that the adjoint drains from the end, so a
//! loop nested in another allocates nothing per outer iteration; nothing else
//! is stored, and cheap inactive values (indices) are computed again, as are
//! element reads of parameters and of buffers nothing writes into any more
//! (`ir::frozen_element_reads`), and reads of a scratch buffer after its last
//! write in an iteration, from the copy of the buffer the loop took at the
//! end of that iteration (`snapshots.rs`). A value whose adjoint reads nothing but its
//! shape, for the zero its adjoint starts from (a product `g = w·wᵀ` read
//! element by element), goes on the tape as that shape (`rules::ZeroShape`)
//! and is dropped with its iteration. The loop counter is
//! recomputed, not taped, and a zero adjoint of a known `f64` reads nothing, so
//! a loop summing `s += x[i] * x[i]` tapes nothing at all. An integer the
//! loop steps by a constant (`k += 1`) is counted back down instead of
//! taped, and so is one that only an inner loop steps, when that loop counts
//! it back (`Builder::inner_countdown`). The adjoint of a
//! loop-carried variable flows from each iteration to the one before it.
//!
//! A loop chosen by `replay.rs` tapes only its carried values: each of its
//! iterations is run forward again in the adjoint sweep, right before its
//! adjoint, and the loops inside it are taped during that replay.
//!
//! A loop chosen by `eager.rs` (a running sum whose iterations do not see
//! each other) has its adjoint run in the forward sweep instead, iteration
//! by iteration with the unit seed; the adjoint sweep only scales the summed
//! gradients by the sum's adjoint (`AdjStmt::Eager`).
//!
//! A call of another differentiated function keeps the pullback closure its
//! `_pullback` returned in the forward sweep; the adjoint sweep calls it with
//! the adjoint of the result, so the callee's primal never runs twice.

use std::collections::{BTreeSet, HashMap, HashSet};

use proc_macro2::Span;

use crate::check::Activity;
use crate::ir::{
    BinaryOp, Block, CallArg, Carried, Function, LoopStmt, Op, Operand, Origin, Stmt, Var, frozen_element_reads,
    stored_buffers,
};
use crate::rules::{self, Input};
use crate::snapshots::{self, Snapshot};
use crate::{eager, increments, replay};

/// A counter that an inner loop steps and counts back down
/// (`Builder::inner_countdown`).
struct InnerCountdown {
    /// The counter at the start of each iteration.
    head: Var,
    /// The counter after the loop, where the countdown starts.
    exit: Var,
    /// The counter at the end of an iteration: the inner loop's exit.
    next: Var,
    /// The inner loop's counter.
    inner: Var,
}

/// Where a contribution goes: the adjoint of `var`, or a transposed view of
/// it when the operand was `var.transpose()`.
#[derive(Clone, Copy)]
pub struct Target {
    pub var: Var,
    pub transposed: bool,
}

/// One step of the adjoint sweep.
pub enum AdjStmt {
    /// `let adj_v = zero_like(&v)`: a zero of `v`'s shape.
    Zero(Var),
    /// `let adj_v = 0.0` for a variable known to be an `f64`: reads nothing,
    /// so `v` need not be kept for the adjoint sweep.
    ZeroScalar(Var),
    /// `adj_v += seed`: the adjoint of the function's result.
    Seed(Var),
    /// `kernel(&mut adj_target, &adj_out, &reads...)`, reported at `span`
    /// (the expression it differentiates) if its operands have no rule.
    Kernel {
        kernel: &'static str,
        target: Target,
        out: Var,
        reads: Vec<Operand>,
        span: Span,
    },
    /// `adj_target += adj_from`, for a `Phi` or an identity such as a cast.
    Flow { target: Target, from: Var },
    /// Calls a callee's pullback with `adj_out` (a default seed for a call
    /// whose value is dropped) and the call's arguments again, and adds each
    /// returned gradient to the adjoint of the corresponding argument, if
    /// active. An argument passed by `&mut` gets the adjoint of its new value,
    /// which the pullback turns into that of its old value.
    CallPullback {
        pullback: Var,
        out: Option<Var>,
        /// Per argument: where its gradient goes, whether the gradient
        /// starts that adjoint (moved in) rather than being added to it, and
        /// the argument itself, passed again.
        args: Vec<(Option<Target>, bool, CallArg)>,
        /// The names of the returned gradients.
        gradients: Vec<syn::Ident>,
        /// The call, where a gradient that does not fit is reported.
        origin: Origin,
    },
    /// `match record { Then(residuals) => .., Else(residuals) => .. }`.
    Branch {
        record: Var,
        then_body: Vec<AdjStmt>,
        else_body: Vec<AdjStmt>,
    },
    /// `let adj_v = zero_like(&adj_like)`: a zero shaped like another adjoint,
    /// for the head of a loop-carried variable, so the head need not be kept.
    ZeroLikeAdjoint { var: Var, like: Var },
    /// The iterations of a loop in reverse order, each with its residuals
    /// from the tape; `body` ends by handing each carried adjoint back
    /// (`Carry`) to the previous iteration.
    Loop(Box<AdjointLoop>),
    /// `adj_exit = adj_head`: the adjoint of a loop-carried variable at the
    /// start of this iteration is the carry into the previous one.
    Carry { exit: Var, head: Var },
    /// `adj_var += *param`: the adjoint of a `&mut f64` parameter's final
    /// value, which the caller passes through the parameter.
    SeedInOut { var: Var, param: Var },
    /// `*param = adj_var`: the adjoint of its value on entry, handed back.
    ReturnInOut { var: Var, param: Var },
    /// `adj_buffer[index] = 0`: the element was overwritten by a store.
    ClearElement { buffer: Var, index: Operand },
    /// Computes a cheap value of the forward sweep again (an index, a loop
    /// bound) instead of keeping it on a tape.
    Recompute { var: Var, reads: Vec<Var> },
    /// `adj_v += adj_seed · Σ` for each `v` in `exported`: the gradients an
    /// eager loop summed in the forward sweep, scaled by the adjoint of its
    /// running sum (`seed`, the sum after the loop).
    Eager { tape: Var, seed: Var, exported: Vec<Var> },
    /// Runs the body of the loop with this tape forward again, taping its
    /// inner loops, before the iteration's adjoint (see `replay.rs`); it
    /// reads `reads` from outside the body.
    Replay { tape: Var, reads: Vec<Var> },
    /// `let mut head = exit;` before a loop's adjoint: a counter the loop
    /// steps by a constant (`k += 1`), or that only an inner loop steps
    /// (`CountdownEnd`), starts from its value after the loop…
    CountdownStart { head: Var, exit: Var },
    /// …and each reverse iteration steps it back (`head -= 1`), instead of
    /// keeping its value of every iteration on the tape.
    CountdownStep { head: Var, step: Operand, increments: bool },
    /// `let next = head;` first in a reverse iteration of a loop whose
    /// counter only an inner loop steps: the counter's value at the end of
    /// the iteration, where the inner loop's countdown starts…
    CountdownEnd { next: Var, head: Var },
    /// …and `head = inner;` last: the inner loop's counter, counted back to
    /// the value it started from, which is the counter's at the start of the
    /// iteration.
    CountdownFrom { head: Var, inner: Var },
    /// `let adj_var = adj_from` (a copy): the first contribution to `var`
    /// starts its adjoint instead of being added to a zero.
    InitFrom { var: Var, from: Var, scalar: bool },
    /// `let adj_var = seed` (a copy), likewise for the function's result.
    InitSeed { var: Var, scalar: bool },
}

/// A loop of the adjoint sweep: the range of the primal loop, run backwards.
pub struct AdjointLoop {
    pub tape: Var,
    pub trips: Var,
    pub index: Var,
    pub start: Operand,
    pub end: Option<Operand>,
    /// For loops that may stop early: replay the tape, not the range.
    pub driven_by_tape: bool,
    pub inclusive: bool,
    pub reverse: bool,
    pub body: Vec<AdjStmt>,
}

/// What the forward sweep of an eager loop runs (see `eager.rs`).
pub struct EagerLoop {
    /// The running sum after the loop, whose adjoint is the unit seed of
    /// each iteration.
    pub seed: Var,
    /// One iteration's adjoint.
    pub iteration: Vec<AdjStmt>,
    /// Variables from outside the loop whose adjoints the iteration touches,
    /// declared as zeros before the loop.
    pub outside: Vec<Var>,
    /// Those whose summed gradients the adjoint sweep adds (the others are
    /// scratch buffers, zero again after every iteration).
    pub exported: Vec<Var>,
}

/// The residuals an `if`'s record carries for each branch.
pub struct Residuals {
    pub then_vars: Vec<Var>,
    pub else_vars: Vec<Var>,
}

#[derive(Default)]
pub struct Adjoint {
    pub body: Vec<AdjStmt>,
    /// For each `if` whose adjoint does work, keyed by its record variable.
    pub residuals: HashMap<Var, Residuals>,
    /// For each loop whose adjoint does work, keyed by its tape variable: the
    /// values each iteration stores on the tape (empty: no tape needed).
    pub tapes: HashMap<Var, Vec<Var>>,
    /// Values on a tape whose adjoint sweep reads nothing but their shape
    /// (for the zero of their adjoint): the tape keeps the shape instead.
    pub shape_only: HashSet<Var>,
    /// Adjoints that receive contributions, so are declared `mut`.
    pub accumulated: HashSet<Var>,
    /// Whether the adjoint sweep reads the seed at all.
    pub uses_seed: bool,
    /// The loops whose iterations the adjoint sweep runs again, by tape.
    pub replayed: HashSet<Var>,
    /// The loops whose adjoint runs in the forward sweep, by tape.
    pub eager: HashMap<Var, EagerLoop>,
    /// The buffers a loop copies at the end of each iteration, by tape, with
    /// the element reads its adjoint takes from the copies (`snapshots.rs`).
    pub snapshots: HashMap<Var, Vec<Snapshot>>,
}

pub fn reverse(function: &Function, activity: &Activity) -> Adjoint {
    let mut definitions = HashMap::new();
    collect_definitions(&function.body, &mut definitions);
    let eager = eager::eager_loops(function, activity);
    let replayed = replay::replayed_loops(function, activity, &eager);
    let iteration_reads = snapshots::iteration_reads(function, activity, &replayed, &eager);
    let mut frozen_reads = frozen_element_reads(function);
    frozen_reads.extend(iteration_reads.all_reads());
    let mut builder = Builder {
        activity,
        definitions,
        params: function
            .params
            .iter()
            .filter(|param| !param.kind.is_inout())
            .map(|param| param.var)
            .collect(),
        written: {
            let mut written = HashSet::new();
            stored_buffers(&function.body, &mut written);
            written
        },
        frozen_reads,
        residuals: HashMap::new(),
        tapes: HashMap::new(),
        shape_only: HashSet::new(),
        replayed,
        eager,
        eager_loops: HashMap::new(),
        increments: increments::in_place_increments(function),
        scratch_adjoints: HashSet::new(),
    };
    // A `&mut [f64]` parameter's adjoint is the buffer the caller passes.
    let mut body: Vec<AdjStmt> = function
        .params
        .iter()
        .filter(|param| param.wrt && param.kind != crate::ir::ParamKind::SliceInOut)
        .map(|param| builder.zero(param.var))
        .collect();
    let mut seed = Vec::new();
    let mut uses_seed = false;
    if let Operand::Var(result) = function.result
        && activity.is_active(result)
    {
        seed.push(AdjStmt::Seed(result));
        uses_seed = true;
    }
    for (param, value) in &function.inout {
        if let Operand::Var(var) = value
            && activity.is_active(*var)
        {
            seed.push(AdjStmt::SeedInOut {
                var: *var,
                param: *param,
            });
            uses_seed = true;
        }
    }
    let (mut top, top_reads) = builder.block(&function.body, seed);
    builder.recompute_borrows(&function.body, &mut top, top_reads);
    // Scratch buffers of eager loops have their adjoints in the forward sweep.
    let unused: Vec<Var> = builder
        .scratch_adjoints
        .iter()
        .copied()
        .filter(|var| top.iter().filter(|stmt| mentions(stmt, *var)).count() == 1)
        .collect();
    top.retain(|stmt| !matches!(stmt, AdjStmt::Zero(var) | AdjStmt::ZeroScalar(var) if unused.contains(var)));
    body.extend(top);
    body.extend(function.inout.iter().map(|(param, _)| AdjStmt::ReturnInOut {
        var: *param,
        param: *param,
    }));
    start_from_first_contributions(&mut body);
    let mut accumulated = HashSet::new();
    collect_accumulated(&body, &mut accumulated);
    let mut recomputed = HashSet::new();
    collect_recomputed(&body, &mut recomputed);
    for eager_loop in builder.eager_loops.values() {
        collect_accumulated(&eager_loop.iteration, &mut accumulated);
        collect_recomputed(&eager_loop.iteration, &mut recomputed);
    }
    // A copy pays only for the reads taken from it.
    let mut snapshots = iteration_reads.snapshots;
    for taken in snapshots.values_mut() {
        for snapshot in taken.iter_mut() {
            snapshot.reads.retain(|read| recomputed.contains(read));
        }
        taken.retain(|snapshot| !snapshot.reads.is_empty());
    }
    snapshots.retain(|_, taken| !taken.is_empty());
    Adjoint {
        body,
        residuals: builder.residuals,
        tapes: builder.tapes,
        shape_only: builder.shape_only,
        accumulated,
        uses_seed,
        replayed: builder.replayed,
        eager: builder.eager_loops,
        snapshots,
    }
}

struct Builder<'a> {
    activity: &'a Activity,
    /// Each `let`'s operation, and its position in the body, for
    /// recomputation.
    definitions: HashMap<Var, (usize, &'a Op)>,
    /// The parameters, whose elements can be read again at any time.
    params: HashSet<Var>,
    /// The buffers the body writes into (stores, `&mut` arguments): an
    /// expression reading one is not computed again, since the adjoint
    /// sweep would see the buffer's last state.
    written: HashSet<Var>,
    /// Element reads of local buffers that nothing writes into afterwards
    /// (`ir::frozen_element_reads`): read again, like a parameter's.
    frozen_reads: HashSet<Var>,
    residuals: HashMap<Var, Residuals>,
    tapes: HashMap<Var, Vec<Var>>,
    shape_only: HashSet<Var>,
    replayed: HashSet<Var>,
    /// The loops `eager.rs` chose, and what was built for them.
    eager: HashSet<Var>,
    eager_loops: HashMap<Var, EagerLoop>,
    /// Buffers that eager loops use as scratch.
    scratch_adjoints: HashSet<Var>,
    /// The element reads of in-place increments (`increments.rs`), which get
    /// no adjoint.
    increments: HashSet<Var>,
}

impl Builder<'_> {
    /// The zero adjoint of `var`, reading `var` only when its shape is unknown.
    fn zero(&self, var: Var) -> AdjStmt {
        if self.activity.is_scalar(var) {
            AdjStmt::ZeroScalar(var)
        } else {
            AdjStmt::Zero(var)
        }
    }

    /// Where the adjoint of an active operand is accumulated.
    fn target(&mut self, operand: &Operand) -> Option<Target> {
        let target = match operand {
            Operand::Var(var) => Target {
                var: *var,
                transposed: false,
            },
            Operand::Transposed(var) => Target {
                var: *var,
                transposed: true,
            },
            Operand::Const(_) => return None,
        };
        if !self.activity.is_active(target.var) || self.increments.contains(&target.var) {
            return None;
        }
        Some(target)
    }

    /// The adjoint of `block`, after `incoming` (the flows into it from the
    /// `Phi`s of its `if`), and the primal variables it reads, except those
    /// that nested branches keep in their own records.
    fn block(&mut self, block: &Block, incoming: Vec<AdjStmt>) -> (Vec<AdjStmt>, BTreeSet<Var>) {
        let mut body = Vec::new();
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { var, op, .. } => {
                    let discarded = matches!(op, Op::Call { discarded: true, .. });
                    if self.activity.is_active(*var) && !discarded && !self.increments.contains(var) {
                        body.push(self.zero(*var));
                    }
                    if let Op::Call { args, .. } = op {
                        for mutated in args.iter().filter_map(|arg| arg.mutated) {
                            if self.activity.is_active(mutated) {
                                body.push(self.zero(mutated));
                            }
                        }
                    }
                }
                Stmt::If(stmt) => {
                    for phi in &stmt.outputs {
                        if self.activity.is_active(phi.var) {
                            body.push(self.zero(phi.var));
                        }
                    }
                }
                Stmt::Loop(stmt) => {
                    for carried in &stmt.carried {
                        if self.activity.is_active(carried.exit) {
                            body.push(self.zero(carried.exit));
                        }
                    }
                }
                Stmt::Store { .. } => {}
            }
        }
        body.extend(incoming);
        let mut reads = BTreeSet::new();
        for stmt in block.stmts.iter().rev() {
            match stmt {
                Stmt::Let { var, .. } if self.increments.contains(var) => {}
                Stmt::Let { var, op, origin } => self.let_stmt(*var, op, *origin, &mut body),
                Stmt::If(stmt) => {
                    let mut flows = |pick: fn(&crate::ir::Phi) -> &Operand| -> Vec<AdjStmt> {
                        let mut flows = Vec::new();
                        for phi in stmt.outputs.iter().filter(|phi| self.activity.is_active(phi.var)) {
                            if let Some(target) = self.target(pick(phi)) {
                                flows.push(AdjStmt::Flow { target, from: phi.var });
                            }
                        }
                        flows
                    };
                    let then_flows = flows(|phi| &phi.then_value);
                    let else_flows = flows(|phi| &phi.else_value);
                    let (then_body, then_reads) = self.block(&stmt.then_block, then_flows);
                    let (else_body, else_reads) = self.block(&stmt.else_block, else_flows);
                    if then_body.is_empty() && else_body.is_empty() {
                        continue;
                    }
                    let (mut then_body, mut else_body) = (then_body, else_body);
                    let then_local = defined_in(&stmt.then_block);
                    let else_local = defined_in(&stmt.else_block);
                    let then_needed = branch_residuals(&stmt.then_block, &then_reads);
                    let else_needed = branch_residuals(&stmt.else_block, &else_reads);
                    let (then_recomputed, then_vars) = self.rematerialize(&then_needed, &then_local, &BTreeSet::new());
                    let (else_recomputed, else_vars) = self.rematerialize(&else_needed, &else_local, &BTreeSet::new());
                    let then_reads = self.prepend_recomputations(&mut then_body, &then_recomputed, then_reads);
                    let else_reads = self.prepend_recomputations(&mut else_body, &else_recomputed, else_reads);
                    reads.extend(then_reads.difference(&then_vars.iter().copied().collect()).copied());
                    reads.extend(else_reads.difference(&else_vars.iter().copied().collect()).copied());
                    reads.insert(stmt.record);
                    self.residuals.insert(stmt.record, Residuals { then_vars, else_vars });
                    body.push(AdjStmt::Branch {
                        record: stmt.record,
                        then_body,
                        else_body,
                    });
                }
                Stmt::Loop(stmt) => self.loop_stmt(stmt, &mut body, &mut reads),
                Stmt::Store {
                    buffer, index, value, ..
                } => {
                    if !self.activity.is_active(*buffer) {
                        continue;
                    }
                    // v[i] = e: ē += v̄[i], then v̄[i] = 0 (the old element is overwritten).
                    if let Some(target) = self.target(value) {
                        body.push(AdjStmt::Kernel {
                            kernel: "element_pb",
                            target,
                            out: *buffer,
                            reads: vec![index.clone()],
                            span: Span::call_site(),
                        });
                    }
                    // v[i] = v[i] + e: the old element's adjoint is the new one's.
                    if !self.is_increment(value) {
                        body.push(AdjStmt::ClearElement {
                            buffer: *buffer,
                            index: index.clone(),
                        });
                    }
                }
            }
        }
        start_from_first_contributions(&mut body);
        collect_reads(&body, &mut reads);
        sink_into_branches(&mut body);
        (body, reads)
    }

    /// Whether `value` is the new element of an in-place increment
    /// (`old + e`, `e + old` or `old − e`).
    fn is_increment(&self, value: &Operand) -> bool {
        let is_old = |operand: &Operand| operand.var().is_some_and(|var| self.increments.contains(&var));
        match value.var().and_then(|var| self.definitions.get(&var)) {
            Some((_, Op::Binary(BinaryOp::Add, lhs, rhs))) => is_old(lhs) || is_old(rhs),
            Some((_, Op::Binary(BinaryOp::Sub, lhs, _))) => is_old(lhs),
            _ => false,
        }
    }

    /// The adjoint of a loop: its iterations in reverse, each starting from
    /// the carried adjoints and ending by handing them to the previous one.
    fn loop_stmt(&mut self, stmt: &LoopStmt, body: &mut Vec<AdjStmt>, reads: &mut BTreeSet<Var>) {
        let active: Vec<&Carried> = stmt
            .carried
            .iter()
            .filter(|carried| self.activity.is_active(carried.exit))
            .collect();
        let mut prelude = Vec::new();
        for carried in &active {
            prelude.push(if self.activity.is_scalar(carried.head) {
                AdjStmt::ZeroScalar(carried.head)
            } else {
                AdjStmt::ZeroLikeAdjoint {
                    var: carried.head,
                    like: carried.exit,
                }
            });
        }
        for carried in &active {
            if let Some(target) = self.target(&carried.next) {
                prelude.push(AdjStmt::Flow {
                    target,
                    from: carried.exit,
                });
            }
        }
        let (mut iteration, mut iteration_reads) = self.block(&stmt.body, prelude);
        // A head the adjoint reads anyway shapes its own zero. So does one
        // whose shape the body may change (`h = &w[i] * &h` through layers of
        // different widths): the exit's adjoint does not have the head's
        // shape, so the head is kept on the tape for it.
        let reshaping = may_reshape(&stmt.body, self.activity);
        for stmt in &mut iteration {
            if let AdjStmt::ZeroLikeAdjoint { var, .. } = stmt
                && (reshaping || iteration_reads.contains(var))
            {
                iteration_reads.insert(*var);
                *stmt = AdjStmt::Zero(*var);
            }
        }
        if iteration
            .iter()
            .all(|stmt| matches!(stmt, AdjStmt::ZeroScalar(_) | AdjStmt::ZeroLikeAdjoint { .. }))
        {
            return;
        }
        if self.eager.contains(&stmt.tape)
            && let Some(head) = eager::accumulator(stmt, self.activity)
            && let [carried] = active.as_slice()
        {
            self.eager_loop(stmt, iteration, head, carried, body);
            return;
        }
        for carried in &active {
            iteration.push(AdjStmt::Carry {
                exit: carried.exit,
                head: carried.head,
            });
        }
        let driven_by_tape = stmt.exit_flag.is_some();
        let mut local = defined_in(&stmt.body);
        local.extend(stmt.carried.iter().map(|carried| carried.head));
        if driven_by_tape {
            // Only the iterations that ran are replayed: their counters come
            // from the tape, not from the range.
            local.insert(stmt.index);
        }
        let countdowns: Vec<(Var, Var, Operand, bool)> = stmt
            .carried
            .iter()
            .filter_map(|carried| self.counter_step(carried, &stmt.body))
            .collect();
        let mut available: BTreeSet<Var> = countdowns.iter().map(|(head, ..)| *head).collect();
        if !driven_by_tape {
            available.insert(stmt.index);
        }
        // Replaying pays only when the loops inside would tape something.
        if !self.inner_loops_tape(&stmt.body) {
            self.replayed.remove(&stmt.tape);
        }
        // Counters stepped by inner loops are counted back too, except in a
        // loop that may stop early, and in a replayed body, which needs each
        // counter's value at the start of the iteration, before the inner
        // loops' adjoints have counted it back.
        let stepped_by_inner_loops: Vec<InnerCountdown> = if driven_by_tape || self.replayed.contains(&stmt.tape) {
            Vec::new()
        } else {
            stmt.carried
                .iter()
                .filter_map(|carried| self.inner_countdown(carried, &stmt.body, &iteration))
                .collect()
        };
        available.extend(stepped_by_inner_loops.iter().map(|countdown| countdown.next));
        let (taped, mut iteration_reads) = if self.replayed.contains(&stmt.tape) {
            // The replay defines everything the body does again, from the
            // carried heads and what the body reads from outside.
            let body_defined = defined_in(&stmt.body);
            let replay_reads = replay::free_reads(&stmt.body);
            let mut reads: BTreeSet<Var> = iteration_reads.difference(&body_defined).copied().collect();
            reads.extend(replay_reads.iter().copied());
            iteration.insert(
                0,
                AdjStmt::Replay {
                    tape: stmt.tape,
                    reads: replay_reads.into_iter().collect(),
                },
            );
            let taped = stmt
                .carried
                .iter()
                .map(|carried| carried.head)
                .filter(|head| reads.contains(head) && !available.contains(head))
                .collect();
            (taped, reads)
        } else {
            let needed: Vec<Var> = local.intersection(&iteration_reads).copied().collect();
            let (recomputed, taped) = self.rematerialize(&needed, &local, &available);
            let reads = self.prepend_recomputations(&mut iteration, &recomputed, iteration_reads);
            // A value whose adjoint reads only its shape is dropped with its
            // iteration; the tape keeps the shape.
            let read_whole = reads_besides_zeros(&iteration);
            self.shape_only.extend(
                taped
                    .iter()
                    .copied()
                    .filter(|var| !read_whole.contains(var) && !self.activity.is_number(*var)),
            );
            (taped, reads)
        };
        for (head, exit, step, increments) in &countdowns {
            // Only counters the adjoint reads, directly or through a recomputation.
            if !iteration_reads.remove(head) {
                continue;
            }
            iteration.insert(
                0,
                AdjStmt::CountdownStep {
                    head: *head,
                    step: step.clone(),
                    increments: *increments,
                },
            );
            body.push(AdjStmt::CountdownStart {
                head: *head,
                exit: *exit,
            });
        }
        for countdown in &stepped_by_inner_loops {
            iteration_reads.remove(&countdown.next);
            iteration.insert(
                0,
                AdjStmt::CountdownEnd {
                    next: countdown.next,
                    head: countdown.head,
                },
            );
            iteration.push(AdjStmt::CountdownFrom {
                head: countdown.head,
                inner: countdown.inner,
            });
            body.push(AdjStmt::CountdownStart {
                head: countdown.head,
                exit: countdown.exit,
            });
        }
        reads.extend(
            iteration_reads
                .difference(&local)
                .copied()
                .filter(|var| *var != stmt.index),
        );
        reads.extend(
            [Some(&stmt.start), stmt.end.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(Operand::var),
        );
        if driven_by_tape {
            reads.insert(stmt.trips);
        }
        self.tapes.insert(stmt.tape, taped);
        body.push(AdjStmt::Loop(Box::new(AdjointLoop {
            tape: stmt.tape,
            trips: stmt.trips,
            index: stmt.index,
            start: stmt.start.clone(),
            end: stmt.end.clone(),
            driven_by_tape,
            inclusive: stmt.inclusive,
            reverse: stmt.reverse,
            body: iteration,
        })));
        for carried in &active {
            if let Some(target) = self.target(&carried.init) {
                body.push(AdjStmt::Flow {
                    target,
                    from: carried.exit,
                });
            }
        }
    }

    /// The adjoint of an eager loop: `iteration` runs in the forward sweep,
    /// and the adjoint sweep scales what it summed by the adjoint of the sum.
    fn eager_loop(
        &mut self,
        stmt: &LoopStmt,
        mut iteration: Vec<AdjStmt>,
        head: Var,
        carried: &Carried,
        body: &mut Vec<AdjStmt>,
    ) {
        // The sum's adjoint is the unit seed in every iteration: what the
        // iteration would hand back to the one before is not needed.
        iteration.retain(|adj| !starts_or_feeds(adj, head));
        let mut mentioned = BTreeSet::new();
        let mut declared = BTreeSet::new();
        adjoint_vars(&iteration, &mut mentioned, &mut declared);
        declared.insert(carried.exit);
        let outside: Vec<Var> = mentioned.difference(&declared).copied().collect();
        let mut stored = HashSet::new();
        replay::stores_in(&stmt.body, &mut stored);
        let exported: Vec<Var> = outside.iter().copied().filter(|var| !stored.contains(var)).collect();
        self.scratch_adjoints
            .extend(outside.iter().copied().filter(|var| stored.contains(var)));
        self.tapes.insert(stmt.tape, Vec::new());
        body.push(AdjStmt::Eager {
            tape: stmt.tape,
            seed: carried.exit,
            exported: exported.clone(),
        });
        if let Some(target) = self.target(&carried.init) {
            body.push(AdjStmt::Flow {
                target,
                from: carried.exit,
            });
        }
        self.eager_loops.insert(
            stmt.tape,
            EagerLoop {
                seed: carried.exit,
                iteration,
                outside,
                exported,
            },
        );
    }

    /// Views of the parameters (`x.row(i)`, `x.col(j)`, `x.get(i, j)`) borrow
    /// them, and the pullback closure may not: it computes such values
    /// again at its start, from the arguments it is handed, instead of
    /// capturing them. Only values that may borrow (not certainly numbers)
    /// and that read nothing the body writes.
    fn recompute_borrows(&self, function_body: &Block, top: &mut Vec<AdjStmt>, reads: BTreeSet<Var>) {
        let local = defined_in(function_body);
        let borrowing: Vec<Var> = reads
            .iter()
            .copied()
            .filter(|var| local.contains(var) && !self.activity.is_number(*var))
            .filter(|var| {
                matches!(
                    self.definitions.get(var),
                    Some((_, Op::Opaque { .. } | Op::Method { .. }))
                )
            })
            .collect();
        let (recomputed, _) = self.rematerialize(&borrowing, &local, &BTreeSet::new());
        self.prepend_recomputations(top, &recomputed, reads);
    }

    /// Whether a loop inside `block` keeps anything on its tape.
    fn inner_loops_tape(&self, block: &Block) -> bool {
        block.stmts.iter().any(|stmt| match stmt {
            Stmt::Loop(inner) => {
                self.tapes.get(&inner.tape).is_some_and(|taped| !taped.is_empty()) || self.inner_loops_tape(&inner.body)
            }
            Stmt::If(branch) => self.inner_loops_tape(&branch.then_block) || self.inner_loops_tape(&branch.else_block),
            Stmt::Let { .. } | Stmt::Store { .. } => false,
        })
    }

    /// Splits the values a block's adjoint needs into those it can compute
    /// again (inactive expressions such as indices, from values available
    /// outside the block, the loop counter, or other recomputed values) and
    /// those it must keep. Both in definition order.
    fn rematerialize(&self, needed: &[Var], local: &BTreeSet<Var>, available: &BTreeSet<Var>) -> (Vec<Var>, Vec<Var>) {
        let mut recomputed = BTreeSet::new();
        let mut kept = BTreeSet::new();
        for var in needed {
            if !self.try_recompute(*var, local, available, &mut recomputed) {
                kept.insert(*var);
            }
        }
        let order = |vars: BTreeSet<Var>| {
            let mut vars: Vec<Var> = vars.into_iter().collect();
            vars.sort_by_key(|var| self.definitions.get(var).map_or(0, |(position, _)| *position));
            vars
        };
        (order(recomputed), order(kept))
    }

    /// Whether `var` can be recomputed in the block's adjoint; adds it (and
    /// the local values it reads) to `recomputed`.
    fn try_recompute(
        &self,
        var: Var,
        local: &BTreeSet<Var>,
        available: &BTreeSet<Var>,
        recomputed: &mut BTreeSet<Var>,
    ) -> bool {
        if recomputed.contains(&var) || !local.contains(&var) || available.contains(&var) {
            return true;
        }
        let Some((_, op)) = self.definitions.get(&var) else {
            return false;
        };
        let Some(reads) = self.recomputable_reads(var, op) else {
            return false;
        };
        let mut candidate = recomputed.clone();
        candidate.insert(var);
        if reads
            .iter()
            .all(|read| self.try_recompute(*read, local, available, &mut candidate))
        {
            *recomputed = candidate;
            true
        } else {
            false
        }
    }

    /// What an operation reads, if it is cheap and safe to compute again in
    /// the adjoint sweep: an inactive expression (an index, a bound) that
    /// reads no buffer the body writes, or an element read from a parameter,
    /// which nothing writes, or from a buffer nothing writes any more.
    fn recomputable_reads(&self, var: Var, op: &Op) -> Option<Vec<Var>> {
        match op {
            // Element writes leave shapes as they are, so only values count.
            Op::Opaque { reads, shapes, .. } if reads.iter().all(|read| !self.written.contains(read)) => {
                Some(reads.iter().chain(shapes).copied().collect())
            }
            Op::Index {
                base: Operand::Var(base),
                index,
            } if self.params.contains(base) || self.frozen_reads.contains(&var) => {
                Some([Some(*base), index.var()].into_iter().flatten().collect())
            }
            // A view (`x.row(i)`, `m.col(j)`) or an accessor with no
            // derivative rule (`x.get(i, j)`) of values nothing writes:
            // cheap to take again, and a closure may not keep a borrow.
            Op::Method {
                method, receiver, args, ..
            } if crate::rules::method_rule(&method.to_string()).is_none()
                || crate::rules::VIEWS.contains(&method.to_string().as_str()) =>
            {
                let reads: Vec<Var> = std::iter::once(receiver).chain(args).filter_map(Operand::var).collect();
                reads.iter().all(|read| !self.written.contains(read)).then_some(reads)
            }
            _ => None,
        }
    }

    /// A carried counter the body steps by a constant on every iteration
    /// (`k += 1` at the body's top level, no derivative): its head, exit,
    /// step, and whether it increments.
    fn counter_step(&self, carried: &Carried, body: &Block) -> Option<(Var, Var, Operand, bool)> {
        if self.activity.is_active(carried.head) {
            return None;
        }
        let next = carried.next.var()?;
        body.stmts.iter().find_map(|stmt| match stmt {
            Stmt::Let {
                var,
                op: Op::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), Operand::Var(lhs), step @ Operand::Const(_)),
                ..
            } if *var == next && *lhs == carried.head => {
                Some((carried.head, carried.exit, step.clone(), *op == BinaryOp::Add))
            }
            _ => None,
        })
    }

    /// A counter that only an inner loop steps (`for j in i + 1..d { k += 1 }`
    /// inside `for i in 0..d`), when that loop's adjoint counts it back down:
    /// after it, the inner loop's counter holds its value at the start of
    /// the outer iteration, so the outer loop needs no tape for it either.
    /// The body must not read the counter besides starting the inner loop
    /// with it, since the adjoint only learns that value at the end of the
    /// iteration.
    fn inner_countdown(&self, carried: &Carried, body: &Block, iteration: &[AdjStmt]) -> Option<InnerCountdown> {
        if self.activity.is_active(carried.head) {
            return None;
        }
        let next = carried.next.var()?;
        let (inner_position, counter) = body.stmts.iter().enumerate().find_map(|(position, stmt)| match stmt {
            Stmt::Loop(inner) if inner.exit_flag.is_none() => inner
                .carried
                .iter()
                .find(|counter| counter.exit == next && counter.init.var() == Some(carried.head))
                .map(|counter| (position, counter)),
            _ => None,
        })?;
        let counted_back = iteration.iter().any(
            |stmt| matches!(stmt, AdjStmt::CountdownStart { head, exit } if *head == counter.head && *exit == next),
        );
        let mut read_elsewhere = BTreeSet::new();
        for (position, stmt) in body.stmts.iter().enumerate() {
            match stmt {
                Stmt::Loop(inner) if position == inner_position => {
                    read_elsewhere.extend(inner.start.var());
                    read_elsewhere.extend(inner.end.as_ref().and_then(Operand::var));
                    for other in inner.carried.iter().filter(|other| other.head != counter.head) {
                        read_elsewhere.extend(other.init.var());
                    }
                    read_elsewhere.extend(inner.carried.iter().filter_map(|carried| carried.next.var()));
                    replay::mentions_in(&inner.body, &mut read_elsewhere);
                }
                _ => replay::stmt_reads(stmt, &mut read_elsewhere),
            }
        }
        (counted_back && !read_elsewhere.contains(&carried.head)).then_some(InnerCountdown {
            head: carried.head,
            exit: carried.exit,
            next,
            inner: counter.head,
        })
    }

    /// Puts the recomputations first in a block's adjoint, and returns the
    /// block's reads with the recomputed values replaced by what they read.
    fn prepend_recomputations(
        &self,
        body: &mut Vec<AdjStmt>,
        recomputed: &[Var],
        mut reads: BTreeSet<Var>,
    ) -> BTreeSet<Var> {
        for var in recomputed {
            reads.remove(var);
        }
        let inputs_of = |var: &Var| {
            self.definitions
                .get(var)
                .and_then(|(_, op)| self.recomputable_reads(*var, op))
                .unwrap_or_default()
        };
        for var in recomputed {
            reads.extend(inputs_of(var).into_iter().filter(|input| !recomputed.contains(input)));
        }
        let recomputations = recomputed.iter().map(|var| AdjStmt::Recompute {
            var: *var,
            reads: inputs_of(var),
        });
        body.splice(0..0, recomputations);
        reads
    }

    fn let_stmt(&mut self, var: Var, op: &Op, origin: Origin, body: &mut Vec<AdjStmt>) {
        if !self.activity.is_active(var) || !self.activity.op_is_active(op) {
            return;
        }
        let operands = op.operands();
        match op {
            Op::Call {
                pullback,
                args,
                gradients,
                discarded,
                ..
            } => {
                let args = args
                    .iter()
                    .map(|arg| (self.target(&arg.operand), false, arg.clone()))
                    .collect();
                body.push(AdjStmt::CallPullback {
                    pullback: *pullback,
                    out: (!discarded).then_some(var),
                    args,
                    gradients: gradients.clone(),
                    origin,
                });
            }
            Op::Array { elements, .. } => {
                // y = [a, b, ...]: each element's adjoint is ȳ at its position.
                for (position, element) in elements.iter().enumerate() {
                    if let Some(target) = self.target(element) {
                        body.push(AdjStmt::Kernel {
                            kernel: "element_pb",
                            target,
                            out: var,
                            reads: vec![Operand::Const(syn::parse_quote!(#position))],
                            span: origin.start,
                        });
                    }
                }
            }
            Op::Fill { value, .. } => {
                // y = [a; n]: ā += Σ ȳ
                if let Some(target) = self.target(value) {
                    body.push(AdjStmt::Kernel {
                        kernel: "add_scalar_pb_scalar",
                        target,
                        out: var,
                        reads: Vec::new(),
                        span: origin.start,
                    });
                }
            }
            Op::Cast(operand, _) => {
                if let Some(target) = self.target(operand) {
                    body.push(AdjStmt::Flow { target, from: var });
                }
            }
            Op::Binary(..) | Op::Neg(_) | Op::Method { .. } | Op::Index { .. } => {
                let rule = match op {
                    Op::Binary(BinaryOp::Mul, Operand::Transposed(a), Operand::Var(b)) if a == b => {
                        Some(rules::self_product_rule(true))
                    }
                    Op::Binary(BinaryOp::Mul, Operand::Var(a), Operand::Transposed(b)) if a == b => {
                        Some(rules::self_product_rule(false))
                    }
                    Op::Binary(binary, ..) => rules::binary_rule(*binary),
                    Op::Neg(_) => Some(&rules::NEG),
                    Op::Method { method, .. } => rules::method_rule(&method.to_string()),
                    Op::Index { .. } => Some(&rules::INDEX),

                    _ => None,
                };
                // Activity only marks operations that have a rule.
                let Some(rule) = rule else { return };
                for pullback in rule.pullbacks {
                    let Some(target) = operands.get(pullback.operand).and_then(|operand| self.target(operand)) else {
                        continue;
                    };
                    let reads = pullback
                        .reads
                        .iter()
                        .filter_map(|input| match input {
                            Input::Out => Some(Operand::Var(var)),
                            Input::Arg(index) => operands.get(*index).map(|operand| (*operand).clone()),
                        })
                        .collect();
                    body.push(AdjStmt::Kernel {
                        kernel: pullback.kernel,
                        target,
                        out: var,
                        reads,
                        span: origin.start,
                    });
                }
            }
            Op::Opaque { .. } => {}
        }
    }
}

/// The primal variables that adjoint statements read directly; a nested
/// branch reads its record here and the rest through its block's reads.
fn collect_reads(body: &[AdjStmt], reads: &mut BTreeSet<Var>) {
    for stmt in body {
        match stmt {
            AdjStmt::Zero(var) => {
                reads.insert(*var);
            }
            AdjStmt::Kernel { reads: operands, .. } => reads.extend(operands.iter().filter_map(Operand::var)),
            AdjStmt::CallPullback { pullback, args, .. } => {
                reads.insert(*pullback);
                reads.extend(args.iter().filter_map(|(_, _, arg)| arg.operand.var()));
            }
            AdjStmt::Branch { record, .. } => {
                reads.insert(*record);
            }
            AdjStmt::Loop(adjoint_loop) => {
                if adjoint_loop.driven_by_tape {
                    reads.insert(adjoint_loop.trips);
                }
                reads.extend(
                    [Some(&adjoint_loop.start), adjoint_loop.end.as_ref()]
                        .into_iter()
                        .flatten()
                        .filter_map(Operand::var),
                );
            }
            AdjStmt::ClearElement { index, .. } => reads.extend(index.var()),
            AdjStmt::Recompute { reads: inputs, .. } | AdjStmt::Replay { reads: inputs, .. } => {
                reads.extend(inputs.iter().copied());
            }
            AdjStmt::CountdownStart { exit, .. } => {
                reads.insert(*exit);
            }
            AdjStmt::CountdownStep { step, .. } => reads.extend(step.var()),
            AdjStmt::ZeroScalar(_)
            | AdjStmt::CountdownEnd { .. }
            | AdjStmt::CountdownFrom { .. }
            | AdjStmt::ZeroLikeAdjoint { .. }
            | AdjStmt::InitFrom { .. }
            | AdjStmt::InitSeed { .. }
            | AdjStmt::SeedInOut { .. }
            | AdjStmt::ReturnInOut { .. }
            | AdjStmt::Carry { .. }
            | AdjStmt::Seed(_)
            | AdjStmt::Flow { .. }
            | AdjStmt::Eager { .. } => {}
        }
    }
}

/// Whether `stmt` creates the adjoint of `var` or adds to it.
fn starts_or_feeds(stmt: &AdjStmt, var: Var) -> bool {
    match stmt {
        AdjStmt::Zero(other) | AdjStmt::ZeroScalar(other) => *other == var,
        AdjStmt::InitFrom { var: other, .. } | AdjStmt::ZeroLikeAdjoint { var: other, .. } => *other == var,
        AdjStmt::Kernel { target, .. } | AdjStmt::Flow { target, .. } => target.var == var,
        _ => false,
    }
}

/// The variables whose adjoints `body` touches (`mentioned`), and those whose
/// adjoints it creates (`declared`).
fn adjoint_vars(body: &[AdjStmt], mentioned: &mut BTreeSet<Var>, declared: &mut BTreeSet<Var>) {
    for stmt in body {
        match stmt {
            AdjStmt::Zero(var) | AdjStmt::ZeroScalar(var) | AdjStmt::InitSeed { var, .. } => {
                declared.insert(*var);
            }
            AdjStmt::ZeroLikeAdjoint { var, like } => {
                declared.insert(*var);
                mentioned.insert(*like);
            }
            AdjStmt::InitFrom { var, from, .. } => {
                declared.insert(*var);
                mentioned.insert(*from);
            }
            AdjStmt::Seed(var)
            | AdjStmt::SeedInOut { var, .. }
            | AdjStmt::ReturnInOut { var, .. }
            | AdjStmt::ClearElement { buffer: var, .. } => {
                mentioned.insert(*var);
            }
            AdjStmt::Kernel { target, out, .. } => mentioned.extend([target.var, *out]),
            AdjStmt::Flow { target, from } => mentioned.extend([target.var, *from]),
            AdjStmt::CallPullback { out, args, .. } => {
                mentioned.extend(*out);
                for (target, starts, arg) in args {
                    if let Some(target) = target {
                        if *starts {
                            declared.insert(target.var);
                        } else {
                            mentioned.insert(target.var);
                        }
                    }
                    mentioned.extend(arg.mutated);
                }
            }
            AdjStmt::Carry { exit, head } => mentioned.extend([*exit, *head]),
            AdjStmt::Eager { seed, exported, .. } => {
                mentioned.insert(*seed);
                mentioned.extend(exported.iter().copied());
            }
            AdjStmt::Branch {
                then_body, else_body, ..
            } => {
                adjoint_vars(then_body, mentioned, declared);
                adjoint_vars(else_body, mentioned, declared);
            }
            AdjStmt::Loop(adjoint_loop) => adjoint_vars(&adjoint_loop.body, mentioned, declared),
            AdjStmt::Recompute { .. }
            | AdjStmt::Replay { .. }
            | AdjStmt::CountdownStart { .. }
            | AdjStmt::CountdownStep { .. }
            | AdjStmt::CountdownEnd { .. }
            | AdjStmt::CountdownFrom { .. } => {}
        }
    }
}

/// The variables a block defines at its own level (not inside nested
/// branches): its `let`s, the pullbacks of its calls, the records and outputs
/// of its `if`s.
pub fn defined_in(block: &Block) -> BTreeSet<Var> {
    let mut defined = BTreeSet::new();
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                defined.insert(*var);
                if let Op::Call { pullback, args, .. } = op {
                    defined.insert(*pullback);
                    defined.extend(args.iter().filter_map(|arg| arg.mutated));
                }
            }
            Stmt::If(stmt) => {
                defined.insert(stmt.record);
                defined.extend(stmt.outputs.iter().map(|phi| phi.var));
            }
            Stmt::Loop(stmt) => {
                defined.insert(stmt.trips);
                defined.extend(stmt.carried.iter().map(|carried| carried.exit));
            }
            Stmt::Store { .. } => {}
        }
    }
    defined
}

/// The variables a branch defines at its own level that its adjoint reads.
fn branch_residuals(block: &Block, reads: &BTreeSet<Var>) -> Vec<Var> {
    defined_in(block).intersection(reads).copied().collect()
}

/// Every `let` of the body with its operation and its position.
fn collect_definitions<'a>(block: &'a Block, out: &mut HashMap<Var, (usize, &'a Op)>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, op, .. } => {
                let position = out.len();
                out.insert(*var, (position, op));
            }
            Stmt::If(stmt) => {
                collect_definitions(&stmt.then_block, out);
                collect_definitions(&stmt.else_block, out);
            }
            Stmt::Loop(stmt) => collect_definitions(&stmt.body, out),
            Stmt::Store { .. } => {}
        }
    }
}

/// An adjoint created as zero and then given one contribution costs a fill
/// and an addition where a copy (or a move, for a gradient a pullback
/// returns) does: in one block of the adjoint sweep, when the first statement
/// touching a fresh zero adjoint adds a whole value to it, that value starts
/// the adjoint instead.
fn start_from_first_contributions(body: &mut Vec<AdjStmt>) {
    let mut index = 0;
    while index < body.len() {
        let (var, scalar) = match &body[index] {
            AdjStmt::Zero(var) | AdjStmt::ZeroLikeAdjoint { var, .. } => (*var, false),
            AdjStmt::ZeroScalar(var) => (*var, true),
            _ => {
                index += 1;
                continue;
            }
        };
        let first = body[index + 1..].iter().position(|stmt| mentions(stmt, var));
        let fused = first.is_some_and(|offset| start_with(&mut body[index + 1 + offset], var, scalar));
        if fused {
            body.remove(index);
        } else {
            index += 1;
        }
    }
}

/// A value whose adjoint only one arm of a branch feeds has a zero adjoint
/// on the other path, so what that adjoint then flows into (`x̄[i] += v̄` for
/// `v = x[i]` read before `if v > top { top = v }`) is done in that arm
/// alone: the other path skips an addition of zero, which for a buffer is a
/// read and a write of memory.
///
/// The statements moved are the ones right after the branch that pass the
/// adjoint of such a value on (`Kernel`, `Flow`); the value's adjoint must be
/// created as a zero in this block, before the branch, and touched nowhere
/// else. An adjoint that lives across the block (a buffer's, carried between
/// iterations) holds what later statements added on both paths, so what it
/// flows into is never moved. The block's
/// reads were collected before, and the arm has every value of the block in
/// scope, so nothing else changes.
fn sink_into_branches(body: &mut Vec<AdjStmt>) {
    let mut branch = 0;
    while branch < body.len() {
        if !matches!(body[branch], AdjStmt::Branch { .. }) {
            branch += 1;
            continue;
        }
        while let Some(next) = body.get(branch + 1) {
            let Some(from) = passed_on(next) else {
                break;
            };
            let fresh = body[..branch].iter().any(|stmt| creates_zero(stmt, from));
            let elsewhere = body.iter().enumerate().any(|(position, stmt)| {
                position != branch && position != branch + 1 && !creates_zero(stmt, from) && mentions(stmt, from)
            });
            let AdjStmt::Branch {
                then_body, else_body, ..
            } = &body[branch]
            else {
                break;
            };
            let in_then = then_body.iter().any(|stmt| mentions(stmt, from));
            let in_else = else_body.iter().any(|stmt| mentions(stmt, from));
            if !fresh || elsewhere || in_then == in_else {
                break;
            }
            let moved = body.remove(branch + 1);
            if let AdjStmt::Branch {
                then_body, else_body, ..
            } = &mut body[branch]
            {
                if in_then { then_body } else { else_body }.push(moved);
            }
        }
        branch += 1;
    }
}

/// Whether `block` computes an array whose shape need not be that of its
/// operands: a matrix product, a transpose, a new buffer, or a call or
/// method that returns an array (other than a copy or an element-wise
/// function of `chainrule::ops`).
fn may_reshape(block: &Block, activity: &Activity) -> bool {
    let array = |operand: &Operand| match operand {
        Operand::Var(var) => !activity.is_scalar(*var),
        Operand::Transposed(_) => true,
        Operand::Const(_) => false,
    };
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Let { var, op, .. } => {
            let transposes = op
                .operands()
                .iter()
                .any(|operand| matches!(operand, Operand::Transposed(_)));
            transposes
                || match op {
                    Op::Binary(BinaryOp::Mul, lhs, rhs) => array(lhs) && array(rhs),
                    Op::Array { .. } | Op::Fill { .. } => true,
                    Op::Call { elementwise, .. } => !elementwise && !activity.is_scalar(*var),
                    Op::Method { method, .. } => {
                        !matches!(method.to_string().as_str(), "clone" | "to_owned") && !activity.is_scalar(*var)
                    }
                    _ => false,
                }
        }
        Stmt::If(stmt) => may_reshape(&stmt.then_block, activity) || may_reshape(&stmt.else_block, activity),
        Stmt::Loop(stmt) => may_reshape(&stmt.body, activity),
        Stmt::Store { .. } => false,
    })
}

/// Whether `stmt` creates the adjoint of `var` as a zero.
fn creates_zero(stmt: &AdjStmt, var: Var) -> bool {
    matches!(stmt, AdjStmt::Zero(zeroed) | AdjStmt::ZeroScalar(zeroed) | AdjStmt::ZeroLikeAdjoint { var: zeroed, .. } if *zeroed == var)
}

/// The value whose adjoint `stmt` passes on to another.
fn passed_on(stmt: &AdjStmt) -> Option<Var> {
    match stmt {
        AdjStmt::Kernel { target, out, .. } if target.var != *out => Some(*out),
        AdjStmt::Flow { target, from } if target.var != *from => Some(*from),
        _ => None,
    }
}

/// Makes `stmt`, the first to touch `adj_var`, start it; false if it cannot
/// (it reads the adjoint, or adds only part of a value, or a transposed one).
fn start_with(stmt: &mut AdjStmt, var: Var, scalar: bool) -> bool {
    match stmt {
        AdjStmt::Seed(seeded) if *seeded == var => {
            *stmt = AdjStmt::InitSeed { var, scalar };
            true
        }
        AdjStmt::Flow { target, from } if target.var == var && !target.transposed && *from != var => {
            *stmt = AdjStmt::InitFrom {
                var,
                from: *from,
                scalar,
            };
            true
        }
        AdjStmt::CallPullback { out, args, .. } if *out != Some(var) => {
            let by_reference =
                |arg: &CallArg| arg.mutated == Some(var) || (arg.buffer && arg.operand.var() == Some(var));
            if args.iter().any(|(_, _, arg)| by_reference(arg)) {
                return false;
            }
            // The one argument whose gradient goes to `var`: an argument lent
            // by `&mut` (`f(&mut s, t)` with `s` and `t` both `x`) adds its own.
            let mut targets = args
                .iter_mut()
                .filter(|(target, ..)| target.is_some_and(|target| target.var == var));
            match (targets.next(), targets.next()) {
                (Some((Some(target), starts, arg)), None)
                    if !target.transposed && arg.mutated.is_none() && !arg.buffer =>
                {
                    *starts = true;
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a statement reads, writes or creates the adjoint of `var`.
fn mentions(stmt: &AdjStmt, var: Var) -> bool {
    let mut mentioned = BTreeSet::new();
    let mut declared = BTreeSet::new();
    adjoint_vars(std::slice::from_ref(stmt), &mut mentioned, &mut declared);
    mentioned.contains(&var) || declared.contains(&var)
}

/// The adjoints that statements add to after they are created, which are
/// therefore declared `mut`.
fn collect_accumulated(body: &[AdjStmt], accumulated: &mut HashSet<Var>) {
    for stmt in body {
        match stmt {
            AdjStmt::Seed(var) | AdjStmt::ClearElement { buffer: var, .. } | AdjStmt::Carry { exit: var, .. } => {
                accumulated.insert(*var);
            }
            AdjStmt::Kernel { target, .. } | AdjStmt::Flow { target, .. } => {
                accumulated.insert(target.var);
            }
            AdjStmt::CallPullback { args, .. } => {
                accumulated.extend(
                    args.iter()
                        .filter(|(_, starts, _)| !starts)
                        .filter_map(|(target, ..)| target.map(|target| target.var)),
                );
                accumulated.extend(args.iter().filter_map(|(_, _, arg)| arg.mutated));
            }
            AdjStmt::SeedInOut { var, .. } => {
                accumulated.insert(*var);
            }
            AdjStmt::Eager { exported, .. } => accumulated.extend(exported.iter().copied()),
            AdjStmt::Branch {
                then_body, else_body, ..
            } => {
                collect_accumulated(then_body, accumulated);
                collect_accumulated(else_body, accumulated);
            }
            AdjStmt::Loop(adjoint_loop) => collect_accumulated(&adjoint_loop.body, accumulated),
            AdjStmt::Zero(_)
            | AdjStmt::ZeroScalar(_)
            | AdjStmt::ZeroLikeAdjoint { .. }
            | AdjStmt::InitFrom { .. }
            | AdjStmt::InitSeed { .. }
            | AdjStmt::ReturnInOut { .. }
            | AdjStmt::Recompute { .. }
            | AdjStmt::Replay { .. }
            | AdjStmt::CountdownStart { .. }
            | AdjStmt::CountdownStep { .. }
            | AdjStmt::CountdownEnd { .. }
            | AdjStmt::CountdownFrom { .. } => {}
        }
    }
}

/// The values `body` computes again, at any depth.
fn collect_recomputed(body: &[AdjStmt], recomputed: &mut HashSet<Var>) {
    for stmt in body {
        match stmt {
            AdjStmt::Recompute { var, .. } => {
                recomputed.insert(*var);
            }
            AdjStmt::Branch {
                then_body, else_body, ..
            } => {
                collect_recomputed(then_body, recomputed);
                collect_recomputed(else_body, recomputed);
            }
            AdjStmt::Loop(adjoint_loop) => collect_recomputed(&adjoint_loop.body, recomputed),
            _ => {}
        }
    }
}

/// Every primal variable `body` reads, nested branches included.
pub fn all_reads(body: &[AdjStmt]) -> BTreeSet<Var> {
    reads_at_any_depth(body, true)
}

/// Every primal variable `body` reads other than for the shape of a zero
/// adjoint (`AdjStmt::Zero`), nested branches included.
fn reads_besides_zeros(body: &[AdjStmt]) -> BTreeSet<Var> {
    reads_at_any_depth(body, false)
}

fn reads_at_any_depth(body: &[AdjStmt], with_zeros: bool) -> BTreeSet<Var> {
    let mut reads = BTreeSet::new();
    for stmt in body {
        if with_zeros || !matches!(stmt, AdjStmt::Zero(_)) {
            collect_reads(std::slice::from_ref(stmt), &mut reads);
        }
        match stmt {
            AdjStmt::Branch {
                then_body, else_body, ..
            } => {
                reads.extend(reads_at_any_depth(then_body, with_zeros));
                reads.extend(reads_at_any_depth(else_body, with_zeros));
            }
            AdjStmt::Loop(adjoint_loop) => reads.extend(reads_at_any_depth(&adjoint_loop.body, with_zeros)),
            _ => {}
        }
    }
    reads
}
