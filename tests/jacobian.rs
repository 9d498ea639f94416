//! `#[differentiate(jacobian)]`: Jacobians of column-valued functions in
//! numerator layout (row i = output i) and denominator layout (the
//! transpose), with respect to one column or to stacked scalars, compared
//! with closed forms and with central differences.

mod matrix_support;

use chainrule::prelude::*;
use faer::{col, mat};
use matrix_support::{EXACT, Rng, SHAPES, SIZES, assert_close, check_fd, check_fd_jacobian, inner};

// ----- ∂(Ax)/∂x = A -----------------------------------------------------------

#[differentiate(jacobian, wrt(x))]
fn linear_map(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    a * x
}

#[differentiate(jacobian, layout = denominator, wrt(x))]
fn linear_map_denominator(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    a * x
}

#[test]
fn linear_map_jacobian_is_the_matrix_in_numerator_layout() {
    let a = mat![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let x = col![1.0, -1.0, 2.0];
    let (value, jacobian) = linear_map_jacobian(&a, &x);
    assert_eq!(value, col![5.0, 11.0]);
    assert_eq!(jacobian, a);
}

#[test]
fn linear_map_jacobian_is_the_transpose_in_denominator_layout() {
    // The same example as above: a 2×3 matrix gives a 3×2 Jacobian.
    let a = mat![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let x = col![1.0, -1.0, 2.0];
    let (value, jacobian) = linear_map_denominator_jacobian(&a, &x);
    assert_eq!(value, col![5.0, 11.0]);
    assert_eq!(jacobian, mat![[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]);
    assert_eq!(jacobian, a.transpose().to_owned());
}

#[test]
fn linear_map_jacobian_at_random_shapes() {
    let mut rng = Rng::new(1);
    for (m, n) in SHAPES {
        let a = rng.mat(m, n);
        let x = rng.col(n);
        let (value, numerator) = linear_map_jacobian(&a, &x);
        let (value_t, denominator) = linear_map_denominator_jacobian(&a, &x);
        assert_close(&value, &(&a * &x), EXACT);
        assert_close(&value_t, &value, EXACT);
        assert_eq!((numerator.nrows(), numerator.ncols()), (m, n));
        assert_eq!((denominator.nrows(), denominator.ncols()), (n, m));
        assert_close(&numerator, &a, EXACT);
        assert_close(&denominator, &a.transpose().to_owned(), EXACT);
        check_fd_jacobian(&x, |x| linear_map(&a, x), &numerator);
        check_fd_jacobian(&x, |x| linear_map(&a, x), &denominator.transpose().to_owned());
    }
}

#[test]
fn the_jacobian_agrees_with_the_vjp() {
    // vᵀJ is the vector–Jacobian product for every seed v.
    let mut rng = Rng::new(2);
    for (m, n) in SHAPES {
        let a = rng.mat(m, n);
        let x = rng.col(n);
        let seed = rng.col(m);
        let (_, jacobian) = linear_map_jacobian(&a, &x);
        let (_, seed_x) = linear_map_vjp(&a, &x, &seed);
        assert_close(&seed_x, &(jacobian.transpose() * &seed), EXACT);
    }
}

// ----- element-wise maps: diagonal Jacobians ---------------------------------

#[differentiate(jacobian, wrt(x))]
fn hadamard_map(w: &Col<f64>, x: &Col<f64>) -> Col<f64> {
    hadamard(w, x)
}

#[differentiate(jacobian, layout = denominator, wrt(x))]
fn hadamard_map_denominator(w: &Col<f64>, x: &Col<f64>) -> Col<f64> {
    hadamard(w, x)
}

#[differentiate(jacobian, wrt(x))]
fn shift(x: &Col<f64>, z: f64) -> Col<f64> {
    add_scalar(x, z)
}

/// The same map, its Jacobian taken with respect to the scalar `z`: a column.
#[differentiate(jacobian, wrt(z))]
fn shift_by(x: &Col<f64>, z: f64) -> Col<f64> {
    add_scalar(x, z)
}

/// The same map, differentiated with respect to both parameters.
#[differentiate]
fn shifted(x: &Col<f64>, z: f64) -> Col<f64> {
    add_scalar(x, z)
}

#[differentiate(jacobian, wrt(x))]
fn tanh_map(x: &Col<f64>) -> Col<f64> {
    tanh(x)
}

fn diagonal(d: &Col<f64>) -> Mat<f64> {
    Mat::from_fn(d.nrows(), d.nrows(), |i, j| if i == j { d[i] } else { 0.0 })
}

#[test]
fn hadamard_jacobian_is_diag_w() {
    let (w, x) = (col![2.0, -3.0, 0.5], col![1.0, 4.0, -2.0]);
    let (value, jacobian) = hadamard_map_jacobian(&w, &x);
    assert_eq!(value, col![2.0, -12.0, -1.0]);
    assert_eq!(jacobian, diagonal(&w));

    let mut rng = Rng::new(3);
    for n in SIZES {
        let (w, x) = (rng.col(n), rng.col(n));
        let (value, numerator) = hadamard_map_jacobian(&w, &x);
        let (_, denominator) = hadamard_map_denominator_jacobian(&w, &x);
        assert_close(&value, &hadamard(&w, &x), EXACT);
        assert_close(&numerator, &diagonal(&w), EXACT);
        assert_close(&denominator, &diagonal(&w), EXACT);
        check_fd_jacobian(&x, |x| hadamard_map(&w, x), &numerator);
    }
}

#[test]
fn add_scalar_jacobian_is_the_identity_and_a_column_of_ones_for_the_scalar() {
    let x = col![1.0, -2.0, 3.0];
    let (value, jacobian) = shift_jacobian(&x, 0.5);
    assert_eq!(value, col![1.5, -1.5, 3.5]);
    assert_eq!(jacobian, Mat::<f64>::identity(3, 3));
    let (value, jacobian) = shift_by_jacobian(&x, 0.5);
    assert_eq!(value, col![1.5, -1.5, 3.5]);
    assert_eq!(jacobian, Mat::<f64>::ones(3, 1));

    let mut rng = Rng::new(4);
    for n in SIZES {
        let (x, z) = (rng.col(n), rng.scalar());
        let (_, wrt_x) = shift_jacobian(&x, z);
        let (_, wrt_z) = shift_by_jacobian(&x, z);
        assert_close(&wrt_x, &Mat::<f64>::identity(n, n), EXACT);
        assert_close(&wrt_z, &Mat::<f64>::ones(n, 1), EXACT);
        check_fd_jacobian(&x, |x| shift(x, z), &wrt_x);
        check_fd_jacobian(&z, |z| shift(&x, *z), &wrt_z);
    }
}

#[test]
fn add_scalar_scalar_derivative_is_the_sum_of_the_seed() {
    // ∂/∂z ⟨s, x + z·1⟩ = Σ sᵢ, and ∂/∂x = s.
    let mut rng = Rng::new(5);
    for n in SIZES {
        let (x, z, seed) = (rng.col(n), rng.scalar(), rng.col(n));
        let (value, seed_x, seed_z) = shifted_vjp(&x, z, &seed);
        assert_close(&value, &add_scalar(&x, z), EXACT);
        assert_close(&seed_x, &seed, EXACT);
        assert_close(&seed_z, &seed.sum(), EXACT);
        let ones = Col::<f64>::ones(n);
        let (_, _, ones_z) = shifted_vjp(&x, z, &ones);
        assert_eq!(ones_z, n as f64);
        check_fd(&z, |z| inner(&seed, &shifted(&x, *z)), &seed_z);
        check_fd(&x, |x| inner(&seed, &shifted(x, z)), &seed_x);
    }
}

#[test]
fn tanh_jacobian_is_diagonal() {
    let mut rng = Rng::new(6);
    for n in SIZES {
        let x = rng.col(n);
        let (value, jacobian) = tanh_map_jacobian(&x);
        let derivative = Col::from_fn(n, |i| 1.0 - value[i] * value[i]);
        assert_close(&jacobian, &diagonal(&derivative), EXACT);
        check_fd_jacobian(&x, tanh_map, &jacobian);
    }
}

// ----- scalars stacked as columns -----------------------------------------------

/// f(a, b, c) = b·exp(a·v) + c²: three scalars, one column each.
#[differentiate(jacobian, wrt(a, b, c))]
fn three_scalars(a: f64, b: f64, c: f64, v: &Col<f64>) -> Col<f64> {
    add_scalar(exp(v * a) * b, c * c)
}

#[differentiate(jacobian, wrt(a, b))]
fn scaled_column(a: f64, v: &Col<f64>, b: f64) -> Col<f64> {
    add_scalar(v * a, b)
}

#[differentiate(jacobian, layout = denominator, wrt(a, b))]
fn scaled_column_denominator(a: f64, v: &Col<f64>, b: f64) -> Col<f64> {
    add_scalar(v * a, b)
}

#[test]
fn scalar_parameters_are_stacked_as_columns() {
    let v = col![1.0, -2.0, 3.0, 0.5];
    let (value, jacobian) = scaled_column_jacobian(2.0, &v, 1.0);
    assert_eq!(value, col![3.0, -3.0, 7.0, 2.0]);
    // Column 0: ∂/∂a = v; column 1: ∂/∂b = 1.
    assert_eq!(jacobian, mat![[1.0, 1.0], [-2.0, 1.0], [3.0, 1.0], [0.5, 1.0]]);
    let (_, transposed) = scaled_column_denominator_jacobian(2.0, &v, 1.0);
    assert_eq!(transposed, jacobian.transpose().to_owned());

    let mut rng = Rng::new(7);
    for n in SIZES {
        let (a, v, b) = (rng.scalar(), rng.col(n), rng.scalar());
        let (_, jacobian) = scaled_column_jacobian(a, &v, b);
        assert_eq!((jacobian.nrows(), jacobian.ncols()), (n, 2));
        let expected = Mat::from_fn(n, 2, |i, j| if j == 0 { v[i] } else { 1.0 });
        assert_close(&jacobian, &expected, EXACT);
        let ab = col![a, b];
        check_fd_jacobian(&ab, |p| scaled_column(p[0], &v, p[1]), &jacobian);
    }
}

#[test]
fn three_scalar_parameters() {
    let mut rng = Rng::new(8);
    for n in SIZES {
        let (a, b, c, v) = (rng.scalar(), rng.scalar(), rng.scalar(), rng.col(n));
        let (value, jacobian) = three_scalars_jacobian(a, b, c, &v);
        let e = exp(&v * a);
        assert_close(&value, &add_scalar(&e * b, c * c), EXACT);
        let expected = Mat::from_fn(n, 3, |i, j| match j {
            0 => b * v[i] * e[i],
            1 => e[i],
            _ => 2.0 * c,
        });
        assert_close(&jacobian, &expected, EXACT);
        let abc = col![a, b, c];
        check_fd_jacobian(&abc, |p| three_scalars(p[0], p[1], p[2], &v), &jacobian);
    }
}

// ----- views, nonlinear maps, calls --------------------------------------------------

/// softplus(x) = ln(1 + eˣ) element-wise, on a view: J = diag(σ(x)).
#[differentiate(jacobian)]
fn softplus(x: ColRef<'_, f64>) -> Col<f64> {
    ln(add_scalar(exp(x), 1.0))
}

/// f(x) = (Σ x)·Ax: J = Ax1ᵀ + (Σ x)A, not symmetric, m×n.
#[differentiate(jacobian, wrt(x))]
fn scaled_map(x: &Col<f64>, a: &Mat<f64>) -> Col<f64> {
    a * x * x.sum()
}

#[differentiate(jacobian, layout = denominator, wrt(x))]
fn scaled_map_denominator(x: &Col<f64>, a: &Mat<f64>) -> Col<f64> {
    a * x * x.sum()
}

/// tanh(Wx) through a call of `linear_map`: J = diag(1 − y²)W.
#[differentiate(jacobian, wrt(x))]
fn layer(w: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    tanh(linear_map(w, x))
}

/// A branch on the norm: Ax for ‖x‖ > 1, else 2x (A square).
#[differentiate(jacobian, wrt(x))]
fn branchy(a: &Mat<f64>, x: &Col<f64>) -> Col<f64> {
    if x.norm_l2() > 1.0 { a * x } else { x * 2.0 }
}

/// x / len(y), `y` read only for its length.
#[differentiate(jacobian, wrt(x))]
fn divided_by_length(x: &Col<f64>, y: &Col<f64>) -> Col<f64> {
    x / y.nrows() as f64
}

#[test]
fn jacobian_when_a_constant_is_the_length_of_another_parameter() {
    let mut rng = Rng::new(13);
    for (m, n) in SHAPES {
        let (x, y) = (rng.col(n), rng.col(m));
        let (value, jacobian) = divided_by_length_jacobian(&x, &y);
        assert_close(&value, &(&x / m as f64), EXACT);
        assert_close(&jacobian, &(Mat::<f64>::identity(n, n) / m as f64), EXACT);
        check_fd_jacobian(&x, |x| divided_by_length(x, &y), &jacobian);
    }
}

#[test]
fn jacobian_with_respect_to_a_view() {
    let mut rng = Rng::new(9);
    for n in SIZES {
        let x = rng.col(n);
        let (value, jacobian) = softplus_jacobian(x.as_ref());
        assert_close(&value, &Col::from_fn(n, |i| x[i].exp().ln_1p()), EXACT);
        assert_close(&jacobian, &diagonal(&sigmoid(&x)), EXACT);
        check_fd_jacobian(&x, |x| softplus(x.as_ref()), &jacobian);
    }
}

#[test]
fn jacobian_of_a_nonlinear_map_in_both_layouts() {
    let mut rng = Rng::new(10);
    for (m, n) in SHAPES {
        let (x, a) = (rng.col(n), rng.mat(m, n));
        let (value, numerator) = scaled_map_jacobian(&x, &a);
        let (_, denominator) = scaled_map_denominator_jacobian(&x, &a);
        let expected = &a * &x * Row::<f64>::ones(n) + &a * x.sum();
        assert_close(&value, &(&a * &x * x.sum()), EXACT);
        assert_close(&numerator, &expected, EXACT);
        assert_close(&denominator, &expected.transpose().to_owned(), EXACT);
        check_fd_jacobian(&x, |x| scaled_map(x, &a), &numerator);
    }
}

#[test]
fn jacobian_through_a_call() {
    let mut rng = Rng::new(11);
    for (m, n) in SHAPES {
        let (w, x) = (rng.mat(m, n), rng.col(n));
        let (value, jacobian) = layer_jacobian(&w, &x);
        let derivative = Col::from_fn(m, |i| 1.0 - value[i] * value[i]);
        assert_close(&value, &tanh(&w * &x), EXACT);
        assert_close(&jacobian, &(diagonal(&derivative) * &w), EXACT);
        check_fd_jacobian(&x, |x| layer(&w, x), &jacobian);
    }
}

#[test]
fn jacobian_of_a_branch() {
    let mut rng = Rng::new(12);
    for n in SIZES {
        let (a, x) = (rng.mat(n, n), rng.col(n));
        let (big, small) = (&x * (2.0 / x.norm_l2()), &x * (0.5 / x.norm_l2()));
        let (_, jacobian) = branchy_jacobian(&a, &big);
        assert_close(&jacobian, &a, EXACT);
        check_fd_jacobian(&big, |x| branchy(&a, x), &jacobian);
        let (_, jacobian) = branchy_jacobian(&a, &small);
        assert_close(&jacobian, &(Mat::<f64>::identity(n, n) * 2.0), EXACT);
        check_fd_jacobian(&small, |x| branchy(&a, x), &jacobian);
    }
}
