//! faer's constructors with a closure, `Col::from_fn(n, |i| …)`,
//! `Row::from_fn(n, |j| …)` and `Mat::from_fn(r, c, |i, j| …)`: the macro
//! writes them as a zero value filled element by element in loops over the
//! closure's indices, so a closure reading differentiated values has exact
//! derivatives, and one reading only constants builds a constant.
//!
//! Each function is checked at random points: gradients, Hessians, JVPs and
//! VJPs against central differences, and constant matrices built this way
//! against their entries exactly.

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, uniform_point};

/// All three constructors over differentiated values: a `Col` of squares,
/// a `Mat` of products with `exp` on the diagonal (an `if` in the closure),
/// and a `Row` whose closure ignores its index and has statements.
#[differentiate(forward, hessian)]
fn built_from_closures(x: &Col<f64>) -> f64 {
    let n = x.nrows();
    let squares = Col::from_fn(n, |i| x[i] * x[i] + i as f64);
    let products = Mat::from_fn(n, n, |i, j| if i == j { x[i].exp() } else { x[i] * x[j] });
    let repeated = Row::<f64>::from_fn(n, |_: usize| {
        let twice = x[0] * 2.0;
        twice * twice.sin()
    });
    squares.sum() + products.squared_norm_l2() + repeated.sum()
}

fn built_from_closures_at(point: &[f64]) -> f64 {
    built_from_closures(&Col::from_fn(point.len(), |i| point[i]))
}

#[test]
fn closures_over_differentiated_values_have_exact_derivatives() {
    let mut rng = Rng::for_test("built_from_closures");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 3, -1.2, 1.2);
        let x = Col::from_fn(3, |i| point[i]);
        let (value, gradient) = built_from_closures_grad(&x);
        assert_eq!(value, built_from_closures_at(&point));
        let gradient: Vec<f64> = gradient.iter().copied().collect();
        fd::check_gradient(built_from_closures_at, &point, &gradient).assert_within(FD_TOLERANCE);

        let (_, hessian) = built_from_closures_hessian(&x);
        let numeric = fd::central_jacobian(
            |p| {
                let (_, g) = built_from_closures_grad(&Col::from_fn(3, |i| p[i]));
                g.iter().copied().collect()
            },
            &point,
        );
        for i in 0..3 {
            let row: Vec<f64> = (0..3).map(|j| hessian[(i, j)]).collect();
            let expected: Vec<f64> = (0..3).map(|j| numeric[(i, j)]).collect();
            assert_all_close(&row, &expected, FD_TOLERANCE);
        }

        let direction = uniform_point(&mut rng, 3, -1.0, 1.0);
        let (_, tangent) = built_from_closures_jvp(&x, &Col::from_fn(3, |i| direction[i]));
        let expected: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
        assert_all_close(&[tangent], &[expected], EXACT_TOLERANCE);
    }
}

/// `A x` with `A` built inside from its indices alone: a constant.
#[differentiate(jacobian)]
fn constant_map(x: &Col<f64>) -> Col<f64> {
    let a = Mat::from_fn(3, 3, |i, j| (i + 2 * j) as f64 + 1.0 / (1 + i * j) as f64);
    &a * x
}

#[differentiate(jacobian, layout = denominator)]
fn constant_map_denominator(x: &Col<f64>) -> Col<f64> {
    let a = Mat::from_fn(3, 3, |i, j| (i + 2 * j) as f64 + 1.0 / (1 + i * j) as f64);
    &a * x
}

#[test]
fn a_constant_matrix_built_from_its_indices_is_the_jacobian_of_its_map() {
    let mut rng = Rng::for_test("constant_map");
    let a = |i: usize, j: usize| (i + 2 * j) as f64 + 1.0 / (1 + i * j) as f64;
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 3, -2.0, 2.0);
        let x = Col::from_fn(3, |i| point[i]);
        let (_, numerator) = constant_map_jacobian(&x);
        let (_, denominator) = constant_map_denominator_jacobian(&x);
        for i in 0..3 {
            for j in 0..3 {
                assert_eq!(numerator[(i, j)], a(i, j), "∂(Ax)_{i}/∂x_{j}");
                assert_eq!(denominator[(j, i)], a(i, j), "denominator layout at ({j}, {i})");
            }
        }
    }
}

