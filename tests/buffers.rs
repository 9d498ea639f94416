//! Local buffers and sequence parameters: `vec![0.0; n]`, `vec![a, b, c]`,
//! `x.to_vec()`, array literals `[y, x * y, x * x + y]` and `[0.0; 4]`, with
//! element writes `v[i] = ..`, `v[i] += ..`, `v[i] *= ..` (and `-=`, `/=`)
//! and reads of elements written before; element writes into a local
//! `Mat::<f64>::zeros(n, n)`; and slice, `Vec` and array parameters, whose
//! gradients have the parameter's type and length.
//!
//! Every function is checked against central finite differences at random
//! points (`_grad`, `_vjp` and `_pullback` all agreeing), and against the
//! derivative worked out by hand where that is simple.

// The differentiated functions index in `for i in 0..n` loops, copy
// element by element and use `vec!` buffers of constant length on purpose:
// those are the forms under test.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy, clippy::useless_vec)]

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{
    EXACT_TOLERANCE, Generated, POINTS, Rng, assert_all_close, assert_close, assert_gradient, assert_identical,
    assert_value, away_from, check_box_exact, check_lengths_exact, check_sampled, check_sampled_exact, uniform_point,
};

/// `seed · gradient`.
fn scaled(gradient: &[f64], seed: f64) -> Vec<f64> {
    gradient.iter().map(|d| seed * d).collect()
}

// ----- vec![0.0; n] with element writes and reads -----------------------------------------

/// Σ vᵢ² over the prefix sums vᵢ = x₀ + … + xᵢ, each written from the one before.
#[differentiate]
fn prefix_sums(x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    v[0] = x[0];
    for i in 1..n {
        v[i] = v[i - 1] + x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += v[i] * v[i];
    }
    s
}

#[test]
fn writes_that_read_the_element_written_before() {
    let g = of_slice!(prefix_sums, prefix_sums_grad, prefix_sums_vjp, prefix_sums_pullback);
    let mut rng = Rng::for_test("prefix_sums");
    check_lengths_exact(&g, &mut rng, &[1, 2, 5, 8], (-2.0, 2.0), |p| {
        // ∂/∂xⱼ Σ vᵢ² = Σ_{i≥j} 2vᵢ
        let prefix: Vec<f64> = p.iter().scan(0.0, |s, x| Some(*s + x).inspect(|v| *s = *v)).collect();
        (0..p.len())
            .map(|j| prefix[j..].iter().map(|v| 2.0 * v).sum())
            .collect()
    });
    assert_eq!(prefix_sums_grad(&[1.0, 2.0]), (10.0, vec![8.0, 6.0]));
}

/// vᵢ = (1 + a·xᵢ)·xᵢ by `+=` and `*=`, then vᵢ += vᵢ₋₁/2; returns the last.
#[differentiate]
fn compound_element_writes(x: &[f64], a: f64) -> f64 {
    let n = x.len();
    let mut v = vec![1.0; n];
    for i in 0..n {
        v[i] += x[i] * a;
        v[i] *= x[i];
    }
    for i in 1..n {
        v[i] += v[i - 1] * 0.5;
    }
    v[n - 1]
}

#[test]
fn compound_assignments_to_elements() {
    let mut rng = Rng::for_test("compound_element_writes");
    for len in [1, 2, 6] {
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, len, -2.0, 2.0);
            let a = rng.uniform(-2.0, 2.0);
            let (value, dx, da) = compound_element_writes_grad(&x, a);
            assert_value(value, compound_element_writes(&x, a));
            // v_last = Σ 2^−(n−1−i) (1 + a xᵢ) xᵢ
            let weight = |i: usize| 0.5_f64.powi((len - 1 - i) as i32);
            let expected_x: Vec<f64> = (0..len).map(|i| weight(i) * (1.0 + 2.0 * a * x[i])).collect();
            let expected_a: f64 = (0..len).map(|i| weight(i) * x[i] * x[i]).sum();
            assert_all_close(&dx, &expected_x, EXACT_TOLERANCE);
            assert_close(da, expected_a, EXACT_TOLERANCE);
            let mut point = x.clone();
            point.push(a);
            let mut gradient = dx.clone();
            gradient.push(da);
            assert_gradient(|p| compound_element_writes(&p[..len], p[len]), &point, &gradient);

            let seed = rng.seed();
            let (_, sx, sa) = compound_element_writes_vjp(&x, a, seed);
            assert_all_close(&sx, &scaled(&dx, seed), EXACT_TOLERANCE);
            assert_close(sa, seed * da, EXACT_TOLERANCE);
            let (_, pullback) = compound_element_writes_pullback(&x, a);
            let (px, pa) = pullback(&seed, (&x, a));
            assert_identical(&px, &sx);
            assert_identical(&[pa], &[sa]);
        }
    }
}

/// `-=` and `/=` on elements: vᵢ = (xᵢ − xᵢ²)/(1 + xᵢ²), then Σ vᵢ·(i + 1).
#[differentiate]
fn subtract_and_divide_elements(x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        v[i] = x[i];
        v[i] -= x[i] * x[i];
        v[i] /= 1.0 + x[i] * x[i];
        s += v[i] * (i as f64 + 1.0);
    }
    s
}

#[test]
fn subtract_and_divide_assignments_to_elements() {
    let g = of_slice!(
        subtract_and_divide_elements,
        subtract_and_divide_elements_grad,
        subtract_and_divide_elements_vjp,
        subtract_and_divide_elements_pullback
    );
    let mut rng = Rng::for_test("subtract_and_divide");
    check_lengths_exact(&g, &mut rng, &[1, 4], (-2.0, 2.0), |p| {
        p.iter()
            .enumerate()
            .map(|(i, &x)| {
                let (u, d) = (x - x * x, 1.0 + x * x);
                (i as f64 + 1.0) * ((1.0 - 2.0 * x) * d - u * 2.0 * x) / (d * d)
            })
            .collect()
    });
}

/// Writes at computed indices: v is x reversed and scaled, then Σ (i + 1)·vᵢ².
#[differentiate]
fn reversed_copy(x: &[f64], w: f64) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[n - 1 - i] = x[i] * w;
    }
    let mut s = 0.0;
    for i in 0..n {
        s += (i as f64 + 1.0) * v[i] * v[i];
    }
    s
}

