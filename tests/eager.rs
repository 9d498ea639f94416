//! Running sums whose adjoint runs inside the forward sweep (`eager.rs` in
//! the macro): each iteration's gradient is computed right after the
//! iteration with the unit seed, summed, and scaled by the sum's adjoint in
//! the adjoint sweep. Also loops that look alike but must not run eagerly:
//! the sum read inside the loop, two sums, a buffer carried from one
//! iteration to the next, a buffer read after the loop, a helper writing
//! through `&mut`. Every function is checked against central finite
//! differences at random points, through `_grad`, `_vjp` and `_pullback`
//! (random seeds, so the scaling by the sum's adjoint is checked too).

// `up = e + up` is written out on purpose: it is one of the shapes tested.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

#[macro_use]
mod common;

use chainrule::prelude::*;

/// A mixture model in miniature: per point, a scratch buffer overwritten
/// whole, nested loops, a maximum found by a branch, a log-sum-exp; values
/// computed before the loop (`scale`, `mean`) are read inside it. The sum's
/// adjoint is not 1: the result is a non-linear function of it.
#[differentiate(wrt(x))]
fn mixture(x: &[f64], n: usize) -> f64 {
    let mut scale = vec![0.0; n];
    for j in 0..n {
        scale[j] = (0.3 * x[j]).exp();
    }
    let mut mean = 0.0;
    for j in 0..n {
        mean += x[j] / n as f64;
    }
    let mut centered = vec![0.0; n];
    let mut terms = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        for k in 0..n {
            for j in 0..n {
                centered[j] = scale[k] * (x[j] - x[i]) + mean;
            }
            let mut q = 0.0;
            for j in 0..n {
                q += centered[j] * centered[j];
            }
            terms[k] = -0.5 * q;
        }
        let mut mx = terms[0];
        for k in 1..n {
            if terms[k] > mx {
                mx = terms[k];
            }
        }
        let mut sum_exp = 0.0;
        for k in 0..n {
            sum_exp += (terms[k] - mx).exp();
        }
        total += sum_exp.ln() + mx;
    }
    total * total + total.sin()
}

#[test]
fn a_mixture_model_sum_runs_eagerly() {
    check_slice_function!(mixture, mixture_grad, mixture_vjp, mixture_pullback; 4, 4, -1.0, 1.0);
}

#[differentiate]
fn pair_term(a: f64, b: f64) -> f64 {
    (a * b).sin() + a * a * b
}

/// A call of another differentiated function in every iteration: its
/// pullback runs right after it.
#[differentiate(wrt(x))]
fn calls_in_sum(x: &[f64], n: usize) -> f64 {
    let mut s = x[0];
    for i in 0..n {
        let next = x[(i + 1) % n];
        // `tanh` makes the term an `f64` the macro knows of (it cannot see
        // what `pair_term` returns), which a running sum must be.
        s += pair_term(x[i], next).tanh();
    }
    s.exp()
}

#[test]
fn calls_inside_a_running_sum() {
    check_slice_function!(calls_in_sum, calls_in_sum_grad, calls_in_sum_vjp, calls_in_sum_pullback;
        5, 5, -1.0, 1.0);
}

/// The three shapes of a running sum: `s = s − e`, `s = e + s`, and a sum
/// starting from an active value.
#[differentiate(wrt(x))]
fn sum_shapes(x: &[f64], n: usize) -> f64 {
    let mut down = 0.0;
    for i in 0..n {
        down -= pair_term(x[i], x[0]).cosh();
    }
    let mut up = x[1] * x[1];
    for i in 0..n {
        let mut local = 0.0;
        for j in 0..n {
            local += x[j] * x[i];
        }
        up = local.tanh() + up;
    }
    down * up
}

#[test]
fn subtracted_and_left_added_sums() {
    check_slice_function!(sum_shapes, sum_shapes_grad, sum_shapes_vjp, sum_shapes_pullback; 4, 4, -1.0, 1.0);
}

/// A branch inside the sum, whose record is read by the iteration's adjoint
/// right after it is made.
#[differentiate(wrt(x))]
fn branchy_sum(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let mut t = 0.0;
        for j in 0..n {
            t += x[j] * x[(i + j) % n] / n as f64;
        }
        let term = if t > 0.1 { t.sqrt() * x[i] } else { t * t - x[i] };
        s += term;
    }
    s
}

