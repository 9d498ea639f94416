//! Element reads that do not change inside a loop are read once before it
//! (`hoist.rs` in the macro), and look-alikes that must stay in the loop: a
//! buffer the loop writes, an index that changes. Empty loops whose
//! invariant read would be out of bounds, or whose index would underflow,
//! must not panic. Every function is checked against central finite
//! differences at random points, through `_grad`, `_vjp` and `_pullback`.

#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::prelude::*;

/// The triangular product of the GMM objective, three times over a scratch
/// buffer rewritten each time: `xc[i]` is the same for every `j`, and the
/// loop over `j` is empty when `i = n − 1`. `x` holds the n entries of the
/// point, then the n(n−1)/2 of the strictly lower triangle.
#[differentiate(wrt(x))]
fn triangular(x: &[f64], n: usize) -> f64 {
    let mut xc = vec![0.0; n];
    let mut q = vec![0.0; n];
    let mut s = 0.0;
    for r in 0..3 {
        for i in 0..n {
            xc[i] = x[i] * (r as f64 + 1.0) - 0.5;
        }
        for i in 0..n {
            q[i] = x[i].exp() * xc[i];
        }
        let mut p = n;
        for i in 0..n {
            for j in i + 1..n {
                q[j] += x[p] * xc[i];
                p += 1;
            }
        }
        for i in 0..n {
            s += q[i] * q[i];
        }
    }
    s
}

#[test]
fn an_invariant_read_of_a_rewritten_scratch_buffer() {
    check_slice_function!(triangular, triangular_grad, triangular_vjp, triangular_pullback; 4, 4 + 6, -1.0, 1.0);
}

/// `x[i - 1]` for every `j < i`: at `i = 0` the loop is empty and `i - 1`
/// would underflow, so the read must not run before it.
#[differentiate(wrt(x))]
fn previous_element(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..i {
            s += x[i - 1] * x[j].sin();
        }
    }
    s
}

#[test]
fn an_index_that_underflows_in_an_empty_loop() {
    check_slice_function!(
        previous_element,
        previous_element_grad,
        previous_element_vjp,
        previous_element_pullback;
        5, 5, -2.0, 2.0
    );
}

/// `x[k]` for `j` in `k..n`, with `k` up to `n` inclusive: at `k = n` the
/// loop is empty and the read would be out of bounds.
#[differentiate(wrt(x))]
fn past_the_end(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for k in 0..=n {
        for j in k..n {
            s += x[k] * x[j] * x[j];
        }
    }
    s
}

#[test]
fn a_read_past_the_end_in_an_empty_loop() {
    check_slice_function!(past_the_end, past_the_end_grad, past_the_end_vjp, past_the_end_pullback; 4, 4, -1.0, 1.0);
}

/// Look-alikes of the triangular product's `xc[i]`, which is read unguarded
/// before the loop over `j` since `xc` has as many elements as `i` counts:
/// here `short` has n − 1 elements, read at `i < n` only while the loop over
/// `j > i` runs (not at i = n − 1), and `long` has n, read at `k ≤ n` only
/// while the loop over `j ≥ k` runs (not at k = n). Both reads must stay
/// guarded.
#[differentiate(wrt(x))]
fn in_bounds_only_while_the_loop_runs(x: &[f64], n: usize) -> f64 {
    let mut short = vec![0.0; n - 1];
    for i in 0..n - 1 {
        short[i] = x[i] * x[i + 1];
    }
    let mut long = vec![0.0; n];
    for i in 0..n {
        long[i] = x[i].sin();
    }
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += short[i] * x[j];
        }
    }
    for k in 0..=n {
        for j in k..n {
            s += long[k] * x[j];
        }
    }
    s
}

#[test]
fn reads_of_local_buffers_in_bounds_only_while_the_loop_runs() {
    check_slice_function!(
        in_bounds_only_while_the_loop_runs,
        in_bounds_only_while_the_loop_runs_grad,
        in_bounds_only_while_the_loop_runs_vjp,
        in_bounds_only_while_the_loop_runs_pullback;
        4, 4, -1.0, 1.0
    );
}

/// Look-alike: `v[0]` does not change its index but the loop writes it, so
/// each iteration reads the value the previous one stored.
#[differentiate(wrt(x))]
fn written_in_the_loop(x: &[f64], n: usize) -> f64 {
    let mut v = vec![1.0; n];
    let mut s = 0.0;
    for j in 0..n {
        s += v[0] * x[j];
        v[0] = s.sin();
    }
    s
}

#[test]
fn a_buffer_the_loop_writes_is_read_every_iteration() {
    check_slice_function!(
        written_in_the_loop,
        written_in_the_loop_grad,
        written_in_the_loop_vjp,
        written_in_the_loop_pullback;
        4, 4, -1.0, 1.0
    );
}

/// Look-alike: the index `m` is reassigned in the loop, so `x[m]` changes.
#[differentiate(wrt(x))]
fn moving_index(x: &[f64], n: usize) -> f64 {
    let mut m = 0;
    let mut s = 0.0;
    for j in 0..n {
        s += x[m] * x[j].cos();
        m = (m + 2) % n;
    }
    s
}

#[test]
fn an_index_the_loop_changes_is_read_every_iteration() {
    check_slice_function!(moving_index, moving_index_grad, moving_index_vjp, moving_index_pullback; 5, 5, -1.0, 1.0);
}