#[test]
fn writes_at_computed_indices() {
    let mut rng = Rng::for_test("reversed_copy");
    for len in [1, 3, 6] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            let (x, w) = (&point[..len], point[len]);
            let (value, dx, dw) = reversed_copy_grad(x, w);
            assert_value(value, reversed_copy(x, w));
            // xᵢ lands at n − 1 − i with weight n − i.
            let expected_x: Vec<f64> = (0..len).map(|i| 2.0 * (len - i) as f64 * x[i] * w * w).collect();
            let expected_w: f64 = (0..len).map(|i| 2.0 * (len - i) as f64 * x[i] * x[i] * w).sum();
            assert_all_close(&dx, &expected_x, EXACT_TOLERANCE);
            assert_close(dw, expected_w, EXACT_TOLERANCE);
            let mut gradient = dx;
            gradient.push(dw);
            assert_gradient(|p| reversed_copy(&p[..len], p[len]), &point, &gradient);
        }
    }
}

/// An element overwritten, and an element written from itself: the first
/// value written must not reach the result.
#[differentiate]
fn overwritten_elements(x: f64, y: f64) -> f64 {
    let mut v = vec![0.0; 3];
    v[0] = x * y;
    v[1] = v[0] + x;
    v[0] = y.sin();
    v[2] = v[0] * v[1];
    v[2] = v[2] * v[2];
    v[0] + v[2]
}

#[test]
fn overwriting_an_element_discards_its_old_derivative() {
    let g = generated!(overwritten_elements, overwritten_elements_grad, overwritten_elements_vjp,
        overwritten_elements_pullback; x, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("overwritten"),
        &[(-2.0, 2.0), (-2.0, 2.0)],
        |p| {
            let (x, y) = (p[0], p[1]);
            // f = sin y + (sin y · (xy + x))²
            let b = x * y + x;
            let c = y.sin() * b;
            vec![
                2.0 * c * y.sin() * (y + 1.0),
                y.cos() + 2.0 * c * (y.cos() * b + y.sin() * x),
            ]
        },
    );
}

/// Softmax in a buffer: uᵢ = exp(xᵢ − m), then uᵢ /= Σu, then Σ uᵢyᵢ.
#[differentiate(wrt(x))]
fn softmax_weighted(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    let mut m = x[0];
    for i in 1..n {
        m = m.max(x[i]);
    }
    let mut u = vec![0.0; n];
    let mut z = 0.0;
    for i in 0..n {
        u[i] = (x[i] - m).exp();
        z += u[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        u[i] /= z;
        s += u[i] * y[i];
    }
    s
}

#[test]
fn softmax_in_a_buffer() {
    let mut rng = Rng::for_test("softmax_weighted");
    for len in [1, 2, 5] {
        // Leaked: the closures of `Generated` must be `'static`.
        let y: &'static [f64] = uniform_point(&mut rng, len, -2.0, 2.0).leak();
        let g = Generated {
            name: "softmax_weighted",
            primal: &move |p: &[f64]| softmax_weighted(p, y),
            grad: &move |p: &[f64]| softmax_weighted_grad(p, y),
            vjp: &move |p: &[f64], seed: f64| softmax_weighted_vjp(p, y, seed),
            pullback: &move |p: &[f64], seed: f64| {
                let (value, pullback) = softmax_weighted_pullback(p, y);
                let (gradient, ()) = pullback(&seed, (p, y));
                (value, gradient)
            },
        };
        // ∂/∂xᵢ Σ pⱼyⱼ = pᵢ(yᵢ − Σ pⱼyⱼ)
        let expected = move |p: &[f64]| {
            let m = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = p.iter().map(|x| (x - m).exp()).sum();
            let probabilities: Vec<f64> = p.iter().map(|x| (x - m).exp() / z).collect();
            let mean: f64 = probabilities.iter().zip(y).map(|(q, y)| q * y).sum();
            probabilities.iter().zip(y).map(|(q, y)| q * (y - mean)).collect()
        };
        // Away from ties of the maximum (where max sends the derivative to one side).
        check_sampled_exact(
            &g,
            &mut rng,
            |r| loop {
                let p = uniform_point(r, len, -2.0, 2.0);
                let top = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if p.iter().filter(|&&x| !away_from(x, &[top], 1e-3)).count() == 1 {
                    return p;
                }
            },
            expected,
        );
    }
}

/// A buffer rewritten in place in nested loops, each pass reading the
/// element written just before: v ← (I + wL)ᵏ v with L the shift.
#[differentiate(wrt(x))]
fn in_place_passes(x: &[f64], w: f64, k: usize) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = x[i];
    }
    for _ in 0..k {
        for j in 1..n {
            v[j] += v[j - 1] * w;
        }
    }
    v[n - 1]
}

#[test]
fn in_place_updates_in_nested_loops() {
    let mut rng = Rng::for_test("in_place_passes");
    for (len, k) in [(1, 2), (3, 1), (5, 3)] {
        let w = rng.uniform(-1.0, 1.0);
        let g = of_slice!(in_place_passes, in_place_passes_grad, in_place_passes_vjp, in_place_passes_pullback;
            w, k);
        check_sampled(&g, &mut rng, |r| uniform_point(r, len, -2.0, 2.0));
        // The function is linear in x: its value is its gradient times x.
        let x = uniform_point(&mut rng, len, -2.0, 2.0);
        let (value, gradient) = in_place_passes_grad(&x, w, k);
        let linear: f64 = gradient.iter().zip(&x).map(|(g, x)| g * x).sum();
        assert_close(value, linear, 1e-12);
        // x is not modified by the function.
        let copy = x.clone();
        let _ = in_place_passes(&x, w, k);
        assert_identical(&x, &copy);
    }
}

/// A write inside a branch inside a loop.
#[differentiate]
fn branch_writes(x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        if x[i] > 0.0 {
            v[i] = x[i] * x[i];
        } else {
            v[i] = -0.5 * x[i];
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += v[i] * (i as f64 + 2.0);
    }
    s
}

#[test]
fn writes_inside_branches_inside_a_loop() {
    let g = of_slice!(
        branch_writes,
        branch_writes_grad,
        branch_writes_vjp,
        branch_writes_pullback
    );
    let mut rng = Rng::for_test("branch_writes");
    let mut both_sides = 0;
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..6).map(|_| rng.signed(0.05, 2.0)).collect();
        if point.iter().any(|&x| x > 0.0) && point.iter().any(|&x| x < 0.0) {
            both_sides += 1;
        }
        let gradient = common::check_at(&g, &point, &mut rng);
        let expected: Vec<f64> = point
            .iter()
            .enumerate()
            .map(|(i, &x)| (i as f64 + 2.0) * if x > 0.0 { 2.0 * x } else { -0.5 })
            .collect();
        common::assert_matches_closed_form("branch_writes", &point, &gradient, &expected);
    }
    assert!(both_sides >= POINTS / 2);
}

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

