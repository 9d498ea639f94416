//! Fields of parameters that are never differentiated: a dataset or a
//! configuration passed as a struct (`data: &Dataset`) whose fields the body
//! reads (`data.xs[i]`, `data.scale`, `data.n as f64`, `&data.a * w`,
//! `for &x in &data.xs`, `helper(w, &data.ys)`, `outer.inner.xs[1]`, and in
//! closures of iterator sums and `Col::from_fn`), fields holding vectors
//! (`for row in &data.rows`, `data.rows[i][j]`, `helper(w, &data.rows[i])`,
//! `for a in &data.arrays { helper(w, a) }`),
//! a tuple of constants (`pair.0`), and datasets held as slices of tuples or
//! structs (`data[i].0`, `for &(x, y) in data`, `for s in samples { s.x }`).
//! Every generated function is checked against
//! central finite differences at random points, and the Jacobian of an affine
//! map against its matrix.

// `data.xs` is indexed in a `for i in 0..n` loop on purpose: it is a form
// under test.
#![allow(clippy::needless_range_loop)]

mod matrix_support;

use chainrule::fd;
use chainrule::prelude::*;
use matrix_support::{Rng, assert_close, check_fd, check_fd_jacobian};

/// A regression dataset with its settings.
struct Dataset {
    xs: Vec<f64>,
    ys: Vec<f64>,
    scale: f64,
    n: usize,
    robust: bool,
    a: Mat<f64>,
    target: Col<f64>,
}

/// A struct holding another, for nested field reads.
struct Experiment {
    data: Dataset,
    weight: f64,
}

fn dataset(rng: &mut Rng, n: usize, robust: bool) -> Dataset {
    Dataset {
        xs: (0..n).map(|_| rng.scalar()).collect(),
        ys: (0..n).map(|_| rng.scalar()).collect(),
        scale: rng.positive(),
        n,
        robust,
        a: rng.mat(n, 3),
        target: rng.col(n),
    }
}

/// The mean squared (or absolute, when `robust`) error of a line `w·x + b`.
#[differentiate(wrt(w, b), forward, hessian)]
fn line_loss(w: f64, b: f64, data: &Dataset) -> f64 {
    let mut s = 0.0;
    for i in 0..data.xs.len() {
        let e = w * data.xs[i] + b - data.ys[i];
        s += if data.robust { e.abs() } else { e * e };
    }
    s * data.scale / data.n as f64
}

#[differentiate(forward)]
fn first_times(w: f64, ys: &[f64]) -> f64 {
    w * ys[0]
}

/// The fields iterated over, bound to a name and passed to a function.
#[differentiate(wrt(w), forward)]
fn iterated_fields(w: f64, data: &Dataset) -> f64 {
    let mut s = 0.0;
    for (i, &x) in data.xs.iter().enumerate() {
        let e = w * x - data.ys[i];
        s += e * e;
    }
    for &x in &data.xs {
        s += (w * x).sin();
    }
    let xs = &data.xs;
    let mapped: f64 = data.ys.iter().map(|y| (w * y).cos()).sum();
    let filled = Col::from_fn(data.n, |i| w * data.xs[i]);
    s + w * w * xs[0] + first_times(w, &data.ys) + mapped + filled.squared_norm_l2()
}

/// `A w − t` with `A` and `t` fields: its Jacobian is `A`.
#[differentiate(wrt(w), jacobian)]
fn residual(w: &Col<f64>, data: &Dataset) -> Col<f64> {
    &data.a * w - &data.target
}

#[differentiate(wrt(w))]
fn nested_fields(w: f64, experiment: &Experiment) -> f64 {
    experiment.weight * w * experiment.data.scale + w * w * experiment.data.xs[1]
}

#[differentiate(wrt(x))]
fn tuple_of_constants(x: f64, pair: (f64, usize)) -> f64 {
    x.powi(pair.1 as i32) * pair.0
}

#[test]
fn fields_of_a_dataset_in_every_mode() {
    let mut rng = Rng::new(2026);
    for robust in [false, true] {
        for _ in 0..4 {
            let data = dataset(&mut rng, 5, robust);
            let (w, b) = (rng.scalar(), rng.scalar());
            let f = |p: &[f64]| line_loss(p[0], p[1], &data);
            let (value, grad_w, grad_b) = line_loss_grad(w, b, &data);
            assert_eq!(value, line_loss(w, b, &data));
            fd::check_gradient(f, &[w, b], &[grad_w, grad_b]).assert_within(1e-6);

            let (tangent_value, tangent) = line_loss_jvp(w, b, &data, 0.3, -0.7);
            assert_eq!(tangent_value, value);
            assert_close(&tangent, &(0.3 * grad_w - 0.7 * grad_b), 1e-12);

            if !robust {
                let (_, hessian) = line_loss_hessian(w, b, &data);
                let numeric = fd::central_jacobian(
                    |p: &[f64]| {
                        let (_, gw, gb) = line_loss_grad(p[0], p[1], &data);
                        vec![gw, gb]
                    },
                    &[w, b],
                );
                assert_close(&hessian, &numeric, 1e-6);
            }
        }
    }
}

