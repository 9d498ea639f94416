//! Sums, products, folds and collected maps over iterators, the way Rust
//! code often writes them: `x.iter().map(|v| v * v).sum::<f64>()`,
//! `(0..n).map(|i| …).sum()`, `.product()`, `x.iter().fold(init, |acc, &v| …)`,
//! `x.iter().map(|v| …).collect::<Vec<f64>>()` (or into a faer `Col` or
//! `Row`), `.sum()` where the type is known (a typed `let`, the result, the
//! branches of either), maps by a function's name (`.map(f64::exp)`) and maps in a row. The macro writes each as the
//! `for` loop it stands for, so the closure is differentiated as a loop body
//! is.
//!
//! Gradients are checked against closed forms and central differences at
//! random points; forward mode and the Hessian of one function against the
//! gradient's differences.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, uniform_point};

/// ‖x‖², as an iterator sum: its gradient is 2x.
#[differentiate]
fn squared_norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn an_iterator_sum_of_squares_has_gradient_two_x() {
    let mut rng = Rng::for_test("squared_norm");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 5, -2.0, 2.0);
        let (value, gradient) = squared_norm_grad(&x);
        assert_eq!(value, squared_norm(&x));
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        assert_all_close(&gradient, &twice, EXACT_TOLERANCE);
    }
}

/// Every form at once, over a slice and a scalar weight.
#[differentiate(forward, hessian)]
fn every_form(x: &[f64], w: f64) -> f64 {
    let weighted: f64 = x.iter().map(|&v| (v * w).sin()).sum();
    let plain = x.iter().sum::<f64>();
    let by_index = (0..x.len()).map(|i| x[i] * (i as f64 + w)).sum::<f64>();
    let shifted = x.iter().enumerate().map(|(i, &v)| v + i as f64).product::<f64>();
    let folded = x.iter().fold(w, |acc, &v| acc * 0.5 + v.exp());
    weighted + plain * plain + by_index + shifted + folded
}

fn every_form_at(point: &[f64]) -> f64 {
    let (x, w) = point.split_at(point.len() - 1);
    every_form(x, w[0])
}

#[test]
fn sums_products_and_folds_have_exact_derivatives_in_every_mode() {
    let mut rng = Rng::for_test("every_form");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (x, w) = (&point[..3], point[3]);
        let (value, adj_x, adj_w) = every_form_grad(x, w);
        assert_eq!(value, every_form(x, w));
        // By hand, for the value: the loops each form stands for.
        let mut folded = w;
        for v in x {
            folded = folded * 0.5 + v.exp();
        }
        let by_hand = x.iter().map(|v| (v * w).sin()).sum::<f64>()
            + x.iter().sum::<f64>().powi(2)
            + (0..3).map(|i| x[i] * (i as f64 + w)).sum::<f64>()
            + (x[0]) * (x[1] + 1.0) * (x[2] + 2.0)
            + folded;
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        let mut gradient = adj_x.clone();
        gradient.push(adj_w);
        fd::check_gradient(every_form_at, &point, &gradient).assert_within(FD_TOLERANCE);

        let direction = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (_, tangent) = every_form_jvp(x, w, &direction[..3], direction[3]);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);

        let (_, hessian) = every_form_hessian(x, w);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, mut g, gw) = every_form_grad(&p[..3], p[3]);
                g.push(gw);
                g
            },
            &point,
        );
        for i in 0..4 {
            let row: Vec<f64> = (0..4).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..4).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }
    }
}

/// Σᵢⱼ (aᵢ − aⱼ)², a sum inside a sum: ∂/∂a_k = 4 (n a_k − Σ a).
#[differentiate]
fn pairwise_spread(a: &[f64]) -> f64 {
    a.iter()
        .map(|&p| a.iter().map(|&q| (p - q) * (p - q)).sum::<f64>())
        .sum::<f64>()
}

#[test]
fn a_nested_sum_has_its_closed_form_gradient() {
    let mut rng = Rng::for_test("pairwise_spread");
    for _ in 0..POINTS {
        let a = uniform_point(&mut rng, 4, -2.0, 2.0);
        let (_, gradient) = pairwise_spread_grad(&a);
        let total: f64 = a.iter().sum();
        let expected: Vec<f64> = a.iter().map(|ak| 4.0 * (4.0 * ak - total)).collect();
        assert_all_close(&gradient, &expected, 1e-12);
    }
}

/// A reduction inside a loop, reading the value the loop carries.
#[differentiate]
fn iterated_mean(x: &[f64], steps: usize) -> f64 {
    let mut shift = 0.0;
    for _ in 0..steps {
        shift = x.iter().map(|v| (v - shift).tanh()).sum::<f64>() / x.len() as f64;
    }
    shift
}