/// Elements written from calls, and from a call on the element itself.
#[differentiate]
fn buffer_from_calls(x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = square(x[i]);
        v[i] += square(v[i]);
    }
    v[n - 1] * v[0]
}

#[test]
fn elements_written_from_calls() {
    let g = of_slice!(
        buffer_from_calls,
        buffer_from_calls_grad,
        buffer_from_calls_vjp,
        buffer_from_calls_pullback
    );
    let mut rng = Rng::for_test("buffer_from_calls");
    check_lengths_exact(&g, &mut rng, &[1, 2, 5], (-1.5, 1.5), |p| {
        // vᵢ = xᵢ² + xᵢ⁴, f = v_last·v₀
        let v = |x: f64| x * x + x.powi(4);
        let dv = |x: f64| 2.0 * x + 4.0 * x.powi(3);
        let (first, last) = (p[0], p[p.len() - 1]);
        let mut gradient = vec![0.0; p.len()];
        gradient[0] += dv(first) * v(last);
        gradient[p.len() - 1] += dv(last) * v(first);
        gradient
    });
}

/// Writes in a loop left by `break`: the elements after it stay zero.
#[differentiate(wrt(x))]
fn buffer_with_break(x: &[f64], limit: f64) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        v[i] = x[i] * x[i];
        s += v[i];
        if s > limit {
            break;
        }
    }
    let mut t = 0.0;
    for i in 0..n {
        t += v[i] * (i as f64 + 1.0);
    }
    t
}

#[test]
fn writes_in_a_loop_left_by_break() {
    let mut rng = Rng::for_test("buffer_with_break");
    let mut checked = 0;
    let mut stops = std::collections::HashSet::new();
    while checked < 3 * POINTS {
        let x = uniform_point(&mut rng, 5, -1.5, 1.5);
        let limit = rng.uniform(0.0, 4.0);
        let mut s = 0.0;
        let mut written = x.len();
        let mut near = false;
        for (i, xi) in x.iter().enumerate() {
            s += xi * xi;
            near |= !away_from(s, &[limit], 1e-3);
            if s > limit {
                written = i + 1;
                break;
            }
        }
        if near {
            continue;
        }
        checked += 1;
        stops.insert(written);
        let (value, gradient) = buffer_with_break_grad(&x, limit);
        assert_value(value, buffer_with_break(&x, limit));
        let expected: Vec<f64> = (0..x.len())
            .map(|i| {
                if i < written {
                    2.0 * x[i] * (i as f64 + 1.0)
                } else {
                    0.0
                }
            })
            .collect();
        assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
        assert_gradient(|p| buffer_with_break(p, limit), &x, &gradient);
    }
    assert!(stops.len() >= 3, "too few different exits: {stops:?}");
}

/// Writes at a counter in a `while` whose trip count depends on x.
#[differentiate]
fn buffer_in_while(x: f64) -> f64 {
    let mut v = vec![0.0; 8];
    let mut k = 0;
    let mut y = x;
    while y < 10.0 && k < 8 {
        v[k] = y;
        y = y * 2.0 + 1.0;
        k += 1;
    }
    v[0] + v[1] * v[2]
}

#[test]
fn writes_in_a_while_loop() {
    let g = generated!(buffer_in_while, buffer_in_while_grad, buffer_in_while_vjp, buffer_in_while_pullback; x);
    let trips = |x: f64| {
        let mut y = x;
        let mut k = 0;
        while y < 10.0 && k < 8 {
            y = y * 2.0 + 1.0;
            k += 1;
        }
        k
    };
    common::check_branches(
        &g,
        &mut Rng::for_test("buffer_in_while"),
        &[(0.0, 12.0)],
        3,
        move |p| {
            // vₖ = 2ᵏ(x + 1) − 1 for the k written; away from the exits at 10.
            let near = (0..4).any(|k| !away_from(2.0_f64.powi(k) * (p[0] + 1.0) - 1.0, &[10.0], 1e-3));
            (!near).then(|| trips(p[0]).min(2))
        },
        Some(&move |p| {
            let x = p[0];
            vec![match trips(x) {
                0 => 0.0,
                1 => 1.0,
                2 => 1.0,
                _ => 1.0 + 2.0 * (4.0 * x + 3.0) + 4.0 * (2.0 * x + 1.0),
            }]
        }),
    );
}

/// Element writes inside the arms of a `match` inside a loop, reading the
/// element written in the iteration before.
#[differentiate]
fn buffer_in_match(x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        match i % 3 {
            0 => v[i] = x[i],
            1 => v[i] = x[i] * v[i - 1],
            _ => v[i] += x[i].sin(),
        }
    }
    v[n - 1]
}

#[test]
fn writes_inside_match_arms() {
    let g = of_slice!(
        buffer_in_match,
        buffer_in_match_grad,
        buffer_in_match_vjp,
        buffer_in_match_pullback
    );
    let mut rng = Rng::for_test("buffer_in_match");
    check_lengths_exact(&g, &mut rng, &[1, 2, 3, 5], (-1.5, 1.5), |p| {
        let last = p.len() - 1;
        let mut gradient = vec![0.0; p.len()];
        match last % 3 {
            0 => gradient[last] = 1.0,
            1 => {
                gradient[last] = p[last - 1];
                gradient[last - 1] = p[last];
            }
            _ => gradient[last] = p[last].cos(),
        }
        gradient
    });
}

/// A local faer column written element by element.
#[differentiate]
fn written_column(x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = Col::<f64>::zeros(n);
    for i in 0..n {
        c[i] = x[i] * x[i];
    }
    c.sum() + c.norm_l2()
}

#[test]
fn element_writes_into_a_local_column() {
    let g = of_slice!(
        written_column,
        written_column_grad,
        written_column_vjp,
        written_column_pullback
    );
    let mut rng = Rng::for_test("written_column");
    check_lengths_exact(&g, &mut rng, &[1, 4], (-1.5, 1.5), |p| {
        let norm = p.iter().map(|x| x.powi(4)).sum::<f64>().sqrt();
        p.iter().map(|x| 2.0 * x + 2.0 * x.powi(3) / norm).collect()
    });
}

