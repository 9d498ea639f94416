//! faer's `col![…]`, `row![…]` and `mat![[…], …]` with entries that have
//! derivatives: the polar map as a `col!`, a `row!` of mixed entries and a
//! quadratic form through a `mat!`, checked against closed forms and central
//! differences in reverse mode, forward mode, Jacobians and Hessians.

mod matrix_support;

use chainrule::prelude::*;
use faer::{col, mat, row};
use matrix_support::{EXACT, Rng, assert_close, check_fd, check_fd_jacobian};

/// (r cos θ, r sin θ): the Jacobian is [[cos θ, −r sin θ], [sin θ, r cos θ]].
#[differentiate(jacobian, forward)]
fn polar(r: f64, theta: f64) -> Col<f64> {
    col![r * theta.cos(), r * theta.sin()]
}

#[test]
fn a_col_macro_of_differentiated_entries_has_the_polar_jacobian() {
    let mut rng = Rng::new(11);
    for _ in 0..8 {
        let (r, theta) = (rng.uniform(0.5, 2.0), rng.uniform(-3.0, 3.0));
        let (value, jacobian) = polar_jacobian(r, theta);
        assert_eq!(value, polar(r, theta));
        let expected = mat![[theta.cos(), -r * theta.sin()], [theta.sin(), r * theta.cos()]];
        assert_close(&jacobian, &expected, EXACT);
        let (_, tangent) = polar_jvp(r, theta, 0.5, -1.5);
        let along = &expected * col![0.5, -1.5];
        assert_close(&tangent, &along, EXACT);
    }
}

/// (x₀x₁, e^{x₁}, 2) as a row, `faer::row!` spelled with its path.
#[differentiate(jacobian)]
fn mixed_row(x: &Col<f64>) -> Row<f64> {
    faer::row![x[0] * x[1], x[1].exp(), 2.0]
}

#[test]
fn a_row_macro_keeps_constant_entries_constant() {
    let mut rng = Rng::new(12);
    for _ in 0..8 {
        let x = rng.col(2);
        let (value, jacobian) = mixed_row_jacobian(&x);
        assert_eq!(value, mixed_row(&x));
        assert_eq!(value, row![x[0] * x[1], x[1].exp(), 2.0]);
        let expected = mat![[x[1], x[0]], [0.0, x[1].exp()], [0.0, 0.0]];
        assert_close(&jacobian, &expected, EXACT);
        check_fd_jacobian(&x, |x| mixed_row(x).transpose().to_owned(), &jacobian);
    }
}

/// vᵀ A v with A = [[x₀, 1], [x₁x₀, x₁]] and v = x:
/// f = x₀³ + x₀x₁ + x₀²x₁² + x₁³.
#[differentiate(hessian)]
fn quadratic_form(x: &Col<f64>) -> f64 {
    let a = mat![[x[0], 1.0], [x[1] * x[0], x[1]]];
    let v = col![x[0], x[1]];
    v.transpose() * (&a * &v)
}

#[test]
fn a_mat_macro_of_differentiated_entries_has_exact_derivatives() {
    let mut rng = Rng::new(13);
    for _ in 0..8 {
        let x = rng.col(2);
        let (x0, x1) = (x[0], x[1]);
        let (value, gradient) = quadratic_form_grad(&x);
        assert_eq!(value, quadratic_form(&x));
        let expected = col![
            3.0 * x0 * x0 + x1 + 2.0 * x0 * x1 * x1,
            x0 + 2.0 * x0 * x0 * x1 + 3.0 * x1 * x1
        ];
        assert_close(&gradient, &expected, EXACT);
        check_fd(&x, quadratic_form, &gradient);
        let (_, hessian) = quadratic_form_hessian(&x);
        let mixed = 1.0 + 4.0 * x0 * x1;
        let expected = mat![[6.0 * x0 + 2.0 * x1 * x1, mixed], [mixed, 2.0 * x0 * x0 + 6.0 * x1]];
        assert_close(&hessian, &expected, 1e-10);
    }
}
