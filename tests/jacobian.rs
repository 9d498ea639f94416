//! `#[differentiate(jacobian)]`: Jacobians of column-valued functions in
//! numerator layout (row i = output i) and denominator layout (the
//! transpose), with respect to one column or to stacked scalars, compared
//! with closed forms and with central differences.

mod matrix_support;

use chainrule::fd;
use chainrule::prelude::*;
use faer::{col, mat};
use matrix_support::{EXACT, FD, Rng, SHAPES, SIZES, assert_close, check_fd, check_fd_jacobian, inner};

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

// ----- any value, any parameters: numbers flattened in order -----------------

/// Central differences of `f` over the flattened inputs `point`, compared
/// with `jacobian` (numerator layout).
#[track_caller]
fn check_fd_flat(f: impl Fn(&[f64]) -> Vec<f64>, point: &[f64], jacobian: &Mat<f64>) {
    let numeric = fd::central_jacobian(f, point);
    assert_eq!(
        (jacobian.nrows(), jacobian.ncols()),
        (numeric.nrows(), numeric.ncols()),
        "Jacobian shapes differ"
    );
    let (worst, error) = fd::worst_relative_error(&fd::to_vec(jacobian), &fd::to_vec(&numeric));
    assert!(
        error <= FD,
        "Jacobian differs from central differences by {error:e} at element {worst} (column-major):\n{jacobian:?}\n{numeric:?}"
    );
}

/// Polar to Cartesian coordinates: an array of two numbers from two scalars.
#[differentiate(jacobian)]
fn polar(r: f64, theta: f64) -> [f64; 2] {
    [r * theta.cos(), r * theta.sin()]
}

#[test]
fn an_array_valued_function_of_scalars() {
    let mut rng = Rng::new(20);
    for _ in 0..8 {
        let (r, theta) = (rng.positive(), rng.uniform(-3.0, 3.0));
        let (value, jacobian) = polar_jacobian(r, theta);
        assert_eq!(value, polar(r, theta));
        let expected = mat![[theta.cos(), -r * theta.sin()], [theta.sin(), r * theta.cos()]];
        assert_close(&jacobian, &expected, EXACT);
        check_fd_flat(|p| polar(p[0], p[1]).to_vec(), &[r, theta], &jacobian);
        // The determinant of the polar map is r.
        assert!((jacobian.determinant() - r).abs() <= EXACT * r.max(1.0));
    }
}

/// A column and a scalar together: the Jacobian is `[s·I | x]`.
#[differentiate(jacobian)]
fn scaled(x: &Col<f64>, s: f64) -> Col<f64> {
    s * x
}

#[differentiate(jacobian, layout = denominator)]
fn scaled_denominator(x: &Col<f64>, s: f64) -> Col<f64> {
    s * x
}

#[test]
fn a_column_and_a_scalar_are_stacked_in_parameter_order() {
    let mut rng = Rng::new(21);
    for n in SIZES {
        let (x, s) = (rng.col(n), rng.scalar());
        let (value, jacobian) = scaled_jacobian(&x, s);
        assert_close(&value, &(&x * s), EXACT);
        let expected = Mat::from_fn(n, n + 1, |i, j| {
            if j == n {
                x[i]
            } else if i == j {
                s
            } else {
                0.0
            }
        });
        assert_close(&jacobian, &expected, EXACT);
        let (_, transposed) = scaled_denominator_jacobian(&x, s);
        assert_close(&transposed, &expected.transpose().to_owned(), EXACT);
        let at: Vec<f64> = x.iter().copied().chain([s]).collect();
        check_fd_flat(
            |p| fd::to_vec(&scaled(&Col::from_fn(n, |i| p[i]), p[n])),
            &at,
            &jacobian,
        );
    }
}

/// `Ax + b` with respect to all three: `A` flattened column by column, then
/// `x`, then `b`, so `∂(Ax+b)ᵢ/∂A_kl = δᵢₖ x_l`, `∂/∂x = A`, `∂/∂b = I`.
#[differentiate(jacobian)]
fn affine(a: &Mat<f64>, x: &Col<f64>, b: &Col<f64>) -> Col<f64> {
    a * x + b
}