#[test]
fn a_reduction_in_a_loop_follows_the_carried_value() {
    let mut rng = Rng::for_test("iterated_mean");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -1.5, 1.5);
        let (value, gradient) = iterated_mean_grad(&x, 3);
        assert_eq!(value, iterated_mean(&x, 3));
        fd::check_gradient(|p| iterated_mean(p, 3), &x, &gradient).assert_within(FD_TOLERANCE);
    }
}

/// Methods after `collect`: the collected `Vec` is read as a `let` would
/// bind it. (Σ ln e^{w·xᵢ}) / n = w·Σxᵢ / n.
#[differentiate(forward, hessian)]
fn mean_after_collect(x: &[f64], w: f64) -> f64 {
    let n = x.iter().map(|v| v * w).collect::<Vec<f64>>().len() as f64;
    let logs = x
        .iter()
        .map(|v| (v * w).exp())
        .collect::<Vec<f64>>()
        .iter()
        .map(|e| e.ln())
        .sum::<f64>();
    logs / n + x.iter().map(|v| v * v).collect::<Vec<f64>>().iter().sum::<f64>()
}

#[test]
fn methods_after_collect_read_the_collected_vec() {
    let mut rng = Rng::for_test("mean_after_collect");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -1.5, 1.5);
        let w = rng.uniform(-1.0, 1.0);
        let (value, gradient_x, gradient_w) = mean_after_collect_grad(&x, w);
        assert_eq!(value, mean_after_collect(&x, w));
        // ∂/∂xᵢ = w/n + 2xᵢ, ∂/∂w = Σx / n
        let expected: Vec<f64> = x.iter().map(|v| w / 4.0 + 2.0 * v).collect();
        assert_all_close(&gradient_x, &expected, EXACT_TOLERANCE);
        assert_all_close(&[gradient_w], &[x.iter().sum::<f64>() / 4.0], EXACT_TOLERANCE);
        let point = [x.clone(), vec![w]].concat();
        let numeric = [gradient_x.clone(), vec![gradient_w]].concat();
        fd::check_gradient(|p| mean_after_collect(&p[..4], p[4]), &point, &numeric).assert_within(FD_TOLERANCE);
        // ∂²/∂xᵢ² = 2, ∂²/∂xᵢ∂w = 1/n
        let (_, hessian) = mean_after_collect_hessian(&x, w);
        assert_all_close(
            &[hessian[(1, 1)], hessian[(0, 4)], hessian[(4, 4)]],
            &[2.0, 0.25, 0.0],
            EXACT_TOLERANCE,
        );
    }
}

/// Softmax over a slice, with its maximum from a fold and two collected maps.
#[differentiate(forward)]
fn softmax(x: &[f64]) -> Vec<f64> {
    let top = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let exps: Vec<f64> = x.iter().map(|v| (v - top).exp()).collect();
    let total = exps.iter().sum::<f64>();
    (0..exps.len()).map(|i| exps[i] / total).collect::<Vec<f64>>()
}

#[test]
fn collected_maps_have_the_jacobian_of_softmax() {
    let mut rng = Rng::for_test("softmax");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -2.0, 2.0);
        let s = softmax(&x);
        // ∂sᵢ/∂xⱼ = sᵢ (δᵢⱼ − sⱼ)
        let jacobian = |i: usize, j: usize| s[i] * (if i == j { 1.0 } else { 0.0 } - s[j]);
        let seed: Vec<f64> = (0..4).map(|_| rng.seed()).collect();
        let (value, pulled) = softmax_vjp(&x, &seed);
        assert_eq!(value, s);
        let expected: Vec<f64> = (0..4).map(|j| (0..4).map(|i| seed[i] * jacobian(i, j)).sum()).collect();
        assert_all_close(&pulled, &expected, 1e-12);
        let direction = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (_, tangent) = softmax_jvp(&x, &direction);
        let expected: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| jacobian(i, j) * direction[j]).sum())
            .collect();
        assert_all_close(&tangent, &expected, 1e-12);
    }
}

/// A collected map over a range that does not start at 0.
#[differentiate]
fn neighbour_products(x: &[f64]) -> f64 {
    let products = (2..x.len()).map(|i| x[i] * x[i - 1]).collect::<Vec<_>>();
    products.iter().map(|p| p.sin()).sum::<f64>()
}

