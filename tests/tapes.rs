//! Tapes whose memory is kept across calls (`chainrule::rules::Tape`): a
//! gradient called again writes its records into the memory of the previous
//! call's tape. Each function here tapes more than `KEPT_BYTES`, so its
//! second and later calls run on reused memory; each is checked at several
//! random points in a row against central finite differences along random
//! directions (and against its closed form where simple), so records left
//! over from an earlier call, or read from the wrong place, would show.

// The differentiated functions index in `for i in 0..n` loops on purpose.
#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use chainrule::rules::{kept_bytes, release_tapes};
use common::{
    EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, assert_gradient, assert_value,
    uniform_point,
};

/// Elements enough for a tape of a few megabytes.
const LONG: usize = 100_000;

/// Checks `gradient` against central differences of `f` along three random
/// unit-scale directions: ⟨∇f, v⟩ = (f(x + hv) − f(x − hv)) / 2h.
#[track_caller]
fn assert_directional_derivatives(f: impl Fn(&[f64]) -> f64, point: &[f64], gradient: &[f64], rng: &mut Rng) {
    for _ in 0..3 {
        let direction = uniform_point(rng, point.len(), -1.0, 1.0);
        let along = |t: f64| {
            let moved: Vec<f64> = point.iter().zip(&direction).map(|(x, v)| x + t * v).collect();
            f(&moved)
        };
        let numeric = fd::central_difference(along, 0.0, 1e-6);
        let analytic: f64 = gradient.iter().zip(&direction).map(|(g, v)| g * v).sum();
        assert_close(analytic, numeric, FD_TOLERANCE * 10.0);
    }
}

/// Σ sin(xᵢ·xᵢ₋₁) + Σ xᵢ³: each iteration tapes two `f64`s.
#[differentiate]
fn chain(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut previous = 0.0;
    for &x in xs {
        s += (x * previous).sin() + x * x * x;
        previous = x;
    }
    s
}

fn chain_closed_form(xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    (0..n)
        .map(|i| {
            let left = if i > 0 {
                xs[i - 1] * (xs[i] * xs[i - 1]).cos()
            } else {
                0.0
            };
            let right = if i + 1 < n {
                xs[i + 1] * (xs[i + 1] * xs[i]).cos()
            } else {
                0.0
            };
            left + right + 3.0 * xs[i] * xs[i]
        })
        .collect()
}

#[test]
fn a_long_loop_gives_the_same_gradients_on_reused_tape_memory() {
    let mut rng = Rng::for_test("chain");
    release_tapes();
    let mut kept_after_first = None;
    for _ in 0..POINTS {
        let xs = uniform_point(&mut rng, LONG, -1.0, 1.0);
        let (value, gradient) = chain_grad(&xs);
        assert_value(value, chain(&xs));
        assert_all_close(&gradient, &chain_closed_form(&xs), EXACT_TOLERANCE);
        assert_directional_derivatives(chain, &xs, &gradient, &mut rng);
        // The first call leaves its tape behind; later calls take it and
        // give it back, so the memory kept stays the same.
        let kept = kept_bytes();
        assert!(
            kept >= LONG * 2 * size_of::<f64>(),
            "the tape was not kept: {kept} bytes"
        );
        assert_eq!(*kept_after_first.get_or_insert(kept), kept);
    }
    release_tapes();
    assert_eq!(kept_bytes(), 0);
}

/// A loop nested in another, the inner tape reserved on every outer
/// iteration and read back one outer iteration at a time, as in RK4, with
/// the state in a faer column.
#[differentiate(wrt(x))]
fn sweeps(x: &[f64], s: usize) -> f64 {
    let n = x.len();
    let mut y = Col::<f64>::zeros(n);
    for _ in 0..s {
        let mut carried = 1.0;
        for i in 0..n {
            let next = y[i] + 0.1 * (x[i] * carried).tanh();
            carried = y[i] + 0.5 * x[i];
            y[i] = next;
        }
    }
    let mut total = 0.0;
    for i in 0..n {
        total += y[i] * y[i];
    }
    total
}

#[test]
fn nested_loops_give_the_same_gradients_on_reused_tape_memory() {
    let mut rng = Rng::for_test("sweeps");
    let s = 4;
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, LONG / 2, -1.0, 1.0);
        let (value, gradient) = sweeps_grad(&x, s);
        assert_value(value, sweeps(&x, s));
        assert_directional_derivatives(|x| sweeps(x, s), &x, &gradient, &mut rng);
        // The same as from fresh memory, to the bit.
        assert!(kept_bytes() > 0, "the inner loop's tape was not kept");
        release_tapes();
        let (_, fresh) = sweeps_grad(&x, s);
        assert_eq!(gradient, fresh);
    }
}

/// A `while` loop that stops early: its tape counts the iterations that ran.
#[differentiate(wrt(xs))]
fn until_large(xs: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < xs.len() && s < limit {
        s += (xs[i] * 0.5).exp();
        i += 1;
    }
    s * s
}

#[test]
fn a_while_loop_stopping_early_counts_its_trips_on_reused_tape_memory() {
    let mut rng = Rng::for_test("until_large");
    for call in 0..POINTS {
        let xs = uniform_point(&mut rng, 2 * LONG, -1.0, 1.0);
        // A different limit each call, so the loop stops at a different trip
        // (each term is about 1).
        let limit = 60_000.0 + 5_000.0 * call as f64;
        let (value, gradient) = until_large_grad(&xs, limit);
        assert_value(value, until_large(&xs, limit));
        let mut s = 0.0;
        let mut trips = 0;
        while trips < xs.len() && s < limit {
            s += (xs[trips] * 0.5).exp();
            trips += 1;
        }
        let expected: Vec<f64> = (0..xs.len())
            .map(|i| {
                if i < trips {
                    2.0 * s * 0.5 * (xs[i] * 0.5).exp()
                } else {
                    0.0
                }
            })
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        assert!(kept_bytes() > 0, "the loop's tape was not kept");
    }
}