#[test]
fn fields_iterated_bound_and_passed_on() {
    let mut rng = Rng::new(7);
    for _ in 0..4 {
        let data = dataset(&mut rng, 4, false);
        let w = rng.scalar();
        let (value, gradient) = iterated_fields_grad(w, &data);
        assert_eq!(value, iterated_fields(w, &data));
        check_fd(&w, |w| iterated_fields(*w, &data), &gradient);
        let (_, tangent) = iterated_fields_jvp(w, &data, 0.5);
        assert_close(&tangent, &(0.5 * gradient), 1e-12);
    }
}

#[test]
fn matrix_fields_and_the_jacobian_of_an_affine_map() {
    let mut rng = Rng::new(11);
    let data = dataset(&mut rng, 4, false);
    let w = rng.col(3);
    let (value, jacobian) = residual_jacobian(&w, &data);
    assert_close(&value, &residual(&w, &data), 0.0);
    assert_close(&jacobian, &data.a, 1e-15);
    check_fd_jacobian(&w, |w| residual(w, &data), &jacobian);
}

#[test]
fn nested_fields_and_tuples_of_constants() {
    let mut rng = Rng::new(13);
    for _ in 0..4 {
        let experiment = Experiment {
            data: dataset(&mut rng, 3, false),
            weight: rng.scalar(),
        };
        let w = rng.scalar();
        let (_, gradient) = nested_fields_grad(w, &experiment);
        check_fd(&w, |w| nested_fields(*w, &experiment), &gradient);

        let pair = (rng.scalar(), 3);
        let (value, gradient) = tuple_of_constants_grad(w, pair);
        assert_eq!(value, tuple_of_constants(w, pair));
        check_fd(&w, |x| tuple_of_constants(*x, pair), &gradient);
        assert_close(&gradient, &(3.0 * w * w * pair.0), 1e-14);
    }
}

/// Samples as rows of features, each with a target, and the columns of a
/// second representation: fields holding `Vec`s and faer columns.
struct Samples {
    rows: Vec<Vec<f64>>,
    arrays: Vec<[f64; 2]>,
    targets: Vec<f64>,
    columns: Vec<Col<f64>>,
}

#[differentiate(wrt(w, b), forward)]
fn affine(w: &[f64], b: f64, x: &[f64]) -> f64 {
    let mut s = b;
    for i in 0..w.len() {
        s += w[i] * x[i];
    }
    s
}

/// The mean squared error of an affine model over samples held in a
/// struct, with the samples read every way a user reads them.
#[differentiate(wrt(w, b), forward)]
fn samples_loss(w: &[f64], b: f64, data: &Samples) -> f64 {
    let mut total = 0.0;
    for (x, &y) in data.rows.iter().zip(&data.targets) {
        let e = affine(w, b, x) - y;
        total += e * e;
    }
    for row in &data.rows {
        total += w[0] * row[0] * row[1];
    }
    let rows = &data.rows;
    for row in rows {
        total += w[1] * row[1] + rows[0][1] * b;
    }
    for a in &data.arrays {
        total += affine(w, b, a) * a[1] + (*a)[0] * b;
    }
    for (i, t) in data.targets.iter().enumerate() {
        total += t * w[i % 2] + (*t * b).sin();
    }
    total / data.targets.len() as f64 + b * data.rows[1][0] + affine(w, b, &data.rows[1]).powi(2)
}

/// Σₖ wᵀcₖ over constant columns plus (wᵀc₁)·c₀[1]: ∇ = c₀ + c₁ + c₀[1]·c₁.
#[differentiate(wrt(w))]
fn column_scores(w: &Col<f64>, data: &Samples) -> f64 {
    let mut s = 0.0;
    for c in &data.columns {
        s += w.transpose() * c;
    }
    s + (w.transpose() * &data.columns[1]) * data.columns[0][1]
}