#[test]
fn a_matrix_parameter_is_flattened_column_by_column() {
    let mut rng = Rng::new(22);
    for (m, n) in SHAPES {
        let (a, x, b) = (rng.mat(m, n), rng.col(n), rng.col(m));
        let (value, jacobian) = affine_jacobian(&a, &x, &b);
        assert_close(&value, &(&a * &x + &b), EXACT);
        let expected = Mat::from_fn(m, m * n + n + m, |i, j| {
            if j < m * n {
                let (k, l) = (j % m, j / m);
                if i == k { x[l] } else { 0.0 }
            } else if j < m * n + n {
                a[(i, j - m * n)]
            } else if i == j - m * n - n {
                1.0
            } else {
                0.0
            }
        });
        assert_close(&jacobian, &expected, EXACT);
        let at: Vec<f64> = [fd::to_vec(&a), fd::to_vec(&x), fd::to_vec(&b)].concat();
        check_fd_flat(
            |p| {
                let a = Mat::from_fn(m, n, |i, j| p[j * m + i]);
                let x = Col::from_fn(n, |i| p[m * n + i]);
                let b = Col::from_fn(m, |i| p[m * n + n + i]);
                fd::to_vec(&affine(&a, &x, &b))
            },
            &at,
            &jacobian,
        );
    }
}

/// Running sums of squares, into a `Vec` built in the body: the Jacobian is
/// lower triangular with `2xⱼ` below the diagonal.
#[differentiate(jacobian)]
#[allow(clippy::needless_range_loop)]
fn running_squares(xs: &[f64]) -> Vec<f64> {
    let mut sums = vec![0.0; xs.len()];
    let mut total = 0.0;
    for i in 0..xs.len() {
        total += xs[i] * xs[i];
        sums[i] = total;
    }
    sums
}

#[test]
fn a_vec_valued_function_of_a_slice() {
    let mut rng = Rng::new(23);
    for n in SIZES {
        let xs: Vec<f64> = (0..n).map(|_| rng.scalar()).collect();
        let (value, jacobian) = running_squares_jacobian(&xs);
        assert_eq!(value, running_squares(&xs));
        let expected = Mat::from_fn(n, n, |i, j| if j <= i { 2.0 * xs[j] } else { 0.0 });
        assert_close(&jacobian, &expected, EXACT);
        check_fd_flat(running_squares, &xs, &jacobian);
    }
}

/// The outer product `x xᵀ`: a matrix value, its numbers column by column,
/// `∂(xxᵀ)ᵢⱼ/∂x_k = δᵢₖ xⱼ + xᵢ δⱼₖ`.
#[differentiate(jacobian)]
fn outer(x: &Col<f64>) -> Mat<f64> {
    x * x.transpose()
}

#[test]
fn a_matrix_valued_function_has_a_row_per_entry_column_by_column() {
    let mut rng = Rng::new(24);
    for n in SIZES {
        let x = rng.col(n);
        let (value, jacobian) = outer_jacobian(&x);
        assert_close(&value, &(&x * x.transpose()), EXACT);
        let expected = Mat::from_fn(n * n, n, |row, k| {
            let (i, j) = (row % n, row / n);
            (if i == k { x[j] } else { 0.0 }) + (if j == k { x[i] } else { 0.0 })
        });
        assert_close(&jacobian, &expected, EXACT);
        check_fd_jacobian(
            &x,
            |x| Col::from_fn(n * n, |row| outer(x)[(row % n, row / n)]),
            &jacobian,
        );
    }
}

/// A scalar value: the Jacobian is the gradient as one row.
#[differentiate(jacobian)]
fn squared_norm(x: &Col<f64>, w: f64) -> f64 {
    w * x.squared_norm_l2()
}

#[test]
fn a_scalar_valued_function_has_its_gradient_as_one_row() {
    let mut rng = Rng::new(25);
    for n in SIZES {
        let (x, w) = (rng.col(n), rng.scalar());
        let (value, jacobian) = squared_norm_jacobian(&x, w);
        let (grad_value, dx, dw) = squared_norm_grad(&x, w);
        assert_eq!(value, grad_value);
        assert_eq!((jacobian.nrows(), jacobian.ncols()), (1, n + 1));
        let expected = Mat::from_fn(1, n + 1, |_, j| if j < n { dx[j] } else { dw });
        assert_close(&jacobian, &expected, EXACT);
        assert_close(&dx, &(&x * (2.0 * w)), EXACT);
    }
}

/// A row vector in and out.
#[differentiate(jacobian, wrt(x))]
fn row_times(x: &Row<f64>, a: &Mat<f64>) -> Row<f64> {
    x * a
}

#[test]
fn a_row_valued_function_of_a_row_is_the_transpose_of_its_matrix() {
    let mut rng = Rng::new(26);
    for (m, n) in SHAPES {
        let (x, a) = (rng.row(m), rng.mat(m, n));
        let (value, jacobian) = row_times_jacobian(&x, &a);
        assert_close(&value, &(&x * &a), EXACT);
        assert_close(&jacobian, &a.transpose().to_owned(), EXACT);
        check_fd_flat(
            |p| fd::to_vec(&row_times(&Row::from_fn(m, |j| p[j]), &a)),
            &fd::to_vec(&x),
            &jacobian,
        );
    }
}
