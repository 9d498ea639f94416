//! Loops whose iterations the adjoint sweep runs again instead of taping
//! them (`replay.rs` in the macro), and loops that look alike but must be
//! taped: buffers overwritten whole in every iteration (scratch), buffers
//! read after they stopped changing (settled), and buffers that carry state
//! from one iteration to the next, are written after the loop, or only
//! partly overwritten. Only loops with cheap bodies are replayed, so the
//! bodies here are polynomial. Every function is checked against central finite
//! differences at random points, through `_grad`, `_vjp` and `_pullback`.

#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::prelude::*;

/// A scratch buffer `centered`, overwritten whole at the top of every
/// iteration, and a settled buffer `scale`, written before the loop: the
/// outer loop is replayed. (`total` is scaled in every iteration, so the
/// loop is not a plain running sum, which `eager.rs` would run eagerly.)
#[differentiate(wrt(x))]
fn scratch_and_settled(x: &[f64], n: usize) -> f64 {
    let mut scale = vec![0.0; n];
    for j in 0..n {
        scale[j] = (0.3 * x[j]).exp();
    }
    let mut centered = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            centered[j] = x[j] - x[i];
        }
        let mut s = 0.0;
        for j in 0..n {
            s += scale[j] * centered[j] * centered[j] * centered[j];
        }
        total = 0.9 * total + s * s;
    }
    total
}

#[test]
fn scratch_and_settled_buffers_are_replayed() {
    check_slice_function!(scratch_and_settled, scratch_and_settled_grad, scratch_and_settled_vjp,
        scratch_and_settled_pullback; 4, 4, -1.0, 1.0);
}

/// `acc` carries state from one outer iteration to the next (read before it
/// is overwritten): the outer loop must be taped, not replayed.
#[differentiate(wrt(a))]
fn accumulated_rows(a: &[f64], n: usize) -> f64 {
    let mut acc = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            acc[j] += a[i * n + j] * acc[j] * acc[j] + a[i * n + j];
        }
        total += acc[i] * acc[i];
    }
    total
}

#[test]
fn a_buffer_carried_between_iterations_is_taped() {
    check_slice_function!(accumulated_rows, accumulated_rows_grad, accumulated_rows_vjp,
        accumulated_rows_pullback; 3, 9, -1.0, 1.0);
}

/// `w` is read in the nested loops and written again after them, so its
/// final state is not the one they read.
#[differentiate(wrt(x))]
fn written_after(x: &[f64], n: usize) -> f64 {
    let mut w = vec![0.0; n];
    for j in 0..n {
        w[j] = x[j].exp();
    }
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += w[j] * x[i] * w[j] * x[i];
        }
    }
    for j in 0..n {
        w[j] = 0.5 * w[j] * x[j];
    }
    let mut t = 0.0;
    for j in 0..n {
        t += w[j] * w[j];
    }
    s + t
}

#[test]
fn a_buffer_written_after_the_loop_is_taped() {
    check_slice_function!(written_after, written_after_grad, written_after_vjp, written_after_pullback;
        3, 3, -1.0, 1.0);
}

/// `tmp` is overwritten only in part (all but its last element) before it
/// is read whole: not scratch.
#[differentiate(wrt(x))]
fn partly_overwritten(x: &[f64], n: usize) -> f64 {
    let mut tmp = vec![1.0; n];
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n - 1 {
            tmp[j] = x[j] * x[i];
        }
        tmp[n - 1] = tmp[n - 1] * 0.5 + x[i];
        let mut s = 0.0;
        for j in 0..n {
            s += tmp[j] * tmp[j] * tmp[j];
        }
        total += s * s;
    }
    total
}

#[test]
fn a_buffer_overwritten_in_part_is_taped() {
    check_slice_function!(partly_overwritten, partly_overwritten_grad, partly_overwritten_vjp,
        partly_overwritten_pullback; 4, 4, -1.0, 1.0);
}

/// The outer loop rewrites `w` whole and then runs nested loops that read
/// it: the inner pair is not replayable on its own (`w` changes in the
/// outer loop), the outer loop is.
#[differentiate(wrt(x))]
fn rewritten_each_round(x: &[f64], n: usize) -> f64 {
    let mut w = vec![0.0; n];
    let mut total = 0.0;
    for r in 0..3 {
        for j in 0..n {
            w[j] = x[j] * (r as f64 + 1.0) - x[j] * x[j];
        }
        for i in 0..n {
            for j in 0..n {
                total += w[j] * x[i] * w[i];
            }
        }
    }
    total
}

#[test]
fn an_outer_loop_rewriting_a_buffer_is_replayed_whole() {
    check_slice_function!(rewritten_each_round, rewritten_each_round_grad, rewritten_each_round_vjp,
        rewritten_each_round_pullback; 3, 3, -1.5, 1.5);
}

/// Branches and a loop-carried value inside a replayed loop: the replay
/// makes the branch records again.
#[differentiate(wrt(x))]
fn branches_and_carried(x: &[f64], n: usize) -> f64 {
    let mut product = 1.0;
    for i in 0..n {
        let mut s = 0.0;
        for j in 0..n {
            let t = x[j] * product;
            if t > 0.0 {
                s += 0.5 * t * t;
            } else {
                s -= t * x[i];
            }
        }
        product = 0.5 * product + 0.1 * s;
    }
    product
}

#[test]
fn branches_and_carried_values_in_a_replayed_loop() {
    check_slice_function!(branches_and_carried, branches_and_carried_grad, branches_and_carried_vjp,
        branches_and_carried_pullback; 4, 4, -1.0, 1.0);
}

/// Look-alike of a scratch buffer: the inner loop's bound `idx[0]` is
/// written alike to the buffer's length `vec![0.0; idx[0]]`, but `idx[0]`
/// changed in between, so the loop overwrites only part of the buffer and
/// each round reads what the previous one left.
#[differentiate(wrt(x))]
#[allow(clippy::useless_vec)]
fn bound_read_from_a_rewritten_buffer(x: &[f64], n: usize) -> f64 {
    let mut idx = vec![n, 0];
    let mut buf = vec![0.0; idx[0]];
    idx[0] = 1;
    let mut s = 0.5;
    for r in 0..n {
        for i in 0..idx[0] {
            buf[i] = x[i] * s;
        }
        let mut t = 0.0;
        for j in 0..n {
            t += buf[j] * x[(j + r) % n];
        }
        for j in 1..n {
            buf[j] = t * x[j];
        }
        s += t * 0.5;
    }
    s
}

#[test]
fn a_bound_that_looks_like_the_length_but_was_changed() {
    for n in [2, 3] {
        check_slice_function!(bound_read_from_a_rewritten_buffer, bound_read_from_a_rewritten_buffer_grad,
            bound_read_from_a_rewritten_buffer_vjp, bound_read_from_a_rewritten_buffer_pullback; n, n, -1.0, 1.0);
    }
}