#[test]
fn fields_holding_vectors_are_read_by_reference() {
    let mut rng = Rng::new(17);
    for _ in 0..4 {
        let data = Samples {
            rows: (0..3).map(|_| vec![rng.scalar(), rng.scalar()]).collect(),
            arrays: (0..2).map(|_| [rng.scalar(), rng.scalar()]).collect(),
            targets: (0..3).map(|_| rng.scalar()).collect(),
            columns: (0..2).map(|_| rng.col(2)).collect(),
        };
        let (w, b) = ([rng.scalar(), rng.scalar()], rng.scalar());
        let (value, grad_w, grad_b) = samples_loss_grad(&w, b, &data);
        assert_eq!(value, samples_loss(&w, b, &data));
        let gradient = [grad_w[0], grad_w[1], grad_b];
        let f = |p: &[f64]| samples_loss(&p[..2], p[2], &data);
        fd::check_gradient(f, &[w[0], w[1], b], &gradient).assert_within(1e-6);
        let (_, tangent) = samples_loss_jvp(&w, b, &data, &[0.3, -0.7], 0.5);
        assert_close(
            &tangent,
            &(0.3 * gradient[0] - 0.7 * gradient[1] + 0.5 * gradient[2]),
            1e-12,
        );

        let v = rng.col(2);
        let (value, gradient) = column_scores_grad(&v, &data);
        assert_eq!(value, column_scores(&v, &data));
        let (c0, c1) = (&data.columns[0], &data.columns[1]);
        let expected = c0 + c1 + c1 * faer::Scale(c0[1]);
        assert_close(&gradient, &expected, 1e-12);
        check_fd(&v, |v| column_scores(v, &data), &gradient);
    }
}

// ----- datasets held as slices of tuples and of structs -----------------------

/// One observation of a dataset held as a slice of structs.
struct Sample {
    x: f64,
    y: f64,
}

/// Σ (w·x + b − y)² over `(x, y)` pairs, read every way a user reads a
/// slice of tuples: by index and field, a `for` pattern that takes each pair
/// apart (with and without `.iter()` and `.enumerate()`), a `let` that takes
/// an element apart, and a map over the pairs.
#[differentiate(wrt(w, b), forward)]
fn pairs_loss(w: f64, b: f64, data: &[(f64, f64)]) -> f64 {
    let mut total = 0.0;
    for i in 0..data.len() {
        total += (w * data[i].0 + b - data[i].1).powi(2);
    }
    for &(x, y) in data {
        total += 0.5 * (w * x - y).powi(2);
    }
    for (i, &(x, y)) in data.iter().enumerate() {
        total += (i as f64 + 1.0) * b * x * y;
    }
    let (x0, y0) = data[0];
    let mapped: f64 = data.iter().map(|&(x, y)| (w * x + b).tanh() * y).sum();
    total + w * x0 * y0 + mapped
}

/// Σ (w·x + b − y)² over a slice of structs, by index and by element, with
/// the elements zipped with a slice of weights.
#[differentiate(wrt(w, b))]
fn samples_slice_loss(w: f64, b: f64, samples: &[Sample], weights: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..samples.len() {
        total += (w * samples[i].x + b - samples[i].y).powi(2);
    }
    for s in samples {
        total += (w * s.x).sin() * s.y;
    }
    for (s, &weight) in samples.iter().zip(weights) {
        total += weight * (b - s.y).powi(2);
    }
    total
}

#[test]
fn slices_of_tuples_and_structs_are_constant_data() {
    let mut rng = Rng::new(19);
    for n in [1, 3, 6] {
        let data: Vec<(f64, f64)> = (0..n).map(|_| (rng.scalar(), rng.scalar())).collect();
        let (w, b) = (rng.scalar(), rng.scalar());
        let (value, grad_w, grad_b) = pairs_loss_grad(w, b, &data);
        assert_eq!(value, pairs_loss(w, b, &data));
        let f = |p: &[f64]| pairs_loss(p[0], p[1], &data);
        fd::check_gradient(f, &[w, b], &[grad_w, grad_b]).assert_within(1e-6);
        let (_, tangent) = pairs_loss_jvp(w, b, &data, 0.3, -0.7);
        assert_close(&tangent, &(0.3 * grad_w - 0.7 * grad_b), 1e-12);

        let samples: Vec<Sample> = data.iter().map(|&(x, y)| Sample { x, y }).collect();
        let weights: Vec<f64> = (0..n).map(|_| rng.positive()).collect();
        let (value, grad_w, grad_b) = samples_slice_loss_grad(w, b, &samples, &weights);
        assert_eq!(value, samples_slice_loss(w, b, &samples, &weights));
        let f = |p: &[f64]| samples_slice_loss(p[0], p[1], &samples, &weights);
        fd::check_gradient(f, &[w, b], &[grad_w, grad_b]).assert_within(1e-6);
        // The closed form of the first loop alone, on one sample.
        if n == 1 {
            let (x, y) = data[0];
            let r = w * x + b - y;
            let expected_b = 2.0 * r + 2.0 * weights[0] * (b - y);
            assert_close(&grad_b, &expected_b, 1e-12);
        }
    }
}