#[test]
fn a_collected_map_over_a_range_keeps_its_offset() {
    let mut rng = Rng::for_test("neighbour_products");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 5, -1.5, 1.5);
        let (value, gradient) = neighbour_products_grad(&x);
        assert_eq!(value, neighbour_products(&x));
        fd::check_gradient(neighbour_products, &x, &gradient).assert_within(FD_TOLERANCE);
        assert_eq!(gradient[0], 0.0, "x₀ is not read");
    }
}

/// Maps collected into faer vectors: a `Col` whose type a `let` states, a
/// `Row` named by the turbofish over a range, and a callee whose `Col`
/// result is a collected map.
#[differentiate(forward, hessian)]
fn collected_into_faer(x: &Col<f64>, w: &[f64]) -> f64 {
    let softplus: Col<f64> = x.iter().map(|v| (1.0 + v.exp()).ln()).collect();
    let weighted = (0..w.len()).map(|i| w[i] * x[i]).collect::<Row<f64>>();
    &weighted * &softplus + half_exponentials(w).squared_norm_l2()
}

/// `exp(w / 2)` element by element, collected into the `Col` it returns.
#[differentiate(forward, hessian, jacobian)]
fn half_exponentials(w: &[f64]) -> Col<f64> {
    w.iter().map(|v| (0.5 * v).exp()).collect()
}

#[test]
fn maps_collected_into_faer_vectors_match_central_differences() {
    let mut rng = Rng::for_test("collected_into_faer");
    let at = |p: &[f64]| collected_into_faer(&Col::from_fn(3, |i| p[i]), &p[3..]);
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 6, -1.5, 1.5);
        let x = Col::from_fn(3, |i| point[i]);
        let w = &point[3..];
        let (value, adj_x, adj_w) = collected_into_faer_grad(&x, w);
        let softplus = |v: f64| (1.0 + v.exp()).ln();
        let by_hand: f64 = (0..3).map(|i| w[i] * x[i] * softplus(x[i]) + w[i].exp()).sum();
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        let gradient: Vec<f64> = adj_x.iter().copied().chain(adj_w.iter().copied()).collect();
        fd::check_gradient(at, &point, &gradient).assert_within(FD_TOLERANCE);

        let (_, hessian) = collected_into_faer_hessian(&x, w);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, adj_x, adj_w) = collected_into_faer_grad(&Col::from_fn(3, |i| p[i]), &p[3..]);
                adj_x.iter().copied().chain(adj_w).collect()
            },
            &point,
        );
        for i in 0..6 {
            let row: Vec<f64> = (0..6).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..6).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }

        let (_, jacobian) = half_exponentials_jacobian(w);
        for i in 0..3 {
            for j in 0..3 {
                let expected = if i == j { 0.5 * (0.5 * w[i]).exp() } else { 0.0 };
                assert_all_close(&[jacobian[(i, j)]], &[expected], EXACT_TOLERANCE);
            }
        }
    }
}

/// Sums whose type the function states elsewhere (a typed `let`, the `f64`
/// result), a fold with a function path (`f64::max`), a fold over a `map`,
/// a fold whose accumulator's type is written in the closure (`|acc: f64,
/// &v|`, needed by its method call), and `into_iter`.
#[differentiate]
// `into_iter` of a slice on purpose: it is read as `iter`.
#[allow(clippy::into_iter_on_ref)]
fn typed_and_path_folds(x: &[f64], w: f64) -> f64 {
    let total: f64 = x.iter().sum();
    let largest = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let peak = x.iter().map(|&v| (v * w).sin()).fold(-1.0, f64::max);
    let squares = x.into_iter().map(|v| v * v).sum::<f64>();
    let products: f64 = x.iter().map(|v| (v - w).cos()).product();
    let halved = x.iter().fold(0.0, |acc: f64, &v| acc.mul_add(0.5, (v * w).sin()));
    if total > 100.0 {
        return x.iter().product();
    }
    total * w + largest * largest + peak + squares + products + plain_total(x) + halved
}

/// `.sum()` with no turbofish as the result of a function returning `f64`.
#[differentiate]
fn plain_total(x: &[f64]) -> f64 {
    x.iter().sum()
}