/// A slice parameter copied into a local buffer with `.to_owned()`, then
/// written and read.
#[differentiate]
fn copied_with_to_owned(x: &[f64]) -> f64 {
    let mut v = x.to_owned();
    v[0] *= 2.0;
    for i in 1..v.len() {
        v[i] += v[i - 1] * v[i];
    }
    v[v.len() - 1]
}

#[test]
fn a_parameter_copied_into_a_buffer() {
    let g = of_slice!(
        copied_with_to_owned,
        copied_with_to_owned_grad,
        copied_with_to_owned_vjp,
        copied_with_to_owned_pullback
    );
    let mut rng = Rng::for_test("copied_with_to_owned");
    for len in [1, 2, 5] {
        check_sampled(&g, &mut rng, |r| uniform_point(r, len, -1.5, 1.5));
    }
    // v = [2x₀, x₁(1 + 2x₀)]
    assert_eq!(copied_with_to_owned_grad(&[3.0, 5.0]), (35.0, vec![10.0, 7.0]));
    let x = [3.0, 5.0];
    let _ = copied_with_to_owned(&x);
    assert_eq!(x, [3.0, 5.0]);
}

// ----- vec![a, b, c] and arrays -------------------------------------------------------------

/// `vec![..]` of expressions, read by index and by a loop over its elements.
#[differentiate]
fn vec_of_expressions(x: f64, y: f64) -> f64 {
    let v = vec![x, x * y, y.sin()];
    let mut s = v[0] * v[2];
    for &e in &v {
        s += e * e;
    }
    s + v.len() as f64
}

#[test]
fn vec_of_expressions_read_by_index_and_by_loop() {
    let g = generated!(vec_of_expressions, vec_of_expressions_grad, vec_of_expressions_vjp,
        vec_of_expressions_pullback; x, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("vec_of_expressions"),
        &[(-2.0, 2.0), (-2.0, 2.0)],
        |p| {
            let (x, y) = (p[0], p[1]);
            // x sin y + x² + x²y² + sin²y + 3
            vec![
                y.sin() + 2.0 * x + 2.0 * x * y * y,
                x * y.cos() + 2.0 * x * x * y + 2.0 * y.sin() * y.cos(),
            ]
        },
    );
}

/// An array literal of expressions, with an element overwritten.
#[differentiate]
fn array_literal(x: f64, y: f64) -> f64 {
    let mut a = [y, x * y, x * x + y];
    let first = a[0] * a[1] + a[2].sin();
    a[1] = a[2] * x;
    first + a[1] + a[0]
}

#[test]
fn array_literal_with_reads_and_a_write() {
    let g = generated!(array_literal, array_literal_grad, array_literal_vjp, array_literal_pullback; x, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("array_literal"),
        &[(-2.0, 2.0), (-2.0, 2.0)],
        |p| {
            let (x, y) = (p[0], p[1]);
            // xy² + sin(x² + y) + (x² + y)x + y
            let c = (x * x + y).cos();
            vec![y * y + 2.0 * x * c + 3.0 * x * x + y, 2.0 * x * y + c + x + 1.0]
        },
    );
}

/// `[0.0; 4]` as a histogram: hᵢ₍mod 4₎ += xᵢ², then a nonlinear combination.
#[differentiate]
fn histogram(x: &[f64]) -> f64 {
    let mut h = [0.0; 4];
    for i in 0..x.len() {
        h[i % 4] += x[i] * x[i];
    }
    h[0] * h[1] + h[2] - h[3] * h[3]
}

#[test]
fn zero_array_accumulated_into() {
    let g = of_slice!(histogram, histogram_grad, histogram_vjp, histogram_pullback);
    let mut rng = Rng::for_test("histogram");
    check_lengths_exact(&g, &mut rng, &[1, 4, 9], (-1.5, 1.5), |p| {
        let mut h = [0.0; 4];
        for (i, x) in p.iter().enumerate() {
            h[i % 4] += x * x;
        }
        let dh = [h[1], h[0], 1.0, -2.0 * h[3]];
        p.iter().enumerate().map(|(i, x)| dh[i % 4] * 2.0 * x).collect()
    });
}

/// An array updated in place in a loop, each element from its neighbour.
#[differentiate]
fn array_updated_in_a_loop(x: f64, y: f64) -> f64 {
    let mut a = [x, y, 0.0];
    for i in 0..3 {
        a[i] *= x;
        a[(i + 1) % 3] += a[i] * y;
    }
    a[0] + a[1] * a[2]
}

#[test]
fn array_updated_in_a_loop_reading_written_elements() {
    let g = generated!(array_updated_in_a_loop, array_updated_in_a_loop_grad, array_updated_in_a_loop_vjp,
        array_updated_in_a_loop_pullback; x, y);
    check_sampled(&g, &mut Rng::for_test("array_in_loop"), |r| {
        r.point(&[(-1.5, 1.5), (-1.5, 1.5)])
    });
    // Forward mode by hand, carrying (value, ∂/∂x, ∂/∂y) of each element.
    let (x, y) = (0.7, -1.3);
    let mut a = [[x, 1.0, 0.0], [y, 0.0, 1.0], [0.0, 0.0, 0.0]];
    for i in 0..3 {
        a[i] = [a[i][0] * x, a[i][1] * x + a[i][0], a[i][2] * x];
        let j = (i + 1) % 3;
        a[j] = [
            a[j][0] + a[i][0] * y,
            a[j][1] + a[i][1] * y,
            a[j][2] + a[i][2] * y + a[i][0],
        ];
    }
    let expected = [
        a[0][1] + a[1][1] * a[2][0] + a[1][0] * a[2][1],
        a[0][2] + a[1][2] * a[2][0] + a[1][0] * a[2][2],
    ];
    let (value, dx, dy) = array_updated_in_a_loop_grad(x, y);
    assert_close(value, a[0][0] + a[1][0] * a[2][0], 1e-15);
    assert_all_close(&[dx, dy], &expected, EXACT_TOLERANCE);
}

// ----- whole-buffer use -----------------------------------------------------------------------

#[differentiate]
fn norm_squared(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for &x in v {
        s += x * x;
    }
    s
}

/// A buffer filled, then passed whole to another differentiated function.
#[differentiate]
fn buffer_passed_to_a_call(x: &[f64], a: f64) -> f64 {
    let n = x.len();
    let mut v = vec![0.0; n];
    for i in 0..n {
        v[i] = (x[i] * a).sin();
    }
    norm_squared(&v) + v[0]
}

