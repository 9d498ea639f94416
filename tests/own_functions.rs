//! Functions of the user's own named like those of `chainrule::ops`
//! (`sigmoid`, `relu`), taking their vector by value: a call passes them the
//! owned value, as it would pass it to the `ops` function of that name.

mod matrix_support;

use chainrule::prelude::*;
use matrix_support::{Rng, check_fd};

/// σ(z) element by element, into a copy of `z`.
#[differentiate]
fn sigmoid(z: Col<f64>) -> Col<f64> {
    let mut out = z.clone();
    for i in 0..z.nrows() {
        out[i] = 1.0 / (1.0 + (-z[i]).exp());
    }
    out
}

/// max(0, z) element by element, written as a product with the step.
#[differentiate]
fn relu(z: Col<f64>) -> Col<f64> {
    let mut out = z.clone();
    for i in 0..z.nrows() {
        out[i] = if z[i] > 0.0 { z[i] } else { 0.0 };
    }
    out
}

/// ‖y − σ(relu(Xw + b))‖², through both functions of the user's own.
#[differentiate(wrt(w, b))]
fn loss(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let z = add_scalar(x * w, b);
    let a = sigmoid(relu(z));
    (y - &a).squared_norm_l2()
}

#[test]
fn functions_named_like_ops_that_take_owned_vectors() {
    let mut rng = Rng::new(91);
    for (n, d) in [(5, 3), (8, 2)] {
        let (w, b, x, y) = (rng.col(d), 0.3, rng.mat(n, d), rng.col(n));
        let (value, grad_w, grad_b) = loss_grad(&w, b, &x, &y);
        assert_eq!(value, loss(&w, b, &x, &y));
        check_fd(&w, |w| loss(w, b, &x, &y), &grad_w);
        check_fd(&b, |b| loss(&w, *b, &x, &y), &grad_b);
    }
}