#[test]
fn typed_sums_and_folds_with_function_paths_match_central_differences() {
    let mut rng = Rng::for_test("typed_and_path_folds");
    let mut checked = 0;
    while checked < POINTS {
        let point = uniform_point(&mut rng, 4, -1.5, 1.5);
        let (x, w) = (&point[..3], point[3]);
        // Away from ties of the maxima, where the derivative jumps.
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut sines: Vec<f64> = x.iter().map(|v| (v * w).sin()).collect();
        sines.sort_by(f64::total_cmp);
        if sorted[2] - sorted[1] < 0.05 || sines[2] - sines[1] < 0.05 || sines[2] < -0.95 {
            continue;
        }
        checked += 1;
        let (value, adj_x, adj_w) = typed_and_path_folds_grad(x, w);
        let by_hand = x.iter().sum::<f64>() * w
            + sorted[2] * sorted[2]
            + sines[2]
            + x.iter().map(|v| v * v).sum::<f64>()
            + x.iter().map(|v| (v - w).cos()).product::<f64>()
            + x.iter().sum::<f64>()
            + x.iter().fold(0.0, |acc, v| acc * 0.5 + (v * w).sin());
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        let mut gradient = adj_x;
        gradient.push(adj_w);
        fd::check_gradient(|p| typed_and_path_folds(&p[..3], p[3]), &point, &gradient).assert_within(FD_TOLERANCE);
    }
}

/// `.sum()` and `.product()` with no turbofish in the branches of an `if`
/// and the arms of a `match` whose value is typed, by a `let` or as the
/// result, a block's tail among them.
#[differentiate]
fn sums_in_branches(x: &[f64], w: f64) -> f64 {
    let s: f64 = if w > 0.0 { x.iter().sum() } else { x.iter().product() };
    let t: f64 = match x.len() {
        0 => 0.0,
        _ => {
            let k = w * w;
            x.iter().map(|v| v * k).sum()
        }
    };
    if x.len() > 2 {
        x.iter().map(|v| v * s).sum()
    } else {
        t * s
    }
}

fn sums_in_branches_by_hand(x: &[f64], w: f64) -> f64 {
    let s = if w > 0.0 {
        x.iter().sum::<f64>()
    } else {
        x.iter().product::<f64>()
    };
    let t = x.iter().sum::<f64>() * w * w;
    if x.len() > 2 { x.iter().sum::<f64>() * s } else { t * s }
}

#[test]
fn untyped_sums_in_typed_branches_match_central_differences() {
    let mut rng = Rng::for_test("sums_in_branches");
    for length in [2, 3] {
        for _ in 0..POINTS {
            let point = uniform_point(&mut rng, length + 1, -1.5, 1.5);
            let (x, w) = (&point[..length], point[length]);
            if w.abs() < 1e-3 {
                continue;
            }
            let (value, adj_x, adj_w) = sums_in_branches_grad(x, w);
            assert_all_close(&[value], &[sums_in_branches_by_hand(x, w)], EXACT_TOLERANCE);
            let mut gradient = adj_x;
            gradient.push(adj_w);
            fd::check_gradient(|p| sums_in_branches(&p[..length], p[length]), &point, &gradient)
                .assert_within(FD_TOLERANCE);
        }
    }
}

/// The logistic function, mapped over elements by name below.
#[differentiate(forward)]
fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Maps given by a function's name (`.map(f64::exp)`, `.map(logistic)`),
/// maps in a row, and copied elements passed to a function by value.
#[differentiate(forward)]
fn named_and_chained_maps(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = x.iter().copied().map(|v| v - m).map(f64::exp).sum::<f64>().ln() + m;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let spread: f64 = x.iter().map(|v| v - mean).map(|d| d * d).sum();
    let doubled: Vec<f64> = x.iter().copied().map(logistic).map(|p| 2.0 * p).collect();
    let squares = x.iter().copied().map(logistic).fold(0.0, |acc, p| acc + p * p);
    let mut looped = 0.0;
    for v in x.iter().copied() {
        looped += logistic(v) * v;
    }
    lse + spread + doubled[1] + squares + looped
}

#[test]
fn maps_by_name_and_in_a_row_are_differentiated() {
    let mut rng = Rng::for_test("named_and_chained_maps");
    for _ in 0..POINTS {
        let x = uniform_point(&mut rng, 4, -2.0, 2.0);
        let (value, gradient) = named_and_chained_maps_grad(&x);
        assert_eq!(value, named_and_chained_maps(&x));
        let sigma = |v: f64| 1.0 / (1.0 + (-v).exp());
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = x.iter().sum::<f64>() / 4.0;
        let by_hand = x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
            + m
            + x.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
            + 2.0 * sigma(x[1])
            + x.iter().map(|&v| sigma(v).powi(2) + sigma(v) * v).sum::<f64>();
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        fd::check_gradient(named_and_chained_maps, &x, &gradient).assert_within(FD_TOLERANCE);
        let direction = uniform_point(&mut rng, 4, -1.0, 1.0);
        let (_, tangent) = named_and_chained_maps_jvp(&x, &direction);
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
    }
}