#[test]
fn a_buffer_passed_whole_to_a_callee() {
    let mut rng = Rng::for_test("buffer_passed_to_a_call");
    for len in [1, 3, 6] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, len + 1, -2.0, 2.0);
            let (x, a) = (&point[..len], point[len]);
            let (value, dx, da) = buffer_passed_to_a_call_grad(x, a);
            assert_value(value, buffer_passed_to_a_call(x, a));
            // Σ sin²(a xᵢ) + sin(a x₀)
            let mut expected_x: Vec<f64> = x.iter().map(|&xi| 2.0 * (a * xi).sin() * (a * xi).cos() * a).collect();
            expected_x[0] += (a * x[0]).cos() * a;
            let expected_a: f64 = x
                .iter()
                .map(|&xi| 2.0 * (a * xi).sin() * (a * xi).cos() * xi)
                .sum::<f64>()
                + (a * x[0]).cos() * x[0];
            assert_all_close(&dx, &expected_x, EXACT_TOLERANCE);
            assert_close(da, expected_a, 1e-11);
            let mut gradient = dx;
            gradient.push(da);
            assert_gradient(|p| buffer_passed_to_a_call(&p[..len], p[len]), &point, &gradient);
        }
    }
}

// ----- Mat::zeros with element writes ---------------------------------------------------------

/// Dᵢⱼ = (xᵢ − xⱼ)² written into a local matrix, then ‖D‖².
#[differentiate]
fn distance_matrix(x: &[f64]) -> f64 {
    let n = x.len();
    let mut d = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            d[(i, j)] = (x[i] - x[j]) * (x[i] - x[j]);
        }
    }
    d.squared_norm_l2()
}

#[test]
fn element_writes_into_a_local_matrix() {
    let g = of_slice!(
        distance_matrix,
        distance_matrix_grad,
        distance_matrix_vjp,
        distance_matrix_pullback
    );
    let mut rng = Rng::for_test("distance_matrix");
    check_lengths_exact(&g, &mut rng, &[1, 2, 4], (-1.5, 1.5), |p| {
        // ∂/∂xₖ Σᵢⱼ (xᵢ − xⱼ)⁴ = 8 Σⱼ (xₖ − xⱼ)³
        p.iter()
            .map(|&xk| 8.0 * p.iter().map(|&xj| (xk - xj).powi(3)).sum::<f64>())
            .collect()
    });
}

/// A local matrix built from element writes (with a read of an element
/// written before), then used in a product with a column parameter.
#[differentiate]
fn written_matrix_times_column(x: &[f64], w: &Col<f64>) -> f64 {
    let n = w.nrows();
    let mut m = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        m[(i, i)] = x[i];
        if i > 0 {
            m[(i, i - 1)] = m[(i - 1, i - 1)] * x[i];
        }
    }
    (&m * w).squared_norm_l2() + m[(0, 0)]
}

#[test]
fn element_writes_into_a_local_matrix_used_in_a_product() {
    let mut rng = Rng::for_test("written_matrix_times_column");
    for n in [1, 2, 5] {
        for _ in 0..POINTS {
            let x = uniform_point(&mut rng, n, -1.5, 1.5);
            let w = Col::from_fn(n, |_| rng.uniform(-1.5, 1.5));
            let (value, dx, dw) = written_matrix_times_column_grad(&x, &w);
            assert_value(value, written_matrix_times_column(&x, &w));
            assert_eq!((dx.len(), dw.nrows()), (n, n));
            // (Mw)ᵢ = xᵢwᵢ + xᵢ₋₁xᵢwᵢ₋₁
            let r: Vec<f64> = (0..n)
                .map(|i| x[i] * w[i] + if i > 0 { x[i - 1] * x[i] * w[i - 1] } else { 0.0 })
                .collect();
            let expected_x: Vec<f64> = (0..n)
                .map(|k| {
                    let mut d = 2.0 * r[k] * (w[k] + if k > 0 { x[k - 1] * w[k - 1] } else { 0.0 });
                    if k + 1 < n {
                        d += 2.0 * r[k + 1] * x[k + 1] * w[k];
                    }
                    if k == 0 {
                        d += 1.0;
                    }
                    d
                })
                .collect();
            let expected_w: Vec<f64> = (0..n)
                .map(|k| {
                    2.0 * r[k] * x[k]
                        + if k + 1 < n {
                            2.0 * r[k + 1] * x[k] * x[k + 1]
                        } else {
                            0.0
                        }
                })
                .collect();
            assert_all_close(&dx, &expected_x, EXACT_TOLERANCE);
            assert_all_close(&fd::to_vec(&dw), &expected_w, EXACT_TOLERANCE);
            let point = [x.clone(), fd::to_vec(&w)].concat();
            let gradient = [dx.clone(), fd::to_vec(&dw)].concat();
            assert_gradient(
                |p| written_matrix_times_column(&p[..n], &fd::from_vec_like(&w, &p[n..])),
                &point,
                &gradient,
            );
        }
    }
}

/// `+=` into the elements of a local matrix, then a matrix product.
#[differentiate]
fn accumulated_matrix(x: &[f64], n: usize) -> f64 {
    let mut m = Mat::<f64>::zeros(n, n);
    for k in 0..x.len() {
        m[(k % n, (k + 1) % n)] += x[k];
        m[(k % n, k % n)] += x[k] * x[k];
    }
    (&m * &m).sum()
}

#[test]
fn compound_writes_into_a_local_matrix() {
    let mut rng = Rng::for_test("accumulated_matrix");
    for (len, n) in [(1, 1), (3, 2), (7, 3)] {
        let g = of_slice!(accumulated_matrix, accumulated_matrix_grad, accumulated_matrix_vjp,
            accumulated_matrix_pullback; n);
        check_sampled(&g, &mut rng, |r| uniform_point(r, len, -1.5, 1.5));
    }
}

// ----- sequence parameters: gradient types and lengths -----------------------------------------

// The generated functions copy the `&Vec<f64>` parameter type, and the
// `#[allow(clippy::ptr_arg)]` on the function does not reach them, hence
// the module.
mod sequences {
    #![allow(clippy::ptr_arg)]
    use chainrule::differentiate;