/// Look-alike: `x[v.len() - 1]` reads no element of `v`, only its length,
/// which changes as the loop reassigns `v`.
#[differentiate(wrt(x))]
fn length_of_a_reassigned_buffer(x: &[f64], n: usize) -> f64 {
    let mut v = vec![0.0; n];
    let mut s = 0.0;
    for j in 0..n {
        s += x[v.len() - 1] * x[j].exp();
        v = vec![s; j % 3 + 1];
    }
    s + v[0]
}

#[test]
fn an_index_from_the_length_of_a_reassigned_buffer() {
    check_slice_function!(
        length_of_a_reassigned_buffer,
        length_of_a_reassigned_buffer_grad,
        length_of_a_reassigned_buffer_vjp,
        length_of_a_reassigned_buffer_pullback;
        5, 5, -1.0, 1.0
    );
}

/// Look-alike: `v == w` compares whole buffers, and the loop writes `v`.
#[differentiate(wrt(x))]
fn compares_a_buffer_the_loop_writes(x: &[f64], n: usize) -> f64 {
    let mut v = vec![0.0; n];
    let w = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        let same = v == w;
        let a = x[0];
        if same {
            s += a * x[i];
        } else {
            s -= 2.0 * a * x[i];
        }
        v[i] = 1.0;
    }
    s
}

/// Look-alike: `p.swap(0, 2)` writes the buffer without an element store,
/// so `p[0]` changes from one iteration to the next.
#[differentiate(wrt(x))]
fn index_buffer_swapped_in_the_loop(x: &[f64], n: usize) -> f64 {
    let mut p = [0.5, 1.0, 2.0];
    p[1] = 1.5;
    let mut s = 0.0;
    for j in 0..n {
        s += p[0] * x[j];
        p.swap(0, 2);
    }
    s
}

/// Look-alike: `w.fill(…)` rewrites a buffer of floats the loop reads.
#[differentiate(wrt(x))]
fn buffer_filled_in_the_loop(x: &[f64], n: usize) -> f64 {
    let mut w = vec![1.0; n];
    w[0] = 2.0;
    let mut s = 0.0;
    for j in 0..n {
        s += w[0] * x[j];
        w.fill(0.5);
    }
    s
}

#[test]
fn buffers_changed_by_comparisons_and_methods_are_read_every_iteration() {
    check_slice_function!(
        compares_a_buffer_the_loop_writes,
        compares_a_buffer_the_loop_writes_grad,
        compares_a_buffer_the_loop_writes_vjp,
        compares_a_buffer_the_loop_writes_pullback;
        3, 3, -1.0, 1.0
    );
    check_slice_function!(
        index_buffer_swapped_in_the_loop,
        index_buffer_swapped_in_the_loop_grad,
        index_buffer_swapped_in_the_loop_vjp,
        index_buffer_swapped_in_the_loop_pullback;
        4, 4, -1.0, 1.0
    );
    check_slice_function!(
        buffer_filled_in_the_loop,
        buffer_filled_in_the_loop_grad,
        buffer_filled_in_the_loop_vjp,
        buffer_filled_in_the_loop_pullback;
        4, 4, -1.0, 1.0
    );
}

/// Elements that are not `f64` (here `&Mat<f64>`) stay where they are read.
#[differentiate(wrt(x))]
fn reads_matrices_from_a_slice(x: &[f64], ms: &[&Mat<f64>], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            let m = ms[i];
            s += m[(0, j % 2)] * x[j];
        }
    }
    s
}

#[test]
fn reads_of_elements_that_are_not_floats() {
    let (a, b) = (
        Mat::from_fn(1, 2, |_, j| j as f64 + 0.5),
        Mat::from_fn(1, 2, |_, j| 1.5 - j as f64),
    );
    let ms = [&a, &b];
    let x = [0.3, -0.7];
    let (value, gradient) = reads_matrices_from_a_slice_grad(&x, &ms, 2);
    assert_eq!(value, reads_matrices_from_a_slice(&x, &ms, 2));
    // ∂/∂x_j = Σ_i m_i[(0, j)]
    let expected = [a[(0, 0)] + b[(0, 0)], a[(0, 1)] + b[(0, 1)]];
    assert_eq!(gradient, expected);
}

/// `a[(1, c)]`, a matrix element at a tuple index, is the same for every `j`
/// in `c..ncols`; at `c = ncols` that loop is empty and the read would be
/// out of bounds.
#[differentiate(wrt(a, x))]
fn matrix_element_at_a_tuple_index(a: &Mat<f64>, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for c in 0..=a.ncols() {
        for j in c..a.ncols() {
            s += (a[(1, c)] * x[j]).sin() + a[(0, j)] * a[(1, c)];
        }
    }
    s
}

#[test]
fn an_invariant_matrix_element_read_at_a_tuple_index() {
    let mut rng = common::Rng::for_test("matrix_element_at_a_tuple_index");
    for _ in 0..common::POINTS {
        let point = common::uniform_point(&mut rng, 6 + 3, -1.5, 1.5);
        let split = |p: &[f64]| (Mat::from_fn(2, 3, |i, j| p[i + 2 * j]), p[6..].to_vec());
        let (a, x) = split(&point);
        let (value, gradient_a, gradient_x) = matrix_element_at_a_tuple_index_grad(&a, &x);
        common::assert_value(value, matrix_element_at_a_tuple_index(&a, &x));
        let mut gradient: Vec<f64> = (0..6).map(|e| gradient_a[(e % 2, e / 2)]).collect();
        gradient.extend(gradient_x);
        common::assert_gradient(
            |p| {
                let (a, x) = split(p);
                matrix_element_at_a_tuple_index(&a, &x)
            },
            &point,
            &gradient,
        );
    }
}
