//! Functions returning `Vec<f64>` or `[f64; N]`, the way a vector function
//! is often written without faer: `_vjp` and `_pullback` take a seed of the
//! value's type, `_jvp` returns a tangent of it, and `_jacobian` has a row
//! per element.
//!
//! Every function is checked at random points against the central-difference
//! Jacobian `J` of its flattened inputs: `_vjp` with a random seed `u` must
//! give `uᵀJ`, `_pullback` the same, `_jvp` with a random direction `v` must
//! give `Jv`, and `_jacobian` `J` itself.

// The differentiated functions index in `for i in 0..n` loops on purpose.
#![allow(clippy::needless_range_loop)]

#[macro_use]
mod common;

use chainrule::fd;
use chainrule::prelude::*;
use common::{EXACT_TOLERANCE, FD_TOLERANCE, POINTS, Rng, assert_all_close, assert_identical, uniform_point};

/// What one function's generated code gives at a point, flattened: the
/// value, `uᵀJ` from `_vjp`, the same from `_pullback`, and `Jv` from `_jvp`.
struct Products {
    value: Vec<f64>,
    vjp: Vec<f64>,
    pullback: Vec<f64>,
    jvp: Vec<f64>,
}

/// Checks `products(point, u, v)` against the central-difference Jacobian of
/// `f` at [`POINTS`] random points in `±[0.2, 1.5)`.
#[track_caller]
fn check(
    name: &str,
    inputs: usize,
    f: impl Fn(&[f64]) -> Vec<f64>,
    products: impl Fn(&[f64], &[f64], &[f64]) -> Products,
) {
    let mut rng = Rng::for_test(name);
    for _ in 0..POINTS {
        let point: Vec<f64> = (0..inputs).map(|_| rng.signed(0.2, 1.5)).collect();
        let value = f(&point);
        let seed: Vec<f64> = (0..value.len()).map(|_| rng.seed()).collect();
        let direction = uniform_point(&mut rng, inputs, -1.0, 1.0);
        let jacobian = fd::central_jacobian(&f, &point);
        let u_j: Vec<f64> = (0..inputs)
            .map(|j| (0..value.len()).map(|i| seed[i] * jacobian[(i, j)]).sum())
            .collect();
        let j_v: Vec<f64> = (0..value.len())
            .map(|i| (0..inputs).map(|j| jacobian[(i, j)] * direction[j]).sum())
            .collect();
        let generated = products(&point, &seed, &direction);
        assert_identical(&generated.value, &value);
        assert_all_close(&generated.vjp, &u_j, FD_TOLERANCE);
        assert_identical(&generated.pullback, &generated.vjp);
        assert_all_close(&generated.jvp, &j_v, FD_TOLERANCE);
    }
}

/// Polar to Cartesian coordinates, an array literal.
#[differentiate(forward, jacobian)]
fn polar(r: f64, theta: f64) -> [f64; 2] {
    [r * theta.cos(), r * theta.sin()]
}

#[test]
fn an_array_literal() {
    check(
        "polar",
        2,
        |p| polar(p[0], p[1]).to_vec(),
        |p, u, v| {
            let seed = [u[0], u[1]];
            let (value, dr, dtheta) = polar_vjp(p[0], p[1], &seed);
            let (_, pullback) = polar_pullback(p[0], p[1]);
            let (pr, ptheta) = pullback(&seed, (p[0], p[1]));
            let (_, tangent) = polar_jvp(p[0], p[1], v[0], v[1]);
            Products {
                value: value.to_vec(),
                vjp: vec![dr, dtheta],
                pullback: vec![pr, ptheta],
                jvp: tangent.to_vec(),
            }
        },
    );
    let (r, theta) = (2.0, 0.5);
    let (value, jacobian) = polar_jacobian(r, theta);
    assert_eq!(value, polar(r, theta));
    let expected = [[theta.cos(), -r * theta.sin()], [theta.sin(), r * theta.cos()]];
    for (i, row) in expected.iter().enumerate() {
        assert_all_close(&[jacobian[(i, 0)], jacobian[(i, 1)]], row, EXACT_TOLERANCE);
    }
}

/// x, x², x³ written into a local array by a loop.
#[differentiate(forward)]
fn powers(x: f64) -> [f64; 3] {
    let mut out = [0.0; 3];
    let mut p = 1.0;
    for i in 0..3 {
        p *= x;
        out[i] = p;
    }
    out
}

#[test]
fn an_array_written_by_a_loop() {
    check(
        "powers",
        1,
        |p| powers(p[0]).to_vec(),
        |p, u, v| {
            let seed = [u[0], u[1], u[2]];
            let (value, dx) = powers_vjp(p[0], &seed);
            let (_, pullback) = powers_pullback(p[0]);
            let (px,) = pullback(&seed, (p[0],));
            let (_, tangent) = powers_jvp(p[0], v[0]);
            Products {
                value: value.to_vec(),
                vjp: vec![dx],
                pullback: vec![px],
                jvp: tangent.to_vec(),
            }
        },
    );
}