    /// Every kind of sequence parameter at once, with a scalar and a constant.
    #[allow(clippy::too_many_arguments)]
    #[differentiate]
    pub fn sequence_parameters(
        x: &[f64],
        y: &Vec<f64>,
        z: Vec<f64>,
        a: [f64; 2],
        b: &[f64; 3],
        s: f64,
        k: usize,
    ) -> f64 {
        let mut t = s * a[0] + a[1] * b[k];
        for i in 0..x.len() {
            t += x[i] * y[i] * z[i];
        }
        t + b[0] * b[1] * b[2]
    }
}
use sequences::{sequence_parameters, sequence_parameters_grad, sequence_parameters_pullback, sequence_parameters_vjp};

/// The value and gradients of `sequence_parameters`, by parameter type.
type SequenceGradients = (f64, Vec<f64>, Vec<f64>, Vec<f64>, [f64; 2], [f64; 3], f64);

#[test]
fn gradients_have_the_type_and_length_of_their_parameter() {
    let mut rng = Rng::for_test("sequence_parameters");
    for len in [0, 1, 4] {
        for k in 0..3 {
            for _ in 0..POINTS {
                let point = uniform_point(&mut rng, 3 * len + 6, -2.0, 2.0);
                let unpack = |p: &[f64]| {
                    let x = p[..len].to_vec();
                    let y = p[len..2 * len].to_vec();
                    let z = p[2 * len..3 * len].to_vec();
                    let a = [p[3 * len], p[3 * len + 1]];
                    let b = [p[3 * len + 2], p[3 * len + 3], p[3 * len + 4]];
                    (x, y, z, a, b, p[3 * len + 5])
                };
                let (x, y, z, a, b, s) = unpack(&point);
                let (value, dx, dy, dz, da, db, ds): SequenceGradients =
                    sequence_parameters_grad(&x, &y, z.clone(), a, &b, s, k);
                assert_value(value, sequence_parameters(&x, &y, z.clone(), a, &b, s, k));
                assert_eq!((dx.len(), dy.len(), dz.len()), (len, len, len));

                let expected_x: Vec<f64> = (0..len).map(|i| y[i] * z[i]).collect();
                let expected_y: Vec<f64> = (0..len).map(|i| x[i] * z[i]).collect();
                let expected_z: Vec<f64> = (0..len).map(|i| x[i] * y[i]).collect();
                let mut expected_b = [b[1] * b[2], b[0] * b[2], b[0] * b[1]];
                expected_b[k] += a[1];
                let expected = [expected_x, expected_y, expected_z, a.to_vec(), expected_b.to_vec()].concat();
                let mut expected = expected;
                expected[3 * len] = s;
                expected[3 * len + 1] = b[k];
                expected.push(a[0]);
                let gradient = [dx, dy, dz, da.to_vec(), db.to_vec(), vec![ds]].concat();
                common::assert_matches_closed_form("sequence_parameters", &point, &gradient, &expected);
                assert_gradient(
                    |p| {
                        let (x, y, z, a, b, s) = unpack(p);
                        sequence_parameters(&x, &y, z, a, &b, s, k)
                    },
                    &point,
                    &gradient,
                );

                let seed = rng.seed();
                let (_, sx, sy, sz, sa, sb, ss) = sequence_parameters_vjp(&x, &y, z.clone(), a, &b, s, k, seed);
                let (_, pullback) = sequence_parameters_pullback(&x, &y, z.clone(), a, &b, s, k);
                let (px, py, pz, pa, pb, ps, ()) = pullback(&seed, (&x, &y, z.clone(), a, &b, s, k));
                let vjp = [sx, sy, sz, sa.to_vec(), sb.to_vec(), vec![ss]].concat();
                assert_all_close(&vjp, &scaled(&gradient, seed), EXACT_TOLERANCE);
                assert_identical(&[px, py, pz, pa.to_vec(), pb.to_vec(), vec![ps]].concat(), &vjp);
            }
        }
    }
}

/// Element reads without loops: the other elements get a zero gradient.
#[differentiate]
fn some_elements(x: &[f64]) -> f64 {
    x[0] * x[2] + x[4].exp()
}

#[test]
fn elements_never_read_get_a_zero_gradient() {
    let x = [0.5, 7.0, -1.5, 3.0, 0.25, 9.0];
    let (value, gradient) = some_elements_grad(&x);
    assert_value(value, some_elements(&x));
    assert_eq!(gradient, vec![-1.5, 0.0, 0.5, 0.0, 0.25_f64.exp(), 0.0]);
    let g = of_slice!(
        some_elements,
        some_elements_grad,
        some_elements_vjp,
        some_elements_pullback
    );
    check_sampled(&g, &mut Rng::for_test("some_elements"), |r| {
        uniform_point(r, 6, -2.0, 2.0)
    });
}

/// `wrt` selecting one of two slices.
#[differentiate(wrt(weights))]
fn weighted_sum_of_squares(weights: &[f64], data: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        s += w * data[i] * data[i];
    }
    s * s
}

#[test]
fn wrt_one_of_two_slices() {
    let mut rng = Rng::for_test("weighted_sum_of_squares");
    for len in [1, 5] {
        for _ in 0..POINTS {
            let weights = uniform_point(&mut rng, len, -1.0, 1.0);
            let data = uniform_point(&mut rng, len, -2.0, 2.0);
            let (value, gradient): (f64, Vec<f64>) = weighted_sum_of_squares_grad(&weights, &data);
            assert_value(value, weighted_sum_of_squares(&weights, &data));
            let s: f64 = weights.iter().zip(&data).map(|(w, d)| w * d * d).sum();
            let expected: Vec<f64> = data.iter().map(|d| 2.0 * s * d * d).collect();
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|p| weighted_sum_of_squares(p, &data), &weights, &gradient);
            let (_, pullback) = weighted_sum_of_squares_pullback(&weights, &data);
            let (pulled, ()) = pullback(&1.0, (&weights, &data));
            assert_identical(&pulled, &gradient);
        }
    }
}

/// Arrays by value and by reference, read by index.
#[differentiate]
fn array_parameters(p: [f64; 3], q: &[f64; 2]) -> f64 {
    p[0] * q[1] + (p[1] * p[2]).sin() - q[0] * q[0]
}