/// A vector result, its elements from a closure reading two parameters.
#[differentiate(forward)]
fn waves(x: &Col<f64>, w: f64) -> Col<f64> {
    Col::from_fn(x.nrows(), |k| (x[k] * w).sin() + (k as f64) * w * w)
}

#[test]
fn a_vector_built_from_a_closure_has_its_jacobian_products() {
    let mut rng = Rng::for_test("waves");
    let f = |p: &[f64]| -> Vec<f64> {
        let (x, w) = p.split_at(4);
        waves(&Col::from_fn(4, |i| x[i]), w[0]).iter().copied().collect()
    };
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 5, -1.5, 1.5);
        let x = Col::from_fn(4, |i| point[i]);
        let w = point[4];
        let jacobian = fd::central_jacobian(f, &point);
        let seed = Col::from_fn(4, |_| rng.seed());
        let (_, adj_x, adj_w) = waves_vjp(&x, w, &seed);
        let mut pulled: Vec<f64> = adj_x.iter().copied().collect();
        pulled.push(adj_w);
        let expected: Vec<f64> = (0..5)
            .map(|j| (0..4).map(|i| seed[i] * jacobian[(i, j)]).sum())
            .collect();
        assert_all_close(&pulled, &expected, FD_TOLERANCE);

        let direction = uniform_point(&mut rng, 5, -1.0, 1.0);
        let (_, tangent) = waves_jvp(&x, w, &Col::from_fn(4, |i| direction[i]), direction[4]);
        let expected: Vec<f64> = (0..4)
            .map(|i| (0..5).map(|j| jacobian[(i, j)] * direction[j]).sum())
            .collect();
        let tangent: Vec<f64> = tangent.iter().copied().collect();
        assert_all_close(&tangent, &expected, FD_TOLERANCE);
    }
}

/// `from_fn` inside a loop reading the value the loop carries; the closure's
/// indices shadow a local `i` and a size named `j`, as Rust scopes them.
#[differentiate]
fn iterated(x: &Col<f64>, a: f64) -> f64 {
    let n = x.nrows();
    let i = 1;
    let j = 2;
    let mut state = x.to_owned();
    for _ in 0..3 {
        state = Col::from_fn(n, |i| (state[i] * a).tanh() + x[i]);
    }
    let outer = Mat::from_fn(j, n, |i, j| state[j] * (i + 1) as f64);
    outer.sum() * state[i]
}

fn iterated_at(point: &[f64]) -> f64 {
    let (x, a) = point.split_at(3);
    iterated(&Col::from_fn(3, |i| x[i]), a[0])
}

#[test]
fn from_fn_in_a_loop_follows_the_carried_value_and_rust_scoping() {
    let mut rng = Rng::for_test("iterated");
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, 4, -1.0, 1.0);
        let x = Col::from_fn(3, |i| point[i]);
        let (value, adj_x, adj_a) = iterated_grad(&x, point[3]);
        // By hand: the state after three steps, then Σ_{i<2, j<3} state_j (i + 1) · state_1.
        let mut state: Vec<f64> = point[..3].to_vec();
        for _ in 0..3 {
            state = (0..3).map(|k| (state[k] * point[3]).tanh() + point[k]).collect();
        }
        let by_hand = 3.0 * state.iter().sum::<f64>() * state[1];
        assert_all_close(&[value], &[by_hand], EXACT_TOLERANCE);
        let mut gradient: Vec<f64> = adj_x.iter().copied().collect();
        gradient.push(adj_a);
        fd::check_gradient(iterated_at, &point, &gradient).assert_within(FD_TOLERANCE);
    }
}