#[test]
fn branches_inside_a_running_sum() {
    check_slice_function!(branchy_sum, branchy_sum_grad, branchy_sum_vjp, branchy_sum_pullback; 5, 5, -1.0, 1.0);
}

/// The sum is read inside the loop: its adjoint changes from one iteration
/// to the next, so the loop is taped.
#[differentiate(wrt(x))]
fn sum_read_inside(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let damped = 0.3 * s;
        s += (x[i] + damped).sin();
    }
    s
}

#[test]
fn a_sum_read_inside_its_loop_is_taped() {
    check_slice_function!(sum_read_inside, sum_read_inside_grad, sum_read_inside_vjp, sum_read_inside_pullback;
        5, 5, -1.0, 1.0);
}

/// Two running sums: one unit seed cannot stand for both adjoints.
#[differentiate(wrt(x))]
fn two_sums(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut t = 0.0;
    for i in 0..n {
        s += x[i] * x[i];
        t += x[i].sin();
    }
    s * t
}

#[test]
fn two_sums_in_one_loop_are_taped() {
    check_slice_function!(two_sums, two_sums_grad, two_sums_vjp, two_sums_pullback; 5, 5, -1.0, 1.0);
}

/// `previous` carries a value from one iteration to the next through a
/// buffer: iterations are not independent, so the loop is taped.
#[differentiate(wrt(x))]
fn carried_through_buffer(x: &[f64], n: usize) -> f64 {
    let mut previous = vec![1.0; n];
    let mut s = 0.0;
    for i in 0..n {
        s += previous[0] * x[i].sin();
        previous[0] = x[i] * x[i];
    }
    s
}

#[test]
fn a_buffer_carried_between_iterations_is_taped() {
    check_slice_function!(carried_through_buffer, carried_through_buffer_grad, carried_through_buffer_vjp,
        carried_through_buffer_pullback; 5, 5, -1.0, 1.0);
}

/// `last` is overwritten whole in every iteration, but read after the loop:
/// its adjoint flows back into the loop's final iteration, so the loop is
/// taped.
#[differentiate(wrt(x))]
fn scratch_read_after(x: &[f64], n: usize) -> f64 {
    let mut last = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            last[j] = x[j] * x[i];
        }
        s += last[i].exp();
    }
    s + last[0] * last[n - 1]
}

#[test]
fn a_scratch_buffer_read_after_the_loop_is_taped() {
    check_slice_function!(scratch_read_after, scratch_read_after_grad, scratch_read_after_vjp,
        scratch_read_after_pullback; 4, 4, -1.0, 1.0);
}

#[differentiate]
fn double_in_place(v: &mut f64) {
    *v = 2.0 * *v * *v;
}

/// A helper writes through `&mut` inside the sum: such loops are left to
/// the tape.
#[differentiate(wrt(x))]
fn mutating_helper_in_sum(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let mut v = x[i];
        double_in_place(&mut v);
        s += v * x[0];
    }
    s
}

#[test]
fn a_sum_calling_a_mutating_helper_is_taped() {
    check_slice_function!(mutating_helper_in_sum, mutating_helper_in_sum_grad, mutating_helper_in_sum_vjp,
        mutating_helper_in_sum_pullback; 4, 4, -1.0, 1.0);
}

/// The sum starts from an active value and adds only constants: the
/// iteration's adjoint has nothing to do, and must say nothing (no unused
/// adjoint warnings) and change nothing.
#[differentiate(wrt(x))]
fn constant_terms(x: &[f64], n: usize) -> f64 {
    let mut s = x[0] * x[1];
    for i in 0..n {
        let mut c = 0.0;
        for j in 0..i {
            c += j as f64;
        }
        s += c;
    }
    s * x[0]
}

#[test]
fn a_sum_of_constants_from_an_active_start() {
    check_slice_function!(constant_terms, constant_terms_grad, constant_terms_vjp, constant_terms_pullback;
        3, 3, -1.0, 1.0);
}