#[test]
fn array_parameters_have_array_gradients() {
    let mut rng = Rng::for_test("array_parameters");
    for _ in 0..POINTS {
        let p: [f64; 3] = std::array::from_fn(|_| rng.uniform(-2.0, 2.0));
        let q: [f64; 2] = std::array::from_fn(|_| rng.uniform(-2.0, 2.0));
        let (value, dp, dq): (f64, [f64; 3], [f64; 2]) = array_parameters_grad(p, &q);
        assert_value(value, array_parameters(p, &q));
        let c = (p[1] * p[2]).cos();
        assert_all_close(&dp, &[q[1], p[2] * c, p[1] * c], EXACT_TOLERANCE);
        assert_all_close(&dq, &[-2.0 * q[0], p[0]], EXACT_TOLERANCE);
        let point = [p.to_vec(), q.to_vec()].concat();
        assert_gradient(
            |v| array_parameters([v[0], v[1], v[2]], &[v[3], v[4]]),
            &point,
            &[dp.to_vec(), dq.to_vec()].concat(),
        );
    }
}

#[test]
fn an_empty_slice_has_an_empty_gradient() {
    let (value, gradient) = norm_squared_grad(&[]);
    assert_eq!((value, gradient), (0.0, Vec::new()));
    let (value, gradient) = histogram_grad(&[]);
    assert_eq!((value, gradient), (0.0, Vec::new()));
}

// ----- regression tests -------------------------------------------------------------------------

/// 2x₀·x₁, from a local copy made with `.to_vec()`.
#[differentiate]
fn doubled_first(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v[0] *= 2.0;
    v[0] * v[1]
}

// Regression test: `let mut v = x.to_vec();`, which the diagnostic for writes
// into parameters recommends, used to be rejected because chainrule had no
// derivative rule for the method `to_vec`.
#[test]
fn local_copy_of_a_slice_parameter_with_to_vec() {
    let (value, gradient) = doubled_first_grad(&[3.0, 5.0]);
    assert_eq!(value, 30.0);
    assert_eq!(gradient, vec![10.0, 6.0]);
    let g = of_slice!(
        doubled_first,
        doubled_first_grad,
        doubled_first_vjp,
        doubled_first_pullback
    );
    let mut rng = Rng::for_test("doubled_first");
    check_lengths_exact(&g, &mut rng, &[2, 4], (-2.0, 2.0), |p| {
        let mut expected = vec![0.0; p.len()];
        expected[0] = 2.0 * p[1];
        expected[1] = 2.0 * p[0];
        expected
    });
    let x = [3.0, 5.0];
    let _ = doubled_first(&x);
    assert_eq!(x, [3.0, 5.0]);
}

/// v₀·v₁.
#[differentiate]
fn pair_product(v: &[f64]) -> f64 {
    v[0] * v[1]
}

/// s ← s + x(x + s) twice, through a buffer declared inside the loop body
/// and used whole: 2x² + x³.
#[differentiate]
fn buffer_per_iteration(x: f64) -> f64 {
    let mut s = 0.0;
    for _ in 0..2 {
        let mut v = vec![0.0; 2];
        v[0] = x;
        v[1] = x + s;
        s += pair_product(&v);
    }
    s
}

// Regression test: a buffer declared inside a loop body, written, then used
// whole used to be rejected as "an element write after a whole use", because
// the check walked the loop body twice as if the buffer were shared between
// iterations.
#[test]
fn a_buffer_declared_inside_a_loop_and_used_whole() {
    // s₁ = x², s₂ = x² + x(x + x²) = 2x² + x³
    let (value, dx) = buffer_per_iteration_grad(3.0);
    assert_eq!(value, buffer_per_iteration(3.0));
    assert_eq!((value, dx), (45.0, 39.0));
    let g = generated!(
        buffer_per_iteration,
        buffer_per_iteration_grad,
        buffer_per_iteration_vjp,
        buffer_per_iteration_pullback;
        x
    );
    let mut rng = Rng::for_test("buffer_per_iteration");
    check_box_exact(&g, &mut rng, &[(0.2, 3.0)], |p| vec![4.0 * p[0] + 3.0 * p[0] * p[0]]);
}

/// Indices read from an integer buffer that the loop then rewrites: the
/// adjoint must use the index each read saw, not the buffer's final state.
#[differentiate(wrt(x))]
fn index_buffer_rewritten(x: &[f64], n: usize) -> f64 {
    let mut order = vec![0; n];
    for i in 0..n {
        order[i] = (3 * i + 1) % n;
    }
    let mut s = 0.0;
    for i in 0..n {
        let xi = x[order[i]];
        order[i] = (order[i] + 1) % n;
        s += xi * xi * x[order[i]];
    }
    s
}

#[test]
fn indices_from_a_buffer_rewritten_after_the_read() {
    check_slice_function!(index_buffer_rewritten, index_buffer_rewritten_grad, index_buffer_rewritten_vjp,
        index_buffer_rewritten_pullback; 4, 4, -1.0, 1.0);
}

// ----- copies of fixed-size arrays ------------------------------------------------------

/// `let mut b = a` copies an array: writes to the copy leave `a` as it was.
#[differentiate]
fn copy_then_write_copy(x: f64, y: f64) -> f64 {
    let a = [x, y];
    let mut b = a;
    b[0] = y;
    a[0] * b[0]
}

/// Writes to the original leave the copy as it was, in a loop too (`prev`).
#[differentiate]
fn copy_then_write_original(x: f64) -> f64 {
    let mut a = [x, 1.0];
    let b = a;
    a[0] = 3.0 * x;
    let mut s = a[0] * b[0];
    for _ in 0..3 {
        let prev = a;
        a[0] = prev[0] * prev[1] + x;
        a[1] = prev[0].sin();
        s += prev[0] * a[0] + prev[1] * a[1];
    }
    s
}

/// `for v in a` iterates over a copy of `a`, which the body writes.
#[differentiate]
fn iterate_a_copy(x: f64) -> f64 {
    let mut a = [x, 2.0 * x, 3.0 * x];
    let mut s = 0.0;
    for v in a {
        a[2] *= v;
        s += v * v;
    }
    s + a[2]
}

/// A copy of an array parameter is a local buffer that can be written, and
/// an integer array copied before a write still indexes the old elements.
#[differentiate(wrt(a, x))]
fn copies_of_parameters_and_indices(a: [f64; 2], x: &[f64]) -> f64 {
    let mut b = a;
    b[0] = 5.0 * b[1];
    let mut order = [0, 1, 2];
    let original = order;
    order[0] = 2;
    a[0] * b[0] + x[original[0]] * 10.0 + x[order[0]] * x[original[0]]
}