#[test]
fn threads_keep_tapes_of_their_own() {
    let mut rng = Rng::for_test("threads");
    let xs = uniform_point(&mut rng, LONG, -1.0, 1.0);
    let (_, expected) = chain_grad(&xs);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..3 {
                        let (_, gradient) = chain_grad(&xs);
                        assert_eq!(gradient, expected);
                    }
                    kept_bytes()
                })
            })
            .collect();
        for worker in workers {
            assert!(worker.join().expect("a worker panicked") > 0);
        }
    });
}

/// Σ_k Σ_b (c_b·(W_k W_kᵀ)_0b + (W_k W_kᵀ)_bb), with each W_k filled from `params` element
/// by element, as GradBench's GMM builds its Gram matrices. The adjoint reads
/// each product `g` only for the shape of its zero adjoint (its elements are
/// read, not needed), so the loop's tape keeps `g`'s shape and `w`, which
/// the product's adjoint reads.
#[differentiate(wrt(params))]
fn gram_upper_sums(params: &[f64], d: usize) -> f64 {
    let blocks = params.len() / (d * d);
    let mut s = 0.0;
    for k in 0..blocks {
        let mut w = Mat::zeros(d, d);
        for c in 0..d {
            for r in 0..d {
                w[(r, c)] = params[k * d * d + c * d + r];
            }
        }
        let g = &w * w.transpose();
        for b in 0..d {
            s += g[(0, b)] * (1.0 + b as f64 * 0.1) + g[(b, b)];
        }
    }
    s
}

/// Σ_k (x_k·A)₀₀·(x_k·A)₁₁ for a 2×3 `A`: the product's adjoint reads `A` and `x_k` again,
/// so the tape holds `g`'s shape and the two elements, all numbers.
#[differentiate(wrt(a, x))]
fn scaled_diagonal_products(a: &Mat<f64>, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in 0..x.len() {
        let g = a * x[k];
        s += g[(0, 0)] * g[(1, 1)];
    }
    s
}

#[test]
fn values_taped_only_for_their_shape_give_exact_gradients() {
    let mut rng = Rng::for_test("shape_only");
    let d = 4;
    for _ in 0..POINTS {
        let params = uniform_point(&mut rng, 3 * d * d, -1.0, 1.0);
        let (value, gradient) = gram_upper_sums_grad(&params, d);
        assert_value(value, gram_upper_sums(&params, d));
        assert_gradient(|p| gram_upper_sums(p, d), &params, &gradient);

        let entries = uniform_point(&mut rng, 6, 0.5, 1.5);
        let x = uniform_point(&mut rng, 5, -1.0, 1.0);
        let a = Mat::from_fn(2, 3, |i, j| entries[i + 2 * j]);
        let (value, gradient_a, gradient_x) = scaled_diagonal_products_grad(&a, &x);
        assert_value(value, scaled_diagonal_products(&a, &x));
        // ∂/∂A₀₀ = A₁₁·Σx², ∂/∂A₁₁ = A₀₀·Σx², ∂/∂x_k = 2·x_k·A₀₀·A₁₁.
        let squares: f64 = x.iter().map(|xk| xk * xk).sum();
        let expected_a = [a[(1, 1)] * squares, 0.0, 0.0, a[(0, 0)] * squares, 0.0, 0.0];
        let flat_a: Vec<f64> = (0..6).map(|e| gradient_a[(e % 2, e / 2)]).collect();
        assert_all_close(&flat_a, &expected_a, EXACT_TOLERANCE);
        let expected_x: Vec<f64> = x.iter().map(|xk| 2.0 * xk * a[(0, 0)] * a[(1, 1)]).collect();
        assert_all_close(&gradient_x, &expected_x, EXACT_TOLERANCE);
    }
}

/// `s ← s/2 + w_p·w_{p+1}` twice per outer iteration, `p` stepped only by
/// the inner loop: its adjoint counts `p` back down through both loops, and
/// the weights are parameters read again, so nothing goes on a tape.
#[differentiate(wrt(w))]
fn paired_weights(w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut p = 0;
    for _ in 0..n {
        for _ in 0..2 {
            s = 0.5 * s + w[p] * w[p + 1];
            p += 1;
        }
    }
    s
}

#[test]
fn a_counter_stepped_by_an_inner_loop_is_counted_back_not_taped() {
    let mut rng = Rng::for_test("paired_weights");
    // Taping the counter would take 8 bytes per outer iteration, more than
    // `KEPT_BYTES` in all, and the tape would be kept.
    let n = LONG * 2;
    let w = uniform_point(&mut rng, 2 * n + 1, -1.0, 1.0);
    release_tapes();
    let (value, gradient) = paired_weights_grad(&w, n);
    assert_eq!(kept_bytes(), 0, "a tape was kept");
    assert_value(value, paired_weights(&w, n));
    assert_directional_derivatives(|w| paired_weights(w, n), &w, &gradient, &mut rng);
    for _ in 0..POINTS {
        let w = uniform_point(&mut rng, 9, -1.0, 1.0);
        let (_, gradient) = paired_weights_grad(&w, 4);
        assert_gradient(|w| paired_weights(w, 4), &w, &gradient);
    }
}