/// s·xᵢ² into a copy of a slice.
#[differentiate(forward)]
fn scaled_squares(xs: &[f64], s: f64) -> Vec<f64> {
    let mut v = xs.to_vec();
    for i in 0..v.len() {
        v[i] = s * v[i] * v[i];
    }
    v
}

#[test]
fn a_vec_copied_from_a_slice() {
    check(
        "scaled_squares",
        4,
        |p| scaled_squares(&p[..3], p[3]),
        |p, u, v| {
            let seed = u.to_vec();
            // The seed of a `Vec` result is a slice: a `&Vec<f64>` or a part of a longer one.
            let (value, dxs, ds) = scaled_squares_vjp(&p[..3], p[3], &u[..3]);
            assert_eq!(scaled_squares_vjp(&p[..3], p[3], &seed).1, dxs);
            let (_, pullback) = scaled_squares_pullback(&p[..3], p[3]);
            let (pxs, ps) = pullback(&seed, (&p[..3], p[3]));
            let (_, tangent) = scaled_squares_jvp(&p[..3], p[3], &v[..3], v[3]);
            Products {
                value,
                vjp: [dxs, vec![ds]].concat(),
                pullback: [pxs, vec![ps]].concat(),
                jvp: tangent,
            }
        },
    );
}

/// A `vec![…]` of expressions.
#[differentiate(forward)]
fn listed(x: f64, y: f64) -> Vec<f64> {
    vec![x * y, x + y, (x * y).exp()]
}

#[test]
fn a_vec_literal() {
    check(
        "listed",
        2,
        |p| listed(p[0], p[1]),
        |p, u, v| {
            let seed = u.to_vec();
            let (value, dx, dy) = listed_vjp(p[0], p[1], &seed);
            let (_, pullback) = listed_pullback(p[0], p[1]);
            let (px, py) = pullback(&seed, (p[0], p[1]));
            let (_, tangent) = listed_jvp(p[0], p[1], v[0], v[1]);
            Products {
                value,
                vjp: vec![dx, dy],
                pullback: vec![px, py],
                jvp: tangent,
            }
        },
    );
}

/// sin(2xᵢ²) through a call of another function returning a `Vec`.
#[differentiate(forward)]
fn through_a_call(xs: &[f64]) -> Vec<f64> {
    let v = scaled_squares(xs, 2.0);
    let mut w = vec![0.0; v.len()];
    for i in 0..v.len() {
        w[i] = v[i].sin();
    }
    w
}

#[test]
fn a_vec_from_a_call() {
    check("through_a_call", 3, through_a_call, |p, u, v| {
        let seed = u.to_vec();
        let (value, dxs) = through_a_call_vjp(p, &seed);
        let (_, pullback) = through_a_call_pullback(p);
        let (pxs,) = pullback(&seed, (p,));
        let (_, tangent) = through_a_call_jvp(p, v);
        Products {
            value,
            vjp: dxs,
            pullback: pxs,
            jvp: tangent,
        }
    });
}

/// An array in and an array out.
#[differentiate(forward)]
fn product_and_difference(a: [f64; 2]) -> [f64; 2] {
    [a[0] * a[1], a[0] - a[1]]
}

#[test]
fn an_array_parameter_and_value() {
    check(
        "product_and_difference",
        2,
        |p| product_and_difference([p[0], p[1]]).to_vec(),
        |p, u, v| {
            let (a, seed) = ([p[0], p[1]], [u[0], u[1]]);
            let (value, da) = product_and_difference_vjp(a, &seed);
            let (_, pullback) = product_and_difference_pullback(a);
            let (pa,) = pullback(&seed, (a,));
            let (_, tangent) = product_and_difference_jvp(a, [v[0], v[1]]);
            Products {
                value: value.to_vec(),
                vjp: da.to_vec(),
                pullback: pa.to_vec(),
                jvp: tangent.to_vec(),
            }
        },
    );
}

/// `x·xᵀ`, a matrix value.
#[differentiate]
fn outer_square(x: &Col<f64>) -> Mat<f64> {
    x * x.transpose()
}

/// A seed of another size than the value is refused with a message naming
/// the function and both shapes, not read out of bounds or cut short.
#[test]
#[should_panic(
    expected = "the seed given to `scaled_squares_vjp` (or to the pullback of `scaled_squares`) is 2×1 but the value of \
                           `scaled_squares` is 3×1"
)]
fn a_vec_seed_longer_or_shorter_than_the_value_is_refused() {
    let _ = scaled_squares_vjp(&[1.0, 2.0, 3.0], 0.5, &[1.0, 1.0]);
}

#[test]
#[should_panic(
    expected = "the seed given to `outer_square_vjp` (or to the pullback of `outer_square`) is 3×2 but the value of \
                           `outer_square` is 3×3"
)]
fn a_matrix_seed_of_another_shape_is_refused() {
    let x = Col::from_fn(3, |i| i as f64);
    let (_, pullback) = outer_square_pullback(&x);
    let _ = pullback(&Mat::zeros(3, 2), (&x,));
}