#[test]
fn copies_of_arrays_are_separate_buffers() {
    let mut rng = Rng::for_test("copies_of_arrays");
    for _ in 0..POINTS {
        let p = uniform_point(&mut rng, 5, -2.0, 2.0);
        let (x, y) = (p[0], p[1]);

        let (value, dx, dy) = copy_then_write_copy_grad(x, y);
        assert_eq!(value, copy_then_write_copy(x, y));
        assert_all_close(&[dx, dy], &[y, x], EXACT_TOLERANCE);

        let (value, dx) = copy_then_write_original_grad(x);
        assert_eq!(value, copy_then_write_original(x));
        assert_gradient(|q| copy_then_write_original(q[0]), &[x], &[dx]);

        let (value, dx) = iterate_a_copy_grad(x);
        assert_eq!(value, iterate_a_copy(x));
        // s = 14x², a₂ = 3x · x · 2x · 3x = 18x⁴
        assert_all_close(&[dx], &[28.0 * x + 72.0 * x * x * x], EXACT_TOLERANCE);
        assert_gradient(|q| iterate_a_copy(q[0]), &[x], &[dx]);

        let (a, xs) = ([p[0], p[1]], &p[2..]);
        let (value, da, dxs) = copies_of_parameters_and_indices_grad(a, xs);
        assert_eq!(value, copies_of_parameters_and_indices(a, xs));
        assert_all_close(&da, &[5.0 * a[1], 5.0 * a[0]], EXACT_TOLERANCE);
        assert_all_close(&dxs, &[10.0 + xs[2], 0.0, xs[0]], EXACT_TOLERANCE);
    }
}

// ----- a whole use and a write in different arms ------------------------------------------

#[differentiate]
fn product_plus_second(v: &[f64]) -> f64 {
    v[0] * v[1] + v[1]
}

/// One arm uses the whole buffer, the other writes into it: neither comes
/// after the other, so no copy is needed.
#[differentiate(wrt(x))]
fn whole_use_and_write_in_other_arms(x: &[f64], a: f64) -> f64 {
    let mut v = vec![x[0], x[1]];
    let mut s = 0.0;
    if x[0] > 0.0 {
        s = product_plus_second(&v);
    } else {
        v[1] = x[1] * a;
    }
    s + v[1] * v[0]
}

#[test]
fn a_whole_use_and_a_write_in_different_arms() {
    let mut rng = Rng::for_test("whole_use_and_write_in_other_arms");
    for _ in 0..POINTS {
        for sign in [1.0, -1.0] {
            let x = [sign * rng.uniform(0.1, 2.0), rng.uniform(-2.0, 2.0)];
            let (value, gradient) = whole_use_and_write_in_other_arms_grad(&x, 3.0);
            assert_eq!(value, whole_use_and_write_in_other_arms(&x, 3.0));
            let expected = if sign > 0.0 {
                [2.0 * x[1], 2.0 * x[0] + 1.0]
            } else {
                [3.0 * x[1], 3.0 * x[0]]
            };
            assert_all_close(&gradient, &expected, EXACT_TOLERANCE);
            assert_gradient(|q| whole_use_and_write_in_other_arms(q, 3.0), &x, &gradient);
        }
    }
}

/// v ← v·a, in the caller's buffer.
#[differentiate]
fn scale_buffer(v: &mut [f64], a: f64) {
    for i in 0..v.len() {
        v[i] *= a;
    }
}

/// A buffer one arm of a branch replaces, then written element by element
/// and lent to a `&mut` helper: whichever arm ran, that buffer changes.
#[differentiate(wrt(x))]
fn reassigned_in_a_branch(x: &[f64], n: usize) -> f64 {
    let mut v = vec![0.5; n];
    for i in 0..n {
        v[i] = x[i] * 0.5;
    }
    if n > 3 {
        v = vec![x[0] * x[1]; n];
    }
    v[0] = v[1] * 2.0;
    scale_buffer(&mut v, x[n - 1]);
    let mut s = 0.0;
    for i in 0..n {
        s += v[i] * x[i];
    }
    s
}

/// A buffer a loop replaces, then written and lent; and inside a loop, one
/// lent, then replaced, then written and lent again in an inner loop.
#[differentiate(wrt(x))]
fn reassigned_in_a_loop(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut v = vec![0.5; n];
    for i in 0..n {
        v = vec![s * 0.1 + x[i]; n];
        s += v[0];
    }
    v[0] = v[1] * 2.0;
    scale_buffer(&mut v, x[0]);
    for i in 0..n {
        scale_buffer(&mut v, 0.9);
        s += v[i] * x[i];
        v = vec![s * 0.1; n];
        for _ in 0..2 {
            v[0] = s;
            scale_buffer(&mut v, x[i]);
        }
    }
    s + v[0] * 0.3
}

#[test]
fn buffers_replaced_in_branches_and_loops_then_written() {
    for n in [3, 4] {
        check_slice_function!(reassigned_in_a_branch, reassigned_in_a_branch_grad, reassigned_in_a_branch_vjp,
            reassigned_in_a_branch_pullback; n, n, -1.0, 1.0);
        check_slice_function!(reassigned_in_a_loop, reassigned_in_a_loop_grad, reassigned_in_a_loop_vjp,
            reassigned_in_a_loop_pullback; n, n, -1.0, 1.0);
    }
}

// ----- buffers read after their last write ---------------------------------------------

/// `squares` is written in the first loop only, so the second loop's reads
/// of it are read again in the adjoint sweep instead of being taped
/// (`ir::frozen_element_reads`); `scratch` is written before it is read in
/// the same loop, whose next iteration writes it again, so its reads are
/// taped.
#[differentiate(wrt(x))]
fn read_after_the_last_write(x: &[f64], n: usize) -> f64 {
    let mut squares = vec![0.0; n];
    for i in 0..n {
        squares[i] = x[i] * x[i];
    }
    let mut scratch = vec![0.0; 1];
    let mut s = 0.0;
    for i in 0..n {
        scratch[0] = squares[i].sin() * x[(i + 1) % n];
        let written_before = scratch[0];
        s += written_before * written_before + squares[i] * squares[(i + 2) % n];
    }
    s + squares[0].exp()
}

#[test]
fn buffers_read_after_their_last_write() {
    for n in [1, 3, 5] {
        check_slice_function!(read_after_the_last_write, read_after_the_last_write_grad,
            read_after_the_last_write_vjp, read_after_the_last_write_pullback; n, n, -1.0, 1.0);
    }
}
