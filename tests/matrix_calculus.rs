//! Matrix calculus with `#[differentiate]` on faer values: the textbook
//! identities (∇ₓ aᵀx = a, ∇ₓ xᵀAx = (A + Aᵀ)x, ∇_w ‖Xw − y‖² = 2Xᵀ(Xw − y),
//! ...), every product shape, the operations of `chainrule::ops`, views,
//! element reads, vector- and matrix-valued functions, calls between
//! differentiated functions and branches.
//!
//! Every gradient is compared with its closed form (to 1e-10 relative) and
//! with central differences (to 1e-6) at several random sizes and points.

mod matrix_support;

use chainrule::prelude::*;
use faer::{col, mat, row};
use matrix_support::{EXACT, Rng, SHAPES, SIZES, assert_close, check_fd, inner};

// ----- linear and quadratic forms ---------------------------------------------

/// aᵀx, a Row·Col product giving an `f64`.
#[differentiate]
fn linear_form(a: &Col<f64>, x: &Col<f64>) -> f64 {
    a.transpose() * x
}

/// The same with `dot`.
#[differentiate]
fn linear_form_dot(a: &Col<f64>, x: &Col<f64>) -> f64 {
    dot(a, x)
}

#[test]
fn gradient_of_a_linear_form_is_the_coefficient_vector() {
    let (a, x) = (col![1.0, -2.0, 3.0], col![4.0, 5.0, -6.0]);
    let (value, grad_a, grad_x) = linear_form_grad(&a, &x);
    assert_eq!((value, &grad_a, &grad_x), (-24.0, &x, &a));
    let (value, grad_a, grad_x) = linear_form_dot_grad(&a, &x);
    assert_eq!((value, &grad_a, &grad_x), (-24.0, &x, &a));

    let mut rng = Rng::new(10);
    for n in SIZES {
        let (a, x) = (rng.col(n), rng.col(n));
        for (value, grad_a, grad_x) in [linear_form_grad(&a, &x), linear_form_dot_grad(&a, &x)] {
            assert_close(&value, &dot(&a, &x), EXACT);
            assert_close(&grad_x, &a, EXACT);
            assert_close(&grad_a, &x, EXACT);
            check_fd(&x, |x| linear_form(&a, x), &grad_x);
            check_fd(&a, |a| linear_form_dot(a, &x), &grad_a);
        }
    }
}

/// xᵀAx
#[differentiate]
fn quadratic_form(x: &Col<f64>, a: &Mat<f64>) -> f64 {
    x.transpose() * a * x
}

/// xᵀAx with an owned matrix, written `x.transpose() * &a * x`.
#[differentiate]
fn quadratic_form_owned(x: &Col<f64>, a: Mat<f64>) -> f64 {
    x.transpose() * &a * x
}

#[test]
fn gradients_of_a_quadratic_form() {
    // ∇ₓ xᵀAx = (A + Aᵀ)x, ∇_A xᵀAx = xxᵀ.
    let x = col![1.0, 2.0];
    let a = mat![[1.0, 2.0], [3.0, 4.0]];
    let (value, grad_x, grad_a) = quadratic_form_grad(&x, &a);
    assert_eq!(value, 27.0);
    assert_eq!(grad_x, col![12.0, 21.0]);
    assert_eq!(grad_a, mat![[1.0, 2.0], [2.0, 4.0]]);

    let mut rng = Rng::new(11);
    for n in SIZES {
        let (x, a) = (rng.col(n), rng.mat(n, n));
        let expected_x = (&a + a.transpose()) * &x;
        let expected_a = &x * x.transpose();
        for (value, grad_x, grad_a) in [quadratic_form_grad(&x, &a), quadratic_form_owned_grad(&x, a.clone())] {
            assert_close(&value, &(x.transpose() * &a * &x), EXACT);
            assert_close(&grad_x, &expected_x, EXACT);
            assert_close(&grad_a, &expected_a, EXACT);
            check_fd(&x, |x| quadratic_form(x, &a), &grad_x);
            check_fd(&a, |a| quadratic_form_owned(&x, a.clone()), &grad_a);
        }
    }
}

// ----- norms -------------------------------------------------------------------

#[differentiate]
fn squared_norm(x: &Col<f64>) -> f64 {
    x.squared_norm_l2()
}

#[differentiate]
fn norm(x: &Col<f64>) -> f64 {
    x.norm_l2()
}

#[test]
fn gradient_of_the_squared_norm_is_twice_the_vector() {
    let (value, grad) = squared_norm_grad(&col![3.0, -4.0]);
    assert_eq!((value, grad), (25.0, col![6.0, -8.0]));
    let mut rng = Rng::new(12);
    for n in SIZES {
        let x = rng.col(n);
        let (value, grad) = squared_norm_grad(&x);
        assert_close(&value, &x.squared_norm_l2(), EXACT);
        assert_close(&grad, &(2.0 * &x), EXACT);
        check_fd(&x, squared_norm, &grad);
    }
}

#[test]
fn gradient_of_the_norm_is_the_unit_vector() {
    let (value, grad) = norm_grad(&col![3.0, -4.0]);
    assert_eq!(value, 5.0);
    assert_close(&grad, &col![0.6, -0.8], EXACT);
    let mut rng = Rng::new(13);
    for n in SIZES {
        let x = rng.col_away_from_zero(n);
        let (value, grad) = norm_grad(&x);
        assert_close(&value, &x.norm_l2(), EXACT);
        assert_close(&grad, &(&x / x.norm_l2()), EXACT);
        assert_close(&grad.norm_l2(), &1.0, EXACT);
        check_fd(&x, norm, &grad);
    }
}

#[differentiate]
fn frobenius_owned(x: Mat<f64>) -> f64 {
    x.squared_norm_l2()
}

#[differentiate]
fn frobenius_ref(x: &Mat<f64>) -> f64 {
    x.squared_norm_l2()
}

#[differentiate]
fn frobenius_view(x: MatRef<'_, f64>) -> f64 {
    x.squared_norm_l2()
}

