//! The vector chain rule: y = [ln(x²), sin(3x)] for a scalar x, built
//! element by element into a faer column, has the Jacobian
//! [2/x, 3·cos(3x)]ᵀ (2 × 1 in numerator layout, 1 × 2 in denominator
//! layout); composed with g(y) = y₁·y₂ it gives d(g∘y)/dx = ∇g · J.

use chainrule::fd;
use chainrule::prelude::*;

#[differentiate(jacobian)]
fn curve(x: f64) -> Col<f64> {
    let mut y = Col::<f64>::zeros(2);
    y[0] = (x * x).ln();
    y[1] = (3.0 * x).sin();
    y
}

#[differentiate(jacobian, layout = denominator)]
fn curve_transposed(x: f64) -> Col<f64> {
    let mut y = Col::<f64>::zeros(2);
    y[0] = (x * x).ln();
    y[1] = (3.0 * x).sin();
    y
}

#[differentiate]
fn product_of_curve(x: f64) -> f64 {
    let y = curve(x);
    y[0] * y[1]
}

fn relative_error(actual: f64, expected: f64) -> f64 {
    (actual - expected).abs() / expected.abs().max(1e-300)
}

#[test]
fn jacobian_of_a_curve_in_both_layouts() {
    for x in [0.3, 0.9, 1.7, -2.2] {
        let (value, jacobian) = curve_jacobian(x);
        assert_eq!(value, curve(x));
        assert_eq!((jacobian.nrows(), jacobian.ncols()), (2, 1));
        assert!(relative_error(jacobian[(0, 0)], 2.0 / x) < 1e-14);
        assert!(relative_error(jacobian[(1, 0)], 3.0 * (3.0 * x).cos()) < 1e-14);

        let (_, transposed) = curve_transposed_jacobian(x);
        assert_eq!((transposed.nrows(), transposed.ncols()), (1, 2));
        assert_eq!(transposed[(0, 0)], jacobian[(0, 0)]);
        assert_eq!(transposed[(0, 1)], jacobian[(1, 0)]);

        let numeric = fd::central_jacobian(|p| fd::to_vec(&curve(p[0])), &[x]);
        for i in 0..2 {
            assert!(relative_error(jacobian[(i, 0)], numeric[(i, 0)]) < 1e-6);
        }
    }
}

#[test]
fn chain_rule_through_a_vector_valued_function() {
    for x in [0.4, 1.3, -0.8] {
        let (value, derivative) = product_of_curve_grad(x);
        let (y1, y2) = ((x * x).ln(), (3.0 * x).sin());
        assert!(relative_error(value, y1 * y2) < 1e-14);
        // ∇g · J = [y₂, y₁] · [2/x, 3cos(3x)]ᵀ
        let expected = y2 * 2.0 / x + y1 * 3.0 * (3.0 * x).cos();
        assert!(relative_error(derivative, expected) < 1e-12);
        fd::check_gradient(|p| product_of_curve(p[0]), &[x], &[derivative]).assert_within(1e-6);
    }
}