#[test]
fn gradient_of_the_squared_frobenius_norm_is_twice_the_matrix() {
    let x = mat![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let (value, grad) = frobenius_owned_grad(x.clone());
    assert_eq!((value, &grad), (91.0, &(2.0 * &x)));

    let mut rng = Rng::new(14);
    for (m, n) in SHAPES {
        let x = rng.mat(m, n);
        let expected = 2.0 * &x;
        for (value, grad) in [
            frobenius_owned_grad(x.clone()),
            frobenius_ref_grad(&x),
            frobenius_view_grad(x.as_ref()),
        ] {
            assert_close(&value, &x.squared_norm_l2(), EXACT);
            assert_close(&grad, &expected, EXACT);
            check_fd(&x, |x| frobenius_view(x.as_ref()), &grad);
        }
    }
}

// ----- least squares -------------------------------------------------------------

#[differentiate]
fn least_squares(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    (x * w - y).squared_norm_l2()
}

#[test]
fn least_squares_gradients() {
    // ∇_w = 2Xᵀr, ∇_X = 2rwᵀ, ∇_y = −2r with r = Xw − y.
    let x = mat![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let (w, y) = (col![0.5, -0.5], col![1.0, 0.0, 1.0]);
    let (value, grad_w, _, _) = least_squares_grad(&w, &x, &y);
    assert_eq!(value, 4.75);
    assert_eq!(grad_w, col![-21.0, -28.0]);

    let mut rng = Rng::new(15);
    for (m, n) in SHAPES {
        let (w, x, y) = (rng.col(n), rng.mat(m, n), rng.col(m));
        let r = &x * &w - &y;
        let (value, grad_w, grad_x, grad_y) = least_squares_grad(&w, &x, &y);
        assert_close(&value, &r.squared_norm_l2(), EXACT);
        assert_close(&grad_w, &(2.0 * x.transpose() * &r), EXACT);
        assert_close(&grad_x, &(2.0 * &r * w.transpose()), EXACT);
        assert_close(&grad_y, &(-2.0 * &r), EXACT);
        check_fd(&w, |w| least_squares(w, &x, &y), &grad_w);
        check_fd(&x, |x| least_squares(&w, x, &y), &grad_x);
        check_fd(&y, |y| least_squares(&w, &x, y), &grad_y);
    }
}

// ----- sums ---------------------------------------------------------------------

#[differentiate]
fn sum_method(x: &Col<f64>) -> f64 {
    x.sum()
}

#[differentiate]
fn sum_function(x: &Col<f64>) -> f64 {
    sum(x)
}

#[differentiate]
fn sum_of_matrix(a: &Mat<f64>) -> f64 {
    a.sum() + sum(a)
}

#[differentiate]
fn sum_of_row(r: &Row<f64>) -> f64 {
    r.sum() + sum(r)
}

#[test]
fn gradient_of_a_sum_is_ones() {
    let mut rng = Rng::new(16);
    for n in SIZES {
        let x = rng.col(n);
        for (value, grad) in [sum_method_grad(&x), sum_function_grad(&x)] {
            assert_close(&value, &x.sum(), EXACT);
            assert_eq!(grad, Col::<f64>::ones(n));
            check_fd(&x, sum_method, &grad);
        }
        let r = rng.row(n);
        let (value, grad) = sum_of_row_grad(&r);
        assert_close(&value, &(2.0 * r.sum()), EXACT);
        assert_eq!(grad, Row::<f64>::ones(n) * 2.0);
        check_fd(&r, sum_of_row, &grad);
    }
    for (m, n) in SHAPES {
        let a = rng.mat(m, n);
        let (value, grad) = sum_of_matrix_grad(&a);
        assert_close(&value, &(2.0 * a.sum()), EXACT);
        assert_eq!(grad, Mat::<f64>::ones(m, n) * 2.0);
        check_fd(&a, sum_of_matrix, &grad);
    }
}

// ----- element-wise operations ---------------------------------------------------

#[differentiate]
fn hadamard_product(w: &Col<f64>, x: &Col<f64>) -> Col<f64> {
    hadamard(w, x)
}

#[differentiate]
fn shifted(x: &Col<f64>, z: f64) -> Col<f64> {
    add_scalar(x, z)
}

#[test]
fn hadamard_vjp_multiplies_the_seed_by_the_other_factor() {
    let mut rng = Rng::new(17);
    for n in SIZES {
        let (w, x, seed) = (rng.col(n), rng.col(n), rng.col(n));
        let (value, seed_w, seed_x) = hadamard_product_vjp(&w, &x, &seed);
        assert_close(&value, &Col::from_fn(n, |i| w[i] * x[i]), EXACT);
        assert_close(&seed_w, &hadamard(&seed, &x), EXACT);
        assert_close(&seed_x, &hadamard(&seed, &w), EXACT);
        check_fd(&w, |w| inner(&seed, &hadamard_product(w, &x)), &seed_w);
        check_fd(&x, |x| inner(&seed, &hadamard_product(&w, x)), &seed_x);
    }
}

#[test]
fn add_scalar_vjp_passes_the_seed_and_sums_it_for_the_scalar() {
    let mut rng = Rng::new(18);
    for n in SIZES {
        let (x, z) = (rng.col(n), rng.scalar());
        // With a seed of ones, ∂/∂z Σᵢ (xᵢ + z) = n.
        let (_, seed_x, seed_z) = shifted_vjp(&x, z, &Col::<f64>::ones(n));
        assert_eq!((seed_x, seed_z), (Col::<f64>::ones(n), n as f64));
        let seed = rng.col(n);
        let (value, seed_x, seed_z) = shifted_vjp(&x, z, &seed);
        assert_close(&value, &Col::from_fn(n, |i| x[i] + z), EXACT);
        assert_close(&seed_x, &seed, EXACT);
        assert_close(&seed_z, &seed.sum(), EXACT);
        check_fd(&x, |x| inner(&seed, &shifted(x, z)), &seed_x);
        check_fd(&z, |z| inner(&seed, &shifted(&x, *z)), &seed_z);
    }
}

/// `x / y` element by element, as the error for a vector divisor says to
/// write it.
#[differentiate]
fn elementwise_quotient(x: &Col<f64>, y: &Col<f64>) -> Col<f64> {
    hadamard(x, powi(y, -1))
}

/// `s / y` element by element, likewise.
#[differentiate]
fn number_over_elements(s: f64, y: &Col<f64>) -> Col<f64> {
    powi(y, -1) * s
}

#[test]
fn elementwise_quotients_differentiate_as_the_divisor_error_suggests() {
    let mut rng = Rng::new(19);
    for n in SIZES {
        let (x, y, s, seed) = (rng.col(n), rng.col_away_from_zero(n), rng.scalar(), rng.col(n));
        let (value, seed_x, seed_y) = elementwise_quotient_vjp(&x, &y, &seed);
        assert_close(&value, &Col::from_fn(n, |i| x[i] / y[i]), EXACT);
        // ∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²
        assert_close(&seed_x, &Col::from_fn(n, |i| seed[i] / y[i]), EXACT);
        assert_close(&seed_y, &Col::from_fn(n, |i| -seed[i] * x[i] / (y[i] * y[i])), EXACT);
        check_fd(&x, |x| inner(&seed, &elementwise_quotient(x, &y)), &seed_x);
        check_fd(&y, |y| inner(&seed, &elementwise_quotient(&x, y)), &seed_y);
        let (value, seed_s, seed_y) = number_over_elements_vjp(s, &y, &seed);
        assert_close(&value, &Col::from_fn(n, |i| s / y[i]), EXACT);
        assert_close(&seed_s, &(0..n).map(|i| seed[i] / y[i]).sum::<f64>(), EXACT);
        check_fd(&s, |s| inner(&seed, &number_over_elements(*s, &y)), &seed_s);
        check_fd(&y, |y| inner(&seed, &number_over_elements(s, y)), &seed_y);
    }
}

#[differentiate]
fn exp_col(x: &Col<f64>) -> Col<f64> {
    exp(x)
}

#[differentiate]
fn ln_col(x: &Col<f64>) -> Col<f64> {
    ln(x)
}

#[differentiate]
fn sqrt_col(x: &Col<f64>) -> Col<f64> {
    sqrt(x)
}

#[differentiate]
fn tanh_col(x: &Col<f64>) -> Col<f64> {
    tanh(x)
}

#[differentiate]
fn sigmoid_col(x: &Col<f64>) -> Col<f64> {
    sigmoid(x)
}

#[differentiate]
fn relu_col(x: &Col<f64>) -> Col<f64> {
    relu(x)
}

#[differentiate]
fn cube_col(x: &Col<f64>) -> Col<f64> {
    powi(x, 3)
}

#[differentiate]
fn exp_scalar(x: f64) -> f64 {
    exp(x)
}

#[differentiate]
fn ln_scalar(x: f64) -> f64 {
    ln(x)
}

#[differentiate]
fn sqrt_scalar(x: f64) -> f64 {
    sqrt(x)
}

#[differentiate]
fn tanh_scalar(x: f64) -> f64 {
    tanh(x)
}

#[differentiate]
fn sigmoid_scalar(x: f64) -> f64 {
    sigmoid(x)
}

#[differentiate]
fn relu_scalar(x: f64) -> f64 {
    relu(x)
}

#[differentiate]
fn cube_scalar(x: f64) -> f64 {
    powi(x, 3)
}

type ColFn = fn(&Col<f64>) -> Col<f64>;
type ColVjp = fn(&Col<f64>, &Col<f64>) -> (Col<f64>, Col<f64>);

/// An element-wise function on a column and on an `f64`, with its
/// derivative and the points where it is smooth.
struct Elementwise {
    name: &'static str,
    column: ColFn,
    column_vjp: ColVjp,
    scalar: fn(f64) -> f64,
    scalar_grad: fn(f64) -> (f64, f64),
    value: fn(f64) -> f64,
    derivative: fn(f64) -> f64,
    point: fn(&mut Rng) -> f64,
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

const ELEMENTWISE: [Elementwise; 7] = [
    Elementwise {
        name: "exp",
        column: exp_col,
        column_vjp: exp_col_vjp,
        scalar: exp_scalar,
        scalar_grad: exp_scalar_grad,
        value: f64::exp,
        derivative: f64::exp,
        point: Rng::scalar,
    },
    Elementwise {
        name: "ln",
        column: ln_col,
        column_vjp: ln_col_vjp,
        scalar: ln_scalar,
        scalar_grad: ln_scalar_grad,
        value: f64::ln,
        derivative: |x| 1.0 / x,
        point: Rng::positive,
    },
    Elementwise {
        name: "sqrt",
        column: sqrt_col,
        column_vjp: sqrt_col_vjp,
        scalar: sqrt_scalar,
        scalar_grad: sqrt_scalar_grad,
        value: f64::sqrt,
        derivative: |x| 0.5 / x.sqrt(),
        point: Rng::positive,
    },
    Elementwise {
        name: "tanh",
        column: tanh_col,
        column_vjp: tanh_col_vjp,
        scalar: tanh_scalar,
        scalar_grad: tanh_scalar_grad,
        value: f64::tanh,
        derivative: |x| 1.0 - x.tanh().powi(2),
        point: Rng::scalar,
    },
    Elementwise {
        name: "sigmoid",
        column: sigmoid_col,
        column_vjp: sigmoid_col_vjp,
        scalar: sigmoid_scalar,
        scalar_grad: sigmoid_scalar_grad,
        value: logistic,
        derivative: |x| logistic(x) * (1.0 - logistic(x)),
        point: Rng::scalar,
    },
    Elementwise {
        name: "relu",
        column: relu_col,
        column_vjp: relu_col_vjp,
        scalar: relu_scalar,
        scalar_grad: relu_scalar_grad,
        value: |x| x.max(0.0),
        derivative: |x| if x > 0.0 { 1.0 } else { 0.0 },
        point: Rng::away_from_zero,
    },
    Elementwise {
        name: "powi(·, 3)",
        column: cube_col,
        column_vjp: cube_col_vjp,
        scalar: cube_scalar,
        scalar_grad: cube_scalar_grad,
        value: |x| x * x * x,
        derivative: |x| 3.0 * x * x,
        point: Rng::scalar,
    },
];

#[test]
fn every_elementwise_op_on_columns() {
    let mut rng = Rng::new(19);
    for op in &ELEMENTWISE {
        for n in SIZES {
            let x = Col::from_fn(n, |_| (op.point)(&mut rng));
            let seed = rng.col(n);
            let (value, seed_x) = (op.column_vjp)(&x, &seed);
            assert_close(&value, &Col::from_fn(n, |i| (op.value)(x[i])), EXACT);
            let expected = Col::from_fn(n, |i| seed[i] * (op.derivative)(x[i]));
            assert_close(&seed_x, &expected, EXACT);
            check_fd(&x, |x| inner(&seed, &(op.column)(x)), &seed_x);
            assert!(seed_x.iter().all(|g| g.is_finite()), "{}: {seed_x:?}", op.name);
        }
    }
}

#[test]
fn every_elementwise_op_on_scalars() {
    let mut rng = Rng::new(20);
    for op in &ELEMENTWISE {
        for _ in 0..4 {
            let x = (op.point)(&mut rng);
            let (value, grad) = (op.scalar_grad)(x);
            assert_close(&value, &(op.value)(x), EXACT);
            assert_close(&grad, &(op.derivative)(x), EXACT);
            check_fd(&x, |x| (op.scalar)(*x), &grad);
        }
    }
}

#[test]
fn relu_gradient_is_an_indicator() {
    let x = col![-2.0, -0.5, 0.5, 2.0];
    let (value, grad) = relu_col_vjp(&x, &Col::<f64>::ones(4));
    assert_eq!(value, col![0.0, 0.0, 0.5, 2.0]);
    assert_eq!(grad, col![0.0, 0.0, 1.0, 1.0]);
    assert_eq!(relu_scalar_grad(-1.0), (0.0, 0.0));
    assert_eq!(relu_scalar_grad(3.0), (3.0, 1.0));
}

/// Element-wise functions composed and reduced to a scalar.
#[differentiate]
fn softplus_sum(x: &Col<f64>) -> f64 {
    sum(ln(add_scalar(exp(x), 1.0)))
}

#[differentiate]
fn composed(x: &Col<f64>, w: &Col<f64>) -> f64 {
    let h = tanh(hadamard(w, x));
    dot(&h, sqrt(add_scalar(powi(x, 2), 1.0))) + sum(sigmoid(relu(x)))
}

#[test]
fn composed_elementwise_ops() {
    let mut rng = Rng::new(21);
    for n in SIZES {
        let (x, w) = (rng.col_away_from_zero(n), rng.col(n));
        let (value, grad) = softplus_sum_grad(&x);
        assert_close(&value, &(0..n).map(|i| (x[i].exp() + 1.0).ln()).sum::<f64>(), EXACT);
        assert_close(&grad, &sigmoid(&x), EXACT);
        check_fd(&x, softplus_sum, &grad);

        let (_, grad_x, grad_w) = composed_grad(&x, &w);
        check_fd(&x, |x| composed(x, &w), &grad_x);
        check_fd(&w, |w| composed(&x, w), &grad_w);
    }
}

// ----- products of every shape ---------------------------------------------------

#[differentiate]
fn mat_mat(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    a * b
}

#[differentiate]
fn mat_col(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    a * x
}

#[differentiate]
fn row_mat(r: &Row<f64>, a: &Mat<f64>) -> Row<f64> {
    r * a
}

#[differentiate]
fn row_col(r: &Row<f64>, x: &Col<f64>) -> f64 {
    r * x
}

#[differentiate]
fn col_row(x: &Col<f64>, r: &Row<f64>) -> Mat<f64> {
    x * r
}

#[differentiate]
fn scalar_mat(k: f64, a: &Mat<f64>) -> Mat<f64> {
    k * a
}

#[differentiate]
fn mat_scalar(a: &Mat<f64>, k: f64) -> Mat<f64> {
    a * k
}

#[differentiate]
fn mat_div_scalar(a: &Mat<f64>, k: f64) -> Mat<f64> {
    a / k
}

#[differentiate]
fn scalar_col(k: f64, x: &Col<f64>) -> Col<f64> {
    k * x
}

#[differentiate]
fn row_div_scalar(r: &Row<f64>, k: f64) -> Row<f64> {
    r / k
}

#[test]
fn mat_mat_product() {
    // Ā = S Bᵀ, B̄ = Aᵀ S.
    let mut rng = Rng::new(30);
    for (m, n) in SHAPES {
        let p = n + 1;
        let (a, b, seed) = (rng.mat(m, n), rng.mat(n, p), rng.mat(m, p));
        let (value, seed_a, seed_b) = mat_mat_vjp(&a, &b, &seed);
        assert_close(&value, &(&a * &b), EXACT);
        assert_close(&seed_a, &(&seed * b.transpose()), EXACT);
        assert_close(&seed_b, &(a.transpose() * &seed), EXACT);
        check_fd(&a, |a| inner(&seed, &mat_mat(a, &b)), &seed_a);
        check_fd(&b, |b| inner(&seed, &mat_mat(&a, b)), &seed_b);
    }
}

#[test]
fn tall_mat_mat_product() {
    // B̄ = Aᵀ S for a tall A and a narrow S, the shapes whose B̄ the runtime
    // computes as (Sᵀ A)ᵀ (m ≥ 256, m ≥ 4p, n ≥ 2p), and one just outside.
    // The rule itself is checked against central differences above; here the
    // kernel must agree with the closed form (sums this long leave central
    // differences ~1e-6 of rounding).
    let mut rng = Rng::new(35);
    for (m, n, p) in [(256, 8, 4), (600, 20, 3), (300, 2, 2)] {
        let (a, b, seed) = (rng.mat(m, n), rng.mat(n, p), rng.mat(m, p));
        let (value, seed_a, seed_b) = mat_mat_vjp(&a, &b, &seed);
        assert_close(&value, &(&a * &b), EXACT);
        assert_close(&seed_a, &(&seed * b.transpose()), EXACT);
        assert_close(&seed_b, &(a.transpose() * &seed), EXACT);
    }
}

#[test]
fn mat_col_product() {
    // Ā = s xᵀ, x̄ = Aᵀ s.
    let mut rng = Rng::new(31);
    for (m, n) in SHAPES {
        let (a, x, seed) = (rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, seed_a, seed_x) = mat_col_vjp(&a, &x, &seed);
        assert_close(&value, &(&a * &x), EXACT);
        assert_close(&seed_a, &(&seed * x.transpose()), EXACT);
        assert_close(&seed_x, &(a.transpose() * &seed), EXACT);
        check_fd(&a, |a| inner(&seed, &mat_col(a, &x)), &seed_a);
        check_fd(&x, |x| inner(&seed, &mat_col(&a, x)), &seed_x);
    }
}

#[test]
fn row_mat_product() {
    // r̄ = s Aᵀ, Ā = rᵀ s.
    let mut rng = Rng::new(32);
    for (m, n) in SHAPES {
        let (r, a, seed) = (rng.row(m), rng.mat(m, n), rng.row(n));
        let (value, seed_r, seed_a) = row_mat_vjp(&r, &a, &seed);
        assert_close(&value, &(&r * &a), EXACT);
        assert_close(&seed_r, &(&seed * a.transpose()), EXACT);
        assert_close(&seed_a, &(r.transpose() * &seed), EXACT);
        check_fd(&r, |r| inner(&seed, &row_mat(r, &a)), &seed_r);
        check_fd(&a, |a| inner(&seed, &row_mat(&r, a)), &seed_a);
    }
}

#[test]
fn row_col_product() {
    // r̄ = xᵀ, x̄ = rᵀ.
    let (value, grad_r, grad_x) = row_col_grad(&row![1.0, 2.0], &col![3.0, 4.0]);
    assert_eq!((value, grad_r, grad_x), (11.0, row![3.0, 4.0], col![1.0, 2.0]));
    let mut rng = Rng::new(33);
    for n in SIZES {
        let (r, x) = (rng.row(n), rng.col(n));
        let (value, grad_r, grad_x) = row_col_grad(&r, &x);
        assert_close(&value, &(&r * &x), EXACT);
        assert_close(&grad_r, &x.transpose().to_owned(), EXACT);
        assert_close(&grad_x, &r.transpose().to_owned(), EXACT);
        check_fd(&r, |r| row_col(r, &x), &grad_r);
        check_fd(&x, |x| row_col(&r, x), &grad_x);
        let (_, seed_r, seed_x) = row_col_vjp(&r, &x, 2.5);
        assert_close(&seed_r, &(2.5 * &grad_r), EXACT);
        assert_close(&seed_x, &(2.5 * &grad_x), EXACT);
    }
}

#[test]
fn col_row_outer_product() {
    // x̄ = S rᵀ, r̄ = xᵀ S.
    let mut rng = Rng::new(34);
    for (m, n) in SHAPES {
        let (x, r, seed) = (rng.col(m), rng.row(n), rng.mat(m, n));
        let (value, seed_x, seed_r) = col_row_vjp(&x, &r, &seed);
        assert_close(&value, &Mat::from_fn(m, n, |i, j| x[i] * r[j]), EXACT);
        assert_close(&seed_x, &(&seed * r.transpose()), EXACT);
        assert_close(&seed_r, &(x.transpose() * &seed), EXACT);
        check_fd(&x, |x| inner(&seed, &col_row(x, &r)), &seed_x);
        check_fd(&r, |r| inner(&seed, &col_row(&x, r)), &seed_r);
    }
}

#[test]
fn scalar_products_and_quotients() {
    // k·A and A·k: Ā = kS, k̄ = ⟨S, A⟩. A/k: Ā = S/k, k̄ = −⟨S, A⟩/k².
    let mut rng = Rng::new(35);
    for (m, n) in SHAPES {
        let (a, k, seed) = (rng.mat(m, n), rng.away_from_zero(), rng.mat(m, n));
        let (value, seed_k, seed_a) = scalar_mat_vjp(k, &a, &seed);
        assert_close(&value, &(&a * k), EXACT);
        assert_close(&seed_a, &(&seed * k), EXACT);
        assert_close(&seed_k, &inner(&seed, &a), EXACT);
        check_fd(&k, |k| inner(&seed, &scalar_mat(*k, &a)), &seed_k);
        check_fd(&a, |a| inner(&seed, &scalar_mat(k, a)), &seed_a);

        let (value, seed_a, seed_k) = mat_scalar_vjp(&a, k, &seed);
        assert_close(&value, &(&a * k), EXACT);
        assert_close(&seed_a, &(&seed * k), EXACT);
        assert_close(&seed_k, &inner(&seed, &a), EXACT);
        check_fd(&k, |k| inner(&seed, &mat_scalar(&a, *k)), &seed_k);
        check_fd(&a, |a| inner(&seed, &mat_scalar(a, k)), &seed_a);

        let (value, seed_a, seed_k) = mat_div_scalar_vjp(&a, k, &seed);
        assert_close(&value, &(&a / k), EXACT);
        assert_close(&seed_a, &(&seed / k), EXACT);
        assert_close(&seed_k, &(-inner(&seed, &a) / (k * k)), EXACT);
        check_fd(&k, |k| inner(&seed, &mat_div_scalar(&a, *k)), &seed_k);
        check_fd(&a, |a| inner(&seed, &mat_div_scalar(a, k)), &seed_a);
    }
    for n in SIZES {
        let (x, k, seed) = (rng.col(n), rng.away_from_zero(), rng.col(n));
        let (value, seed_k, seed_x) = scalar_col_vjp(k, &x, &seed);
        assert_close(&value, &(&x * k), EXACT);
        assert_close(&seed_x, &(&seed * k), EXACT);
        assert_close(&seed_k, &dot(&seed, &x), EXACT);
        check_fd(&k, |k| inner(&seed, &scalar_col(*k, &x)), &seed_k);
        check_fd(&x, |x| inner(&seed, &scalar_col(k, x)), &seed_x);

        let (r, seed) = (rng.row(n), rng.row(n));
        let (value, seed_r, seed_k) = row_div_scalar_vjp(&r, k, &seed);
        assert_close(&value, &(&r / k), EXACT);
        assert_close(&seed_r, &(&seed / k), EXACT);
        assert_close(&seed_k, &(-inner(&seed, &r) / (k * k)), EXACT);
        check_fd(&k, |k| inner(&seed, &row_div_scalar(&r, *k)), &seed_k);
        check_fd(&r, |r| inner(&seed, &row_div_scalar(r, k)), &seed_r);
    }
}

/// Owned parameters used through references: `k * &a`, `&a / k`, `-&a`.
#[differentiate]
fn owned_operands(k: f64, a: Mat<f64>, x: Col<f64>, y: Col<f64>) -> f64 {
    let scaled = k * &a;
    let back = &scaled / k;
    let r = &back * &x - &y;
    r.squared_norm_l2() + (-&a).sum() * k
}

/// Views are `Copy`: each used twice by value.
#[differentiate]
fn views_used_twice(x: ColRef<'_, f64>, a: MatRef<'_, f64>) -> f64 {
    x.transpose() * a * x + (a * x).sum()
}

#[test]
fn owned_parameters_through_references() {
    // f = ‖Ax − y‖² − k·ΣA (k·A/k = A): ∂k = −ΣA (to rounding), ∇_A = 2rxᵀ − k·11ᵀ.
    let mut rng = Rng::new(36);
    for (m, n) in SHAPES {
        let (k, a, x, y) = (rng.away_from_zero(), rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, grad_k, grad_a, grad_x, grad_y) = owned_operands_grad(k, a.clone(), x.clone(), y.clone());
        let r = &a * &x - &y;
        assert_close(&value, &(r.squared_norm_l2() - a.sum() * k), EXACT);
        assert_close(&grad_a, &(2.0 * &r * x.transpose() - Mat::<f64>::ones(m, n) * k), EXACT);
        assert_close(&grad_x, &(2.0 * a.transpose() * &r), EXACT);
        assert_close(&grad_y, &(-2.0 * &r), EXACT);
        assert!(
            (grad_k + a.sum()).abs() <= 1e-12 * (1.0 + a.sum().abs()),
            "{grad_k} vs {}",
            -a.sum()
        );
        check_fd(&k, |k| owned_operands(*k, a.clone(), x.clone(), y.clone()), &grad_k);
        check_fd(&a, |a| owned_operands(k, a.clone(), x.clone(), y.clone()), &grad_a);
        check_fd(&x, |x| owned_operands(k, a.clone(), x.clone(), y.clone()), &grad_x);
        check_fd(&y, |y| owned_operands(k, a.clone(), x.clone(), y.clone()), &grad_y);
    }
}

#[test]
fn views_used_several_times() {
    // xᵀAx + Σ Ax: ∇ₓ = (A + Aᵀ)x + Aᵀ1, ∇_A = xxᵀ + 1xᵀ.
    let mut rng = Rng::new(37);
    for n in SIZES {
        let (x, a) = (rng.col(n), rng.mat(n, n));
        let (value, grad_x, grad_a) = views_used_twice_grad(x.as_ref(), a.as_ref());
        let ones = Col::<f64>::ones(n);
        assert_close(&value, &(x.transpose() * &a * &x + (&a * &x).sum()), EXACT);
        assert_close(&grad_x, &((&a + a.transpose()) * &x + a.transpose() * &ones), EXACT);
        assert_close(&grad_a, &(&x * x.transpose() + &ones * x.transpose()), EXACT);
        check_fd(&x, |x| views_used_twice(x.as_ref(), a.as_ref()), &grad_x);
        check_fd(&a, |a| views_used_twice(x.as_ref(), a.as_ref()), &grad_a);
    }
}

/// Passes views on to [`views_used_twice`]: `x.as_ref()` written at the call,
/// and a view bound by `let` first.
#[differentiate]
fn views_passed_on(x: &Col<f64>, a: Mat<f64>) -> f64 {
    let view = a.as_ref();
    views_used_twice(x.as_ref(), view) * 2.0
}

#[test]
fn views_passed_on_to_a_function_taking_views() {
    let mut rng = Rng::new(38);
    for n in SIZES {
        let (x, a) = (rng.col(n), rng.mat(n, n));
        let (value, grad_x, grad_a) = views_passed_on_grad(&x, a.clone());
        let (inner, inner_x, inner_a) = views_used_twice_grad(x.as_ref(), a.as_ref());
        assert_close(&value, &(2.0 * inner), EXACT);
        assert_close(&grad_x, &(2.0 * &inner_x), EXACT);
        assert_close(&grad_a, &(2.0 * &inner_a), EXACT);
        check_fd(&x, |x| views_passed_on(x, a.clone()), &grad_x);
        check_fd(&a, |a| views_passed_on(&x, a.clone()), &grad_a);
    }
}

// ----- negation, difference, transposes --------------------------------------------

#[differentiate]
fn negate(a: Mat<f64>) -> Mat<f64> {
    -&a
}

#[differentiate]
fn difference(a: Mat<f64>, b: Mat<f64>) -> Mat<f64> {
    a - b
}

#[differentiate]
fn transposed(a: &Mat<f64>) -> Mat<f64> {
    a.transpose().to_owned()
}

/// ‖Aᵀx‖² through an owned transpose.
#[differentiate]
fn transposed_then_applied(a: &Mat<f64>, x: &Col<f64>) -> f64 {
    let at = a.transpose().to_owned();
    (&at * x).squared_norm_l2()
}

/// xᵀAᵀBy, transposes used inside products.
#[differentiate]
fn bilinear_transposed(x: &Col<f64>, a: &Mat<f64>, b: &Mat<f64>, y: &Col<f64>) -> f64 {
    x.transpose() * a.transpose() * b * y
}

#[test]
fn negation_and_difference() {
    let mut rng = Rng::new(40);
    for (m, n) in SHAPES {
        let (a, b, seed) = (rng.mat(m, n), rng.mat(m, n), rng.mat(m, n));
        let (value, seed_a) = negate_vjp(a.clone(), &seed);
        assert_close(&value, &(-&a), EXACT);
        assert_close(&seed_a, &(-&seed), EXACT);
        check_fd(&a, |a| inner(&seed, &negate(a.clone())), &seed_a);

        let (value, seed_a, seed_b) = difference_vjp(a.clone(), b.clone(), &seed);
        assert_close(&value, &(&a - &b), EXACT);
        assert_close(&seed_a, &seed, EXACT);
        assert_close(&seed_b, &(-&seed), EXACT);
        check_fd(&a, |a| inner(&seed, &difference(a.clone(), b.clone())), &seed_a);
        check_fd(&b, |b| inner(&seed, &difference(a.clone(), b.clone())), &seed_b);
    }
}

#[test]
fn transposes() {
    let mut rng = Rng::new(41);
    for (m, n) in SHAPES {
        let (a, seed) = (rng.mat(m, n), rng.mat(n, m));
        let (value, seed_a) = transposed_vjp(&a, &seed);
        assert_close(&value, &a.transpose().to_owned(), EXACT);
        assert_close(&seed_a, &seed.transpose().to_owned(), EXACT);
        check_fd(&a, |a| inner(&seed, &transposed(a)), &seed_a);

        // ‖Aᵀx‖²: ∇ₓ = 2AAᵀx, ∇_A = 2x(Aᵀx)ᵀ.
        let x = rng.col(m);
        let atx = a.transpose() * &x;
        let (value, grad_a, grad_x) = transposed_then_applied_grad(&a, &x);
        assert_close(&value, &atx.squared_norm_l2(), EXACT);
        assert_close(&grad_x, &(2.0 * &a * &atx), EXACT);
        assert_close(&grad_a, &(2.0 * &x * atx.transpose()), EXACT);
        check_fd(&a, |a| transposed_then_applied(a, &x), &grad_a);
        check_fd(&x, |x| transposed_then_applied(&a, x), &grad_x);

        // xᵀAᵀBy: ∇ₓ = AᵀBy, ∇_A = By xᵀ, ∇_B = Ax yᵀ, ∇_y = BᵀAx.
        let (b, y) = (rng.mat(m, n), rng.col(n));
        let x = rng.col(n);
        let (value, grad_x, grad_a, grad_b, grad_y) = bilinear_transposed_grad(&x, &a, &b, &y);
        let (by, ax) = (&b * &y, &a * &x);
        assert_close(&value, &dot(&ax, &by), EXACT);
        assert_close(&grad_x, &(a.transpose() * &by), EXACT);
        assert_close(&grad_a, &(&by * x.transpose()), EXACT);
        assert_close(&grad_b, &(&ax * y.transpose()), EXACT);
        assert_close(&grad_y, &(b.transpose() * &ax), EXACT);
        check_fd(&x, |x| bilinear_transposed(x, &a, &b, &y), &grad_x);
        check_fd(&a, |a| bilinear_transposed(&x, a, &b, &y), &grad_a);
        check_fd(&b, |b| bilinear_transposed(&x, &a, b, &y), &grad_b);
        check_fd(&y, |y| bilinear_transposed(&x, &a, &b, y), &grad_y);
    }
}

// ----- element reads -------------------------------------------------------------

/// x₀·A₁₀ + x₁², with constant indices.
#[differentiate]
fn constant_reads(x: &Col<f64>, a: &Mat<f64>) -> f64 {
    x[0] * a[(1, 0)] + x[1] * x[1]
}

/// xᵢ·Aᵢⱼ, with indices passed as parameters.
#[differentiate]
fn indexed_reads(x: &Col<f64>, a: &Mat<f64>, i: usize, j: usize) -> f64 {
    x[i] * a[(i, j)]
}

#[test]
fn element_reads_with_constant_indices() {
    let mut rng = Rng::new(50);
    for n in [2, 3, 6] {
        let (x, a) = (rng.col(n), rng.mat(n, n));
        let (value, grad_x, grad_a) = constant_reads_grad(&x, &a);
        assert_close(&value, &(x[0] * a[(1, 0)] + x[1] * x[1]), EXACT);
        let mut expected_x = Col::<f64>::zeros(n);
        expected_x[0] = a[(1, 0)];
        expected_x[1] = 2.0 * x[1];
        let mut expected_a = Mat::<f64>::zeros(n, n);
        expected_a[(1, 0)] = x[0];
        assert_close(&grad_x, &expected_x, EXACT);
        assert_close(&grad_a, &expected_a, EXACT);
        check_fd(&x, |x| constant_reads(x, &a), &grad_x);
        check_fd(&a, |a| constant_reads(&x, a), &grad_a);
    }
}

#[test]
fn element_reads_with_parameter_indices() {
    let mut rng = Rng::new(51);
    for (m, n) in SHAPES {
        for _ in 0..3 {
            let (i, j) = (rng.index(m), rng.index(n));
            let (x, a) = (rng.col(m), rng.mat(m, n));
            let (value, grad_x, grad_a) = indexed_reads_grad(&x, &a, i, j);
            assert_close(&value, &(x[i] * a[(i, j)]), EXACT);
            let expected_x = Col::from_fn(m, |k| if k == i { a[(i, j)] } else { 0.0 });
            let expected_a = Mat::from_fn(m, n, |k, l| if (k, l) == (i, j) { x[i] } else { 0.0 });
            assert_close(&grad_x, &expected_x, EXACT);
            assert_close(&grad_a, &expected_a, EXACT);
            check_fd(&x, |x| indexed_reads(x, &a, i, j), &grad_x);
            check_fd(&a, |a| indexed_reads(&x, a, i, j), &grad_a);
        }
    }
}

// ----- rows and views ---------------------------------------------------------------

#[differentiate]
fn row_squared_norm(r: &Row<f64>) -> f64 {
    r.squared_norm_l2()
}

/// Σⱼ (rA)ⱼ with a row view.
#[differentiate]
fn row_view_times_matrix(r: RowRef<'_, f64>, a: &Mat<f64>) -> f64 {
    (r * a).sum()
}

/// An owned row.
#[differentiate]
fn owned_row_norm(r: Row<f64>) -> f64 {
    r.norm_l2()
}

#[differentiate]
fn least_squares_views(w: ColRef<'_, f64>, x: MatRef<'_, f64>, y: ColRef<'_, f64>) -> f64 {
    (x * w - y).squared_norm_l2()
}

#[test]
fn row_parameters() {
    let mut rng = Rng::new(60);
    for (m, n) in SHAPES {
        let (r, a) = (rng.row(m), rng.mat(m, n));
        let (value, grad) = row_squared_norm_grad(&r);
        assert_close(&value, &r.squared_norm_l2(), EXACT);
        assert_close(&grad, &(2.0 * &r), EXACT);
        check_fd(&r, row_squared_norm, &grad);

        // ∇ᵣ Σ rA = (A1)ᵀ, ∇_A = rᵀ1ᵀ.
        let (value, grad_r, grad_a) = row_view_times_matrix_grad(r.as_ref(), &a);
        assert_close(&value, &(&r * &a).sum(), EXACT);
        assert_close(&grad_r, &(&a * Col::<f64>::ones(n)).transpose().to_owned(), EXACT);
        assert_close(&grad_a, &(r.transpose() * Row::<f64>::ones(n)), EXACT);
        check_fd(&r, |r| row_view_times_matrix(r.as_ref(), &a), &grad_r);
        check_fd(&a, |a| row_view_times_matrix(r.as_ref(), a), &grad_a);

        let r = Row::from_fn(m, |_| rng.away_from_zero());
        let (value, grad) = owned_row_norm_grad(r.clone());
        assert_close(&value, &r.norm_l2(), EXACT);
        assert_close(&grad, &(&r / r.norm_l2()), EXACT);
        check_fd(&r, |r| owned_row_norm(r.clone()), &grad);
    }
}

#[test]
fn view_parameters() {
    let mut rng = Rng::new(61);
    for (m, n) in SHAPES {
        let (w, x, y) = (rng.col(n), rng.mat(m, n), rng.col(m));
        let (value, grad_w, grad_x, grad_y) = least_squares_views_grad(w.as_ref(), x.as_ref(), y.as_ref());
        let (expected, expected_w, expected_x, expected_y) = least_squares_grad(&w, &x, &y);
        assert_close(&value, &expected, EXACT);
        assert_close(&grad_w, &expected_w, EXACT);
        assert_close(&grad_x, &expected_x, EXACT);
        assert_close(&grad_y, &expected_y, EXACT);
        check_fd(&w, |w| least_squares_views(w.as_ref(), x.as_ref(), y.as_ref()), &grad_w);
        check_fd(&x, |x| least_squares_views(w.as_ref(), x.as_ref(), y.as_ref()), &grad_x);
        check_fd(&y, |y| least_squares_views(w.as_ref(), x.as_ref(), y.as_ref()), &grad_y);
    }
    // A view of part of a larger matrix: gradients are owned and shaped like the view.
    let big = rng.mat(6, 5);
    let (x, w, y) = (
        big.submatrix(1, 1, 4, 3),
        big.col(4).subrows(0, 3),
        big.col(0).subrows(2, 4),
    );
    let (_, grad_w, grad_x, grad_y) = least_squares_views_grad(w, x, y);
    let (_, expected_w, expected_x, expected_y) = least_squares_grad(&w.to_owned(), &x.to_owned(), &y.to_owned());
    assert_close(&grad_w, &expected_w, EXACT);
    assert_close(&grad_x, &expected_x, EXACT);
    assert_close(&grad_y, &expected_y, EXACT);
}

/// One sample per row of a constant data matrix: Σᵢ tanh(xᵢ·w), `x.row(i)`
/// a view of `x` that the adjoint sweep needs for the product.
#[differentiate(wrt(w))]
fn per_sample_rows(w: &Col<f64>, x: &Mat<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..x.nrows() {
        total += (x.row(i) * w).tanh();
    }
    total + x.row(0) * w
}

#[differentiate(wrt(w))]
fn column_response(w: &Col<f64>, sample: ColRef<'_, f64>) -> f64 {
    (w.transpose() * sample).tanh()
}

/// The same with the columns of `x` as samples, each passed on as a view.
#[differentiate(wrt(w))]
fn per_sample_columns(w: &Col<f64>, x: &Mat<f64>) -> f64 {
    let mut total = 0.0;
    for j in 0..x.ncols() {
        total += column_response(w, x.col(j));
    }
    total * x.get(0, 0)
}

#[test]
fn rows_and_columns_of_a_constant_matrix() {
    let mut rng = Rng::new(62);
    for (m, n) in SHAPES {
        let (w, x) = (rng.col(n), rng.mat(m, n));
        // ∇ = Σᵢ (1 − tanh²(xᵢ·w)) xᵢᵀ + x₀ᵀ
        let mut expected = x.row(0).transpose().to_owned();
        for i in 0..m {
            let t = (x.row(i) * &w).tanh();
            expected += (1.0 - t * t) * x.row(i).transpose();
        }
        let (value, grad) = per_sample_rows_grad(&w, &x);
        assert_close(&value, &per_sample_rows(&w, &x), EXACT);
        assert_close(&grad, &expected, EXACT);
        check_fd(&w, |w| per_sample_rows(w, &x), &grad);

        let samples = x.transpose().to_owned();
        let (value, grad) = per_sample_columns_grad(&w, &samples);
        assert_close(&value, &per_sample_columns(&w, &samples), EXACT);
        assert_close(&grad, &(x[(0, 0)] * (&expected - x.row(0).transpose())), EXACT);
        check_fd(&w, |w| per_sample_columns(w, &samples), &grad);
    }
}

/// Σᵢ (wᵢ·x)² + ‖w₀‖²·x₀ over the rows wᵢ and the first column w₀ of a
/// differentiated matrix.
#[differentiate(hessian)]
fn rows_of_weights(w: &Mat<f64>, x: &Col<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..w.nrows() {
        let r = w.row(i) * x;
        s += r * r;
    }
    s + w.col(0).squared_norm_l2() * x[0]
}

#[test]
fn rows_and_columns_of_a_differentiated_matrix() {
    let mut rng = Rng::new(63);
    for (m, n) in SHAPES {
        let (w, x) = (rng.mat(m, n), rng.col(n));
        // ∇_W = 2(Wx)xᵀ + 2x₀·w₀e₀ᵀ, ∇_x = 2WᵀWx + ‖w₀‖²e₀
        let wx = &w * &x;
        let mut expected_w = 2.0 * &wx * x.transpose();
        let mut expected_x = 2.0 * w.transpose() * &wx;
        for i in 0..m {
            expected_w[(i, 0)] += 2.0 * x[0] * w[(i, 0)];
        }
        expected_x[0] += w.col(0).squared_norm_l2();
        let (value, grad_w, grad_x) = rows_of_weights_grad(&w, &x);
        assert_close(&value, &rows_of_weights(&w, &x), EXACT);
        assert_close(&grad_w, &expected_w, EXACT);
        assert_close(&grad_x, &expected_x, EXACT);
        check_fd(&w, |w| rows_of_weights(w, &x), &grad_w);
        check_fd(&x, |x| rows_of_weights(&w, x), &grad_x);

        let (dw, dx) = (rng.mat(m, n), rng.col(n));
        let (value, tangent) = rows_of_weights_jvp(&w, &x, &dw, &dx);
        assert_close(&value, &rows_of_weights(&w, &x), EXACT);
        assert_close(&tangent, &(inner(&grad_w, &dw) + inner(&grad_x, &dx)), EXACT);

        // H·d against central differences of the gradient along d.
        let (_, hw, hx) = rows_of_weights_hvp(&w, &x, &dw, &dx);
        let h = 1e-5;
        let (_, plus_w, plus_x) = rows_of_weights_grad(&(&w + h * &dw), &(&x + h * &dx));
        let (_, minus_w, minus_x) = rows_of_weights_grad(&(&w - h * &dw), &(&x - h * &dx));
        assert_close(&hw, &((plus_w - minus_w) / (2.0 * h)), 1e-6);
        assert_close(&hx, &((plus_x - minus_x) / (2.0 * h)), 1e-6);
    }
}

// ----- vector- and matrix-valued functions ---------------------------------------------

/// One dense layer, tanh(Wx + b).
#[differentiate]
fn dense_layer(w: &Mat<f64>, x: &Col<f64>, b: &Col<f64>) -> Col<f64> {
    tanh(w * x + b)
}

/// A row-valued function: xᵀA scaled by the sum of x.
#[differentiate]
fn row_valued(x: &Col<f64>, a: &Mat<f64>) -> Row<f64> {
    let s = x.sum();
    x.transpose() * a * s
}

/// A matrix-valued function: AᵀA / 2 + xxᵀ.
#[differentiate]
fn gram(a: &Mat<f64>, x: &Col<f64>) -> Mat<f64> {
    a.transpose() * a / 2.0 + x * x.transpose()
}

#[test]
fn vjp_of_a_column_valued_function() {
    let mut rng = Rng::new(70);
    for (m, n) in SHAPES {
        let (w, x, b, seed) = (rng.mat(m, n), rng.col(n), rng.col(m), rng.col(m));
        let (value, seed_w, seed_x, seed_b) = dense_layer_vjp(&w, &x, &b, &seed);
        assert_close(&value, &tanh(&w * &x + &b), EXACT);
        // δ = s ⊙ (1 − y²); W̄ = δxᵀ, x̄ = Wᵀδ, b̄ = δ.
        let delta = Col::from_fn(m, |i| seed[i] * (1.0 - value[i] * value[i]));
        assert_close(&seed_w, &(&delta * x.transpose()), EXACT);
        assert_close(&seed_x, &(w.transpose() * &delta), EXACT);
        assert_close(&seed_b, &delta, EXACT);
        check_fd(&w, |w| inner(&seed, &dense_layer(w, &x, &b)), &seed_w);
        check_fd(&x, |x| inner(&seed, &dense_layer(&w, x, &b)), &seed_x);
        check_fd(&b, |b| inner(&seed, &dense_layer(&w, &x, b)), &seed_b);
    }
}

#[test]
fn vjp_of_a_row_valued_function() {
    let mut rng = Rng::new(71);
    for (m, n) in SHAPES {
        let (x, a, seed) = (rng.col(m), rng.mat(m, n), rng.row(n));
        let (value, seed_x, seed_a) = row_valued_vjp(&x, &a, &seed);
        let s = x.sum();
        assert_close(&value, &(x.transpose() * &a * s), EXACT);
        // ⟨σ, xᵀA s⟩: x̄ = s·Aσᵀ + (xᵀAσᵀ)·1, Ā = s·xσ.
        let a_seed = &a * seed.transpose();
        let expected_x = add_scalar(&a_seed * s, dot(&x, &a_seed));
        assert_close(&seed_x, &expected_x, EXACT);
        assert_close(&seed_a, &(&x * &seed * s), EXACT);
        check_fd(&x, |x| inner(&seed, &row_valued(x, &a)), &seed_x);
        check_fd(&a, |a| inner(&seed, &row_valued(&x, a)), &seed_a);
    }
}

#[test]
fn vjp_of_a_matrix_valued_function() {
    let mut rng = Rng::new(72);
    for (m, n) in SHAPES {
        let (a, x, seed) = (rng.mat(m, n), rng.col(n), rng.mat(n, n));
        let (value, seed_a, seed_x) = gram_vjp(&a, &x, &seed);
        assert_close(&value, &(a.transpose() * &a / 2.0 + &x * x.transpose()), EXACT);
        // ⟨S, AᵀA/2 + xxᵀ⟩: Ā = A(S + Sᵀ)/2, x̄ = (S + Sᵀ)x.
        let symmetric = &seed + seed.transpose();
        assert_close(&seed_a, &(&a * &symmetric / 2.0), EXACT);
        assert_close(&seed_x, &(&symmetric * &x), EXACT);
        check_fd(&a, |a| inner(&seed, &gram(a, &x)), &seed_a);
        check_fd(&x, |x| inner(&seed, &gram(&a, x)), &seed_x);
    }
}

// ----- calls between differentiated functions --------------------------------------------

#[differentiate]
fn residual_norm(a: &Mat<f64>, x: &Col<f64>, y: &Col<f64>) -> f64 {
    (a * x - y).squared_norm_l2()
}

/// The helper called with a local (`&t`) and with parameters passed through.
#[differentiate]
fn through_helper(a: &Mat<f64>, x: &Col<f64>, y: &Col<f64>) -> f64 {
    let t = tanh(x);
    residual_norm(a, &t, y)
}

/// The same helper called twice.
#[differentiate]
fn helper_twice(a: &Mat<f64>, x: &Col<f64>, y: &Col<f64>) -> f64 {
    let t = tanh(x);
    residual_norm(a, x, y) + 0.5 * residual_norm(a, &t, y)
}

/// A column-valued helper, composed with itself.
#[differentiate]
fn layer(w: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    tanh(w * x)
}

#[differentiate]
fn two_layers(w1: &Mat<f64>, w2: &Mat<f64>, x: &Col<f64>) -> f64 {
    let h = layer(w1, x);
    let o = layer(w2, &h);
    o.squared_norm_l2()
}

/// A matrix-valued helper, its result fed to a scalar helper.
#[differentiate]
fn matrix_helper(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    a * b - b
}

#[differentiate]
fn through_matrix_helper(a: &Mat<f64>, b: &Mat<f64>, x: &Col<f64>, y: &Col<f64>) -> f64 {
    let c = matrix_helper(a, b);
    residual_norm(&c, x, y)
}

#[test]
fn calling_a_helper_with_a_local_and_with_parameters() {
    let mut rng = Rng::new(80);
    for (m, n) in SHAPES {
        let (a, x, y) = (rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, grad_a, grad_x, grad_y) = through_helper_grad(&a, &x, &y);
        // r = A tanh(x) − y: ∇_A = 2r tᵀ, ∇ₓ = (1 − t²) ⊙ 2Aᵀr, ∇_y = −2r.
        let t = tanh(&x);
        let r = &a * &t - &y;
        assert_close(&value, &r.squared_norm_l2(), EXACT);
        assert_close(&grad_a, &(2.0 * &r * t.transpose()), EXACT);
        let back = 2.0 * a.transpose() * &r;
        assert_close(&grad_x, &Col::from_fn(n, |i| back[i] * (1.0 - t[i] * t[i])), EXACT);
        assert_close(&grad_y, &(-2.0 * &r), EXACT);
        check_fd(&a, |a| through_helper(a, &x, &y), &grad_a);
        check_fd(&x, |x| through_helper(&a, x, &y), &grad_x);
        check_fd(&y, |y| through_helper(&a, &x, y), &grad_y);
    }
}

#[test]
fn calling_the_same_helper_twice() {
    let mut rng = Rng::new(81);
    for (m, n) in SHAPES {
        let (a, x, y) = (rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, grad_a, grad_x, grad_y) = helper_twice_grad(&a, &x, &y);
        let (v1, a1, x1, y1) = residual_norm_grad(&a, &x, &y);
        let t = tanh(&x);
        let (v2, a2, t2, y2) = residual_norm_grad(&a, &t, &y);
        assert_close(&value, &(v1 + 0.5 * v2), EXACT);
        assert_close(&grad_a, &(&a1 + 0.5 * &a2), EXACT);
        assert_close(
            &grad_x,
            &Col::from_fn(n, |i| x1[i] + 0.5 * t2[i] * (1.0 - t[i] * t[i])),
            EXACT,
        );
        assert_close(&grad_y, &(&y1 + 0.5 * &y2), EXACT);
        check_fd(&a, |a| helper_twice(a, &x, &y), &grad_a);
        check_fd(&x, |x| helper_twice(&a, x, &y), &grad_x);
        check_fd(&y, |y| helper_twice(&a, &x, y), &grad_y);
    }
}

#[test]
fn composing_column_valued_helpers() {
    let mut rng = Rng::new(82);
    for (m, n) in SHAPES {
        let (w1, w2, x) = (rng.mat(m, n), rng.mat(n, m), rng.col(n));
        let (value, grad_w1, grad_w2, grad_x) = two_layers_grad(&w1, &w2, &x);
        let h = layer(&w1, &x);
        assert_close(&value, &layer(&w2, &h).squared_norm_l2(), EXACT);
        check_fd(&w1, |w1| two_layers(w1, &w2, &x), &grad_w1);
        check_fd(&w2, |w2| two_layers(&w1, w2, &x), &grad_w2);
        check_fd(&x, |x| two_layers(&w1, &w2, x), &grad_x);
    }
}

#[test]
fn a_matrix_valued_helper() {
    let mut rng = Rng::new(83);
    for n in SIZES {
        let (a, b, x, y) = (rng.mat(n, n), rng.mat(n, n), rng.col(n), rng.col(n));
        let (value, grad_a, grad_b, grad_x, grad_y) = through_matrix_helper_grad(&a, &b, &x, &y);
        // C = AB − B: ∇_C = 2r xᵀ, ∇_A = ∇_C Bᵀ, ∇_B = Aᵀ∇_C − ∇_C.
        let c = &a * &b - &b;
        let r = &c * &x - &y;
        let grad_c = 2.0 * &r * x.transpose();
        assert_close(&value, &r.squared_norm_l2(), EXACT);
        assert_close(&grad_a, &(&grad_c * b.transpose()), EXACT);
        assert_close(&grad_b, &(a.transpose() * &grad_c - &grad_c), EXACT);
        assert_close(&grad_x, &(2.0 * c.transpose() * &r), EXACT);
        assert_close(&grad_y, &(-2.0 * &r), EXACT);
        check_fd(&a, |a| through_matrix_helper(a, &b, &x, &y), &grad_a);
        check_fd(&b, |b| through_matrix_helper(&a, b, &x, &y), &grad_b);
    }
}

// ----- branches --------------------------------------------------------------------------

/// ‖z‖² with z = Ax when ‖x‖ > 1, else z = 2Aᵀx (A square).
#[differentiate]
fn branch_on_norm(a: &Mat<f64>, x: &Col<f64>) -> f64 {
    let z = if x.norm_l2() > 1.0 {
        a * x
    } else {
        a.transpose() * x * 2.0
    };
    z.squared_norm_l2()
}

/// A matrix chosen by a branch, returned: AB when ‖A‖_F > ‖B‖_F, else B − A.
#[differentiate]
fn branch_matrix(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    if a.norm_l2() > b.norm_l2() { a * b } else { b - a }
}

#[test]
fn branch_on_a_norm_takes_the_derivative_of_the_branch_taken() {
    let mut rng = Rng::new(90);
    for n in SIZES {
        let a = rng.mat(n, n);
        let x = rng.col(n);
        let big = &x * (2.0 / x.norm_l2());
        let small = &x * (0.5 / x.norm_l2());

        let (value, grad_a, grad_x) = branch_on_norm_grad(&a, &big);
        let z = &a * &big;
        assert_close(&value, &z.squared_norm_l2(), EXACT);
        assert_close(&grad_x, &(2.0 * a.transpose() * &z), EXACT);
        assert_close(&grad_a, &(2.0 * &z * big.transpose()), EXACT);
        check_fd(&a, |a| branch_on_norm(a, &big), &grad_a);
        check_fd(&big, |x| branch_on_norm(&a, x), &grad_x);

        let (value, grad_a, grad_x) = branch_on_norm_grad(&a, &small);
        let z = a.transpose() * &small * 2.0;
        assert_close(&value, &z.squared_norm_l2(), EXACT);
        assert_close(&grad_x, &(4.0 * &a * &z), EXACT);
        assert_close(&grad_a, &(4.0 * &small * z.transpose()), EXACT);
        check_fd(&a, |a| branch_on_norm(a, &small), &grad_a);
        check_fd(&small, |x| branch_on_norm(&a, x), &grad_x);
    }
}

#[test]
fn branch_between_matrix_expressions() {
    let mut rng = Rng::new(91);
    for n in SIZES {
        let (a, b, seed) = (rng.mat(n, n), rng.mat(n, n), rng.mat(n, n));
        let (a, b) = (&a / a.norm_l2(), &b / b.norm_l2());
        // ‖A‖_F = 2 > ‖B‖_F = 1, then ‖A‖_F = 1 < ‖B‖_F = 2.
        let (a_large, b_large) = (&a * 2.0, &b * 2.0);

        let (value, seed_a, seed_b) = branch_matrix_vjp(&a_large, &b, &seed);
        assert_close(&value, &(&a_large * &b), EXACT);
        assert_close(&seed_a, &(&seed * b.transpose()), EXACT);
        assert_close(&seed_b, &(a_large.transpose() * &seed), EXACT);
        check_fd(&a_large, |a| inner(&seed, &branch_matrix(a, &b)), &seed_a);
        check_fd(&b, |b| inner(&seed, &branch_matrix(&a_large, b)), &seed_b);

        let (value, seed_a, seed_b) = branch_matrix_vjp(&a, &b_large, &seed);
        assert_close(&value, &(&b_large - &a), EXACT);
        assert_close(&seed_a, &(-&seed), EXACT);
        assert_close(&seed_b, &seed, EXACT);
        check_fd(&a, |a| inner(&seed, &branch_matrix(a, &b_large)), &seed_a);
        check_fd(&b_large, |b| inner(&seed, &branch_matrix(&a, b)), &seed_b);
    }
}

// ----- more compositions -------------------------------------------------------------------

/// The mean square, with the length as a constant: ∇ = 2x/n.
#[differentiate]
fn mean_square(x: &Col<f64>) -> f64 {
    x.squared_norm_l2() / x.nrows() as f64
}

/// Divided by the length of another parameter, which the adjoint does not
/// read (this failed to compile with E0700 at commit 8a9b49e, fixed by aa745fa).
#[differentiate(wrt(w))]
fn mean_over_other_length(w: &Col<f64>, y: &Col<f64>, a: &Mat<f64>) -> f64 {
    w.squared_norm_l2() / y.nrows() as f64 + w.sum() / a.ncols() as f64
}

/// x/‖x‖, a column divided by a scalar computed from it.
#[differentiate]
fn normalize(x: &Col<f64>) -> Col<f64> {
    x / x.norm_l2()
}

/// Compound assignment and shadowing on matrices: (A + B)x − 2Bx + x₀·Ax.
#[differentiate]
fn accumulate(a: &Mat<f64>, b: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    let mut m = a + b;
    m -= b * 2.0;
    let z = &m * x * 0.5;
    let z = &z + &z;
    z + a * x * x[0]
}

/// A local read twice and through its transpose: zᵀz + Σ z ⊙ z with z = Ax.
#[differentiate]
fn reuse_local(a: &Mat<f64>, x: &Col<f64>) -> f64 {
    let z = a * x;
    z.transpose() * &z + sum(hadamard(&z, &z))
}

/// An element read of a computed column: (Ax)ᵢ.
#[differentiate]
fn read_computed(a: &Mat<f64>, x: &Col<f64>, i: usize) -> f64 {
    let z = a * x;
    z[i] * z[i]
}

/// Element reads of a row.
#[differentiate]
fn row_reads(r: &Row<f64>, i: usize) -> f64 {
    r[0] * r[i]
}

#[test]
fn mean_square_uses_the_length_as_a_constant() {
    let mut rng = Rng::new(100);
    for n in SIZES {
        let x = rng.col(n);
        let (value, grad) = mean_square_grad(&x);
        assert_close(&value, &(x.squared_norm_l2() / n as f64), EXACT);
        assert_close(&grad, &(&x * (2.0 / n as f64)), EXACT);
        check_fd(&x, mean_square, &grad);
    }
}

#[test]
fn lengths_of_parameters_the_adjoint_does_not_read() {
    let mut rng = Rng::new(105);
    for (m, n) in SHAPES {
        let (w, y, a) = (rng.col(n), rng.col(m), rng.mat(n, m));
        let (value, grad) = mean_over_other_length_grad(&w, &y, &a);
        assert_close(&value, &(w.squared_norm_l2() / m as f64 + w.sum() / m as f64), EXACT);
        assert_close(&grad, &add_scalar(&w * (2.0 / m as f64), 1.0 / m as f64), EXACT);
        check_fd(&w, |w| mean_over_other_length(w, &y, &a), &grad);
    }
}

#[test]
fn normalizing_a_vector() {
    // ⟨s, x/‖x‖⟩: x̄ = (s − (uᵀs)u)/‖x‖ with u = x/‖x‖.
    let mut rng = Rng::new(101);
    for n in SIZES {
        let (x, seed) = (rng.col_away_from_zero(n), rng.col(n));
        let (value, seed_x) = normalize_vjp(&x, &seed);
        let u = &x / x.norm_l2();
        assert_close(&value, &u, EXACT);
        assert_close(&seed_x, &((&seed - &u * dot(&u, &seed)) / x.norm_l2()), EXACT);
        check_fd(&x, |x| inner(&seed, &normalize(x)), &seed_x);
    }
}

#[test]
fn compound_assignment_on_matrices() {
    let mut rng = Rng::new(102);
    for (m, n) in SHAPES {
        let (a, b, x, seed) = (rng.mat(m, n), rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, seed_a, seed_b, seed_x) = accumulate_vjp(&a, &b, &x, &seed);
        assert_close(&value, &((&a - &b) * &x + &a * &x * x[0]), EXACT);
        // Ā = s xᵀ (1 + x₀), B̄ = −s xᵀ, x̄ = (A − B)ᵀs + x₀Aᵀs + (sᵀAx) e₀.
        assert_close(&seed_a, &(&seed * x.transpose() * (1.0 + x[0])), EXACT);
        assert_close(&seed_b, &(-(&seed * x.transpose())), EXACT);
        let mut expected_x = (&a - &b).transpose() * &seed + a.transpose() * &seed * x[0];
        expected_x[0] += dot(&seed, &(&a * &x));
        assert_close(&seed_x, &expected_x, EXACT);
        check_fd(&a, |a| inner(&seed, &accumulate(a, &b, &x)), &seed_a);
        check_fd(&b, |b| inner(&seed, &accumulate(&a, b, &x)), &seed_b);
        check_fd(&x, |x| inner(&seed, &accumulate(&a, &b, x)), &seed_x);
    }
}

#[test]
fn a_local_used_several_times() {
    let mut rng = Rng::new(103);
    for (m, n) in SHAPES {
        let (a, x) = (rng.mat(m, n), rng.col(n));
        let (value, grad_a, grad_x) = reuse_local_grad(&a, &x);
        // 2‖Ax‖²: ∇_A = 4(Ax)xᵀ, ∇ₓ = 4AᵀAx.
        let z = &a * &x;
        assert_close(&value, &(2.0 * z.squared_norm_l2()), EXACT);
        assert_close(&grad_a, &(4.0 * &z * x.transpose()), EXACT);
        assert_close(&grad_x, &(4.0 * a.transpose() * &z), EXACT);
        check_fd(&a, |a| reuse_local(a, &x), &grad_a);
        check_fd(&x, |x| reuse_local(&a, x), &grad_x);
    }
}

#[test]
fn element_reads_of_computed_values_and_rows() {
    let mut rng = Rng::new(104);
    for (m, n) in SHAPES {
        let (a, x, i) = (rng.mat(m, n), rng.col(n), rng.index(m));
        let (value, grad_a, grad_x) = read_computed_grad(&a, &x, i);
        // (Ax)ᵢ²: ∇_A = 2(Ax)ᵢ eᵢxᵀ, ∇ₓ = 2(Ax)ᵢ Aᵢ,:ᵀ.
        let zi = (&a * &x)[i];
        assert_close(&value, &(zi * zi), EXACT);
        assert_close(
            &grad_a,
            &Mat::from_fn(m, n, |k, l| if k == i { 2.0 * zi * x[l] } else { 0.0 }),
            EXACT,
        );
        assert_close(&grad_x, &Col::from_fn(n, |l| 2.0 * zi * a[(i, l)]), EXACT);
        check_fd(&a, |a| read_computed(a, &x, i), &grad_a);
        check_fd(&x, |x| read_computed(&a, x, i), &grad_x);

        let (r, j) = (rng.row(n), rng.index(n));
        let (value, grad) = row_reads_grad(&r, j);
        assert_close(&value, &(r[0] * r[j]), EXACT);
        let mut expected = Row::<f64>::zeros(n);
        expected[0] += r[j];
        expected[j] += r[0];
        assert_close(&grad, &expected, EXACT);
        check_fd(&r, |r| row_reads(r, j), &grad);
    }
}

// ----- the checks themselves ------------------------------------------------------------------

#[test]
#[should_panic(expected = "gradient differs from central differences")]
fn the_finite_difference_check_catches_a_wrong_gradient() {
    // The gradient of ‖Xw − y‖² without its factor 2.
    let mut rng = Rng::new(110);
    let (w, x, y) = (rng.col(3), rng.mat(4, 3), rng.col(4));
    let wrong = x.transpose() * (&x * &w - &y);
    check_fd(&w, |w| least_squares(w, &x, &y), &wrong);
}

#[test]
#[should_panic(expected = "values differ")]
fn the_closed_form_check_catches_a_small_error() {
    let mut rng = Rng::new(111);
    let x = rng.col(5);
    let (_, grad) = squared_norm_grad(&x);
    assert_close(&grad, &(&x * (2.0 + 1e-9)), EXACT);
}

#[test]
#[should_panic(expected = "shapes differ")]
fn the_closed_form_check_compares_shapes() {
    assert_close(&Mat::<f64>::zeros(2, 3), &Mat::<f64>::zeros(3, 2), EXACT);
}

// ----- more transposes, self-products, reassignment, the split form ---------------------------

/// Aᵀ rᵀ with a row parameter: the adjoint of r accumulates through a transpose.
#[differentiate]
fn transposed_row(r: &Row<f64>, a: &Mat<f64>) -> Col<f64> {
    a.transpose() * r.transpose()
}

#[differentiate]
fn col_to_row(x: &Col<f64>) -> Row<f64> {
    x.transpose().to_owned()
}

#[differentiate]
fn square_matrix(a: &Mat<f64>) -> Mat<f64> {
    a * a
}

#[differentiate]
fn self_inner(x: &Col<f64>) -> f64 {
    x.transpose() * x
}

/// AᵀA, a Gram matrix: one product in the adjoint, Ā = A(S + Sᵀ).
#[differentiate]
fn gram_of_columns(a: &Mat<f64>) -> Mat<f64> {
    a.transpose() * a
}

/// AAᵀ: Ā = (S + Sᵀ)A.
#[differentiate]
fn gram_of_rows(a: &Mat<f64>) -> Mat<f64> {
    a * a.transpose()
}

/// xxᵀ, the outer product of a column with itself: x̄ = (S + Sᵀ)x.
#[differentiate]
fn self_outer(x: &Col<f64>) -> Mat<f64> {
    x * x.transpose()
}

/// rrᵀ = ‖r‖² for an owned row: ∇ = 2r.
#[differentiate]
fn row_self_inner(r: Row<f64>) -> f64 {
    &r * r.transpose()
}

/// Σ (AᵀA ∘ C): the Gram matrix of an intermediate, read with weights
/// that are not symmetric, so that its adjoint is not symmetric either.
#[differentiate(wrt(a))]
fn weighted_gram(a: &Mat<f64>, c: &Mat<f64>) -> f64 {
    let b = a * 2.0;
    let g = b.transpose() * &b;
    sum(hadamard(&g, c))
}

#[differentiate]
fn rescale_if_long(a: &Mat<f64>, x: &Col<f64>) -> f64 {
    let mut z = a * x;
    if z.norm_l2() > 1.0 {
        z = &z / z.norm_l2();
    }
    z.sum()
}

#[differentiate]
fn alias(x: &Col<f64>) -> f64 {
    let y = x;
    let x = y * 2.0;
    x.squared_norm_l2()
}

#[test]
fn transpose_of_a_row_parameter() {
    // Aᵀrᵀ: r̄ = (As)ᵀ, Ā = rᵀsᵀ.
    let mut rng = Rng::new(121);
    for (m, n) in SHAPES {
        let (r, a, seed) = (rng.row(m), rng.mat(m, n), rng.col(n));
        let (value, seed_r, seed_a) = transposed_row_vjp(&r, &a, &seed);
        assert_close(&value, &(&r * &a).transpose().to_owned(), EXACT);
        assert_close(&seed_r, &(&a * &seed).transpose().to_owned(), EXACT);
        assert_close(&seed_a, &(r.transpose() * seed.transpose()), EXACT);
        check_fd(&r, |r| inner(&seed, &transposed_row(r, &a)), &seed_r);
        check_fd(&a, |a| inner(&seed, &transposed_row(&r, a)), &seed_a);

        let (x, seed) = (rng.col(m), rng.row(m));
        let (value, seed_x) = col_to_row_vjp(&x, &seed);
        assert_close(&value, &x.transpose().to_owned(), EXACT);
        assert_close(&seed_x, &seed.transpose().to_owned(), EXACT);
        check_fd(&x, |x| inner(&seed, &col_to_row(x)), &seed_x);
    }
}

#[test]
fn a_value_multiplied_by_itself() {
    let mut rng = Rng::new(122);
    for n in SIZES {
        // A²: Ā = SAᵀ + AᵀS.
        let (a, seed) = (rng.mat(n, n), rng.mat(n, n));
        let (value, seed_a) = square_matrix_vjp(&a, &seed);
        assert_close(&value, &(&a * &a), EXACT);
        assert_close(&seed_a, &(&seed * a.transpose() + a.transpose() * &seed), EXACT);
        check_fd(&a, |a| inner(&seed, &square_matrix(a)), &seed_a);

        // xᵀx: ∇ = 2x.
        let x = rng.col(n);
        let (value, grad) = self_inner_grad(&x);
        assert_close(&value, &x.squared_norm_l2(), EXACT);
        assert_close(&grad, &(&x * 2.0), EXACT);
        check_fd(&x, self_inner, &grad);

        // ‖2x‖² through an alias and a shadowing `let`: ∇ = 8x.
        let (value, grad) = alias_grad(&x);
        assert_close(&value, &(4.0 * x.squared_norm_l2()), EXACT);
        assert_close(&grad, &(&x * 8.0), EXACT);
        check_fd(&x, alias, &grad);
    }
}

#[test]
fn a_value_multiplied_by_its_own_transpose() {
    let mut rng = Rng::new(125);
    for (m, n) in SHAPES {
        let a = rng.mat(m, n);
        let seed = rng.mat(n, n);
        let (value, seed_a) = gram_of_columns_vjp(&a, &seed);
        assert_close(&value, &(a.transpose() * &a), EXACT);
        assert_close(&seed_a, &(&a * (&seed + seed.transpose())), EXACT);
        check_fd(&a, |a| inner(&seed, &gram_of_columns(a)), &seed_a);

        let seed = rng.mat(m, m);
        let (value, seed_a) = gram_of_rows_vjp(&a, &seed);
        assert_close(&value, &(&a * a.transpose()), EXACT);
        assert_close(&seed_a, &((&seed + seed.transpose()) * &a), EXACT);
        check_fd(&a, |a| inner(&seed, &gram_of_rows(a)), &seed_a);

        let c = rng.mat(n, n);
        let (value, grad_a) = weighted_gram_grad(&a, &c);
        assert_close(&value, &inner(&c, &(4.0 * a.transpose() * &a)), EXACT);
        assert_close(&grad_a, &(4.0 * &a * (&c + c.transpose())), EXACT);
        check_fd(&a, |a| weighted_gram(a, &c), &grad_a);

        let (x, seed) = (rng.col(m), rng.mat(m, m));
        let (value, seed_x) = self_outer_vjp(&x, &seed);
        assert_close(&value, &(&x * x.transpose()), EXACT);
        assert_close(&seed_x, &((&seed + seed.transpose()) * &x), EXACT);
        check_fd(&x, |x| inner(&seed, &self_outer(x)), &seed_x);

        let r = rng.row(n);
        let (value, grad_r) = row_self_inner_grad(r.clone());
        assert_close(&value, &r.squared_norm_l2(), EXACT);
        assert_close(&grad_r, &(&r * 2.0), EXACT);
        check_fd(&r, |r| row_self_inner(r.clone()), &grad_r);
    }
}

#[test]
fn reassignment_inside_an_if() {
    let mut rng = Rng::new(123);
    for (m, n) in SHAPES {
        let (a, x) = (rng.mat(m, n), rng.col(n));
        let ax_norm = (&a * &x).norm_l2();
        let ones = Col::<f64>::ones(m);
        // ‖Ax‖ = 0.5: Σ Ax, ∇ₓ = Aᵀ1, ∇_A = 1xᵀ.
        let short = &x * (0.5 / ax_norm);
        let (value, grad_a, grad_x) = rescale_if_long_grad(&a, &short);
        assert_close(&value, &(&a * &short).sum(), EXACT);
        assert_close(&grad_x, &(a.transpose() * &ones), EXACT);
        assert_close(&grad_a, &(&ones * short.transpose()), EXACT);
        check_fd(&a, |a| rescale_if_long(a, &short), &grad_a);
        check_fd(&short, |x| rescale_if_long(&a, x), &grad_x);
        // ‖Ax‖ = 2: Σ u with u = z/‖z‖, ∇_z = (1 − (Σu)u)/‖z‖.
        let long = &x * (2.0 / ax_norm);
        let (value, grad_a, grad_x) = rescale_if_long_grad(&a, &long);
        let z = &a * &long;
        let u = &z / z.norm_l2();
        let grad_z = (&ones - &u * u.sum()) / z.norm_l2();
        assert_close(&value, &u.sum(), EXACT);
        assert_close(&grad_x, &(a.transpose() * &grad_z), EXACT);
        assert_close(&grad_a, &(&grad_z * long.transpose()), EXACT);
        if m > 1 {
            // For one output Σu = ±1 is constant: central differences are only noise.
            check_fd(&a, |a| rescale_if_long(a, &long), &grad_a);
            check_fd(&long, |x| rescale_if_long(&a, x), &grad_x);
        }
    }
}

#[test]
fn the_split_form_with_matrices() {
    let mut rng = Rng::new(124);
    for (m, n) in SHAPES {
        let (w, x, y) = (rng.col(n), rng.mat(m, n), rng.col(m));
        let (value, pullback) = least_squares_pullback(&w, &x, &y);
        let (grad_w, grad_x, grad_y) = pullback(&2.0, (&w, &x, &y));
        let (expected, expected_w, expected_x, expected_y) = least_squares_grad(&w, &x, &y);
        assert_eq!(value, expected);
        assert_close(&grad_w, &(&expected_w * 2.0), EXACT);
        assert_close(&grad_x, &(&expected_x * 2.0), EXACT);
        assert_close(&grad_y, &(&expected_y * 2.0), EXACT);
    }
}

// ----- a network written with loops, layer by layer ---------------------------------------

/// Two layers of a leaky-ReLU network written with loops: each layer fills
/// a fresh column element by element, then replaces the hidden state. The
/// adjoint replays the row loop, which writes the taped column again.
#[differentiate]
#[allow(clippy::needless_range_loop)]
fn leaky_layers_by_loops(w: &Mat<f64>, x: &Col<f64>) -> f64 {
    let n = x.nrows();
    let mut h = x.to_owned();
    for _ in 0..2 {
        let mut next = Col::<f64>::zeros(n);
        for i in 0..n {
            let mut z = 0.0;
            for j in 0..n {
                z += w[(i, j)] * h[j];
            }
            next[i] = z.max(0.1 * z);
        }
        h = next;
    }
    h.sum()
}

#[test]
fn a_network_written_layer_by_layer_with_loops() {
    let mut rng = Rng::new(71);
    for n in [1, 3, 5] {
        let (w, x) = (rng.mat(n, n), rng.col(n));
        let (value, grad_w, grad_x) = leaky_layers_by_loops_grad(&w, &x);
        assert_eq!(value, leaky_layers_by_loops(&w, &x));
        check_fd(&w, |w| leaky_layers_by_loops(w, &x), &grad_w);
        check_fd(&x, |x| leaky_layers_by_loops(&w, x), &grad_x);
    }
}

/// A hidden state that changes shape along the loop (3 → 2 → 4): its adjoint
/// in each iteration is shaped like the state of that iteration.
#[differentiate]
fn layers_of_changing_width(w1: &Mat<f64>, w2: &Mat<f64>, x: &Col<f64>) -> f64 {
    let mut h = x.to_owned();
    for l in 0..2 {
        if l == 0 {
            h = tanh(&(w1 * &h));
        } else {
            h = tanh(&(w2 * &h));
        }
    }
    h.squared_norm_l2()
}

#[test]
fn a_loop_carried_state_that_changes_shape() {
    let mut rng = Rng::new(72);
    for _ in 0..3 {
        let (w1, w2, x) = (rng.mat(2, 3), rng.mat(4, 2), rng.col(3));
        let (value, grad_w1, grad_w2, grad_x) = layers_of_changing_width_grad(&w1, &w2, &x);
        assert_eq!(value, layers_of_changing_width(&w1, &w2, &x));
        check_fd(&w1, |w1| layers_of_changing_width(w1, &w2, &x), &grad_w1);
        check_fd(&w2, |w2| layers_of_changing_width(&w1, w2, &x), &grad_w2);
        check_fd(&x, |x| layers_of_changing_width(&w1, &w2, x), &grad_x);
    }
}
