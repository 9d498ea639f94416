//! A single ReLU neuron: its activation for one sample, the mean squared
//! error over a data set, the gradients backpropagation gives, and a short
//! gradient descent.
//!
//! activation(w, b, x) = relu(w·x + b)
//! C(w, b) = (1/N) Σᵢ (yᵢ − relu(w·xᵢ + b))², xᵢ the rows of X (N×d)
//! ∇_w C = (−2/N) Σ_{active i} eᵢ xᵢ, ∂C/∂b = (−2/N) Σ_{active i} eᵢ,
//! with eᵢ = yᵢ − aᵢ and "active" meaning w·xᵢ + b > 0.

mod matrix_support;

use chainrule::prelude::*;
use faer::col;
use matrix_support::{EXACT, Rng, assert_close, check_fd};

// ----- one sample -------------------------------------------------------------------

/// relu(w·x + b), differentiated with respect to the parameters only.
#[differentiate(wrt(w, b))]
fn activation(w: &Col<f64>, b: f64, x: &Col<f64>) -> f64 {
    relu(dot(w, x) + b)
}

/// The same, written with a Row·Col product and differentiated with respect
/// to the input too.
#[differentiate]
fn activation_all(w: &Col<f64>, b: f64, x: &Col<f64>) -> f64 {
    relu(w.transpose() * x + b)
}

#[test]
fn activation_of_an_active_neuron() {
    // w·x + b = 2 − 1 + 0.5 = 1.5 > 0: ∂/∂w = x, ∂/∂b = 1.
    let (w, x) = (col![1.0, -1.0], col![2.0, 1.0]);
    let (value, grad_w, grad_b) = activation_grad(&w, 0.5, &x);
    assert_eq!((value, &grad_w, grad_b), (1.5, &x, 1.0));
    let (_, grad_w, grad_b, grad_x) = activation_all_grad(&w, 0.5, &x);
    assert_eq!((&grad_w, grad_b, &grad_x), (&x, 1.0, &w));
}

#[test]
fn activation_of_an_inactive_neuron() {
    // w·x + b = 2 − 1 − 3 = −2 < 0: every derivative is 0.
    let (w, x) = (col![1.0, -1.0], col![2.0, 1.0]);
    let (value, grad_w, grad_b) = activation_grad(&w, -3.0, &x);
    assert_eq!((value, grad_w, grad_b), (0.0, Col::<f64>::zeros(2), 0.0));
    let (_, grad_w, grad_b, grad_x) = activation_all_grad(&w, -3.0, &x);
    assert_eq!(
        (grad_w, grad_b, grad_x),
        (Col::<f64>::zeros(2), 0.0, Col::<f64>::zeros(2))
    );
}

#[test]
fn activation_at_the_kink_has_derivative_zero() {
    // relu'(0) = 0.
    let (w, x) = (col![1.0, -1.0], col![2.0, 1.0]);
    let (value, grad_w, grad_b) = activation_grad(&w, -1.0, &x);
    assert_eq!((value, grad_w, grad_b), (0.0, Col::<f64>::zeros(2), 0.0));
}

#[test]
fn activation_in_both_regimes_at_random_points() {
    let mut rng = Rng::new(200);
    for d in [1, 3, 7] {
        for active in [true, false] {
            let (w, x) = (rng.col(d), rng.col(d));
            // Choose b so that w·x + b = ±(0.2 .. 1).
            let margin = rng.uniform(0.2, 1.0);
            let b = if active { margin } else { -margin } - dot(&w, &x);
            let (value, grad_w, grad_b) = activation_grad(&w, b, &x);
            let (value_all, grad_w_all, grad_b_all, grad_x) = activation_all_grad(&w, b, &x);
            if active {
                assert_close(&value, &margin, EXACT);
                assert_close(&grad_w, &x, EXACT);
                assert_eq!(grad_b, 1.0);
                assert_close(&grad_x, &w, EXACT);
            } else {
                assert_eq!(value, 0.0);
                assert_eq!(grad_w, Col::<f64>::zeros(d));
                assert_eq!(grad_b, 0.0);
                assert_eq!(grad_x, Col::<f64>::zeros(d));
            }
            assert_close(&value_all, &value, EXACT);
            assert_close(&grad_w_all, &grad_w, EXACT);
            assert_eq!(grad_b_all, grad_b);
            check_fd(&w, |w| activation(w, b, &x), &grad_w);
            check_fd(&b, |b| activation(&w, *b, &x), &grad_b);
            check_fd(&x, |x| activation_all(&w, b, x), &grad_x);
        }
    }
}

// ----- the cost over a data set -------------------------------------------------------

/// C(w, b) = (1/N) Σᵢ (yᵢ − relu(w·xᵢ + b))², the samples xᵢ the rows of `x`.
#[differentiate(wrt(w, b))]
fn cost(w: &Col<f64>, b: f64, x: Mat<f64>, y: &Col<f64>) -> f64 {
    let a = relu(add_scalar(&x * w, b));
    (y - a).squared_norm_l2() / x.nrows() as f64
}

/// The same cost, every parameter differentiated.
#[differentiate]
fn cost_all(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let z = add_scalar(x * w, b);
    let e = y - relu(z);
    e.squared_norm_l2() / x.nrows() as f64
}

/// The cost and its gradients written out sample by sample with loops.
fn cost_by_hand(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> (f64, Col<f64>, f64) {
    let n = x.nrows();
    let (mut cost, mut grad_w, mut grad_b) = (0.0, Col::<f64>::zeros(w.nrows()), 0.0);
    for i in 0..n {
        let z: f64 = (0..w.nrows()).map(|j| w[j] * x[(i, j)]).sum::<f64>() + b;
        let a = z.max(0.0);
        let e = y[i] - a;
        cost += e * e / n as f64;
        if z > 0.0 {
            for j in 0..w.nrows() {
                grad_w[j] += -2.0 / n as f64 * e * x[(i, j)];
            }
            grad_b += -2.0 / n as f64 * e;
        }
    }
    (cost, grad_w, grad_b)
}

/// Random data with `w·xᵢ + b` at least 0.05 away from the kink for every
/// sample, and both active and inactive samples when there are several.
fn data(rng: &mut Rng, n: usize, d: usize) -> (Col<f64>, f64, Mat<f64>, Col<f64>) {
    loop {
        let (w, b, x) = (rng.col(d), rng.uniform(-0.3, 0.3), rng.mat(n, d));
        let y = Col::from_fn(n, |_| rng.uniform(-0.5, 1.5));
        let z = add_scalar(&x * &w, b);
        let away = z.iter().all(|z| z.abs() > 0.05);
        let active = z.iter().filter(|z| **z > 0.0).count();
        if away && (n == 1 || (active > 0 && active < n)) {
            return (w, b, x, y);
        }
    }
}

#[test]
fn cost_of_a_small_example() {
    // Samples (1, 0), (0, 1), (1, 1); w = (1, −2), b = 0.5:
    // z = (1.5, −1.5, −0.5), a = (1.5, 0, 0); y = (1, 1, 1) gives
    // e = (−0.5, 1, 1) and C = 2.25/3 = 0.75. Only sample 0 is active:
    // ∇_w = (−2/3)(−0.5)(1, 0) = (1/3, 0), ∂C/∂b = (−2/3)(−0.5) = 1/3.
    let x = faer::mat![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let (w, y) = (col![1.0, -2.0], col![1.0, 1.0, 1.0]);
    let (value, grad_w, grad_b) = cost_grad(&w, 0.5, x.clone(), &y);
    assert_close(&value, &0.75, EXACT);
    assert_close(&grad_w, &col![1.0 / 3.0, 0.0], EXACT);
    assert_close(&grad_b, &(1.0 / 3.0), EXACT);
    // An active sample with aᵢ > yᵢ pushes w and b down: positive gradient.
    assert!(grad_b > 0.0);
}

#[test]
fn cost_gradients_match_backpropagation_by_hand() {
    let mut rng = Rng::new(201);
    for (n, d) in [(1, 1), (4, 2), (10, 3), (25, 5)] {
        for _ in 0..3 {
            let (w, b, x, y) = data(&mut rng, n, d);
            let (value, grad_w, grad_b) = cost_grad(&w, b, x.clone(), &y);
            let (expected, expected_w, expected_b) = cost_by_hand(&w, b, &x, &y);
            assert_close(&value, &expected, EXACT);
            assert_close(&grad_w, &expected_w, EXACT);
            assert_close(&grad_b, &expected_b, EXACT);

            // (−2/N) Σ_active eᵢ xᵢ and (−2/N) Σ_active eᵢ, written with faer.
            let z = add_scalar(&x * &w, b);
            let e = &y - relu(&z);
            let active_e = Col::from_fn(n, |i| if z[i] > 0.0 { e[i] } else { 0.0 });
            let scale = -2.0 / n as f64;
            assert_close(&grad_w, &(x.transpose() * &active_e * scale), EXACT);
            assert_close(&grad_b, &(active_e.sum() * scale), EXACT);

            check_fd(&w, |w| cost(w, b, x.clone(), &y), &grad_w);
            check_fd(&b, |b| cost(&w, *b, x.clone(), &y), &grad_b);
        }
    }
}

#[test]
fn cost_gradients_with_respect_to_the_data() {
    // ∇_X C = (−2/N) (active e) wᵀ, ∇_y C = (2/N) e.
    let mut rng = Rng::new(202);
    for (n, d) in [(1, 1), (4, 2), (10, 3), (25, 5)] {
        let (w, b, x, y) = data(&mut rng, n, d);
        let (value, grad_w, grad_b, grad_x, grad_y) = cost_all_grad(&w, b, &x, &y);
        let (expected, expected_w, expected_b) = cost_by_hand(&w, b, &x, &y);
        assert_close(&value, &expected, EXACT);
        assert_close(&grad_w, &expected_w, EXACT);
        assert_close(&grad_b, &expected_b, EXACT);
        let z = add_scalar(&x * &w, b);
        let e = &y - relu(&z);
        let active_e = Col::from_fn(n, |i| if z[i] > 0.0 { e[i] } else { 0.0 });
        assert_close(&grad_x, &(&active_e * w.transpose() * (-2.0 / n as f64)), EXACT);
        assert_close(&grad_y, &(&e * (2.0 / n as f64)), EXACT);
        check_fd(&x, |x| cost_all(&w, b, x, &y), &grad_x);
        check_fd(&y, |y| cost_all(&w, b, &x, y), &grad_y);
    }
}

#[test]
fn gradients_of_a_dead_neuron_vanish() {
    // Every sample inactive: the cost is Σ yᵢ²/N and does not depend on w, b.
    let mut rng = Rng::new(203);
    let (x, y) = (rng.mat(6, 3), rng.col(6));
    let w = rng.col(3);
    let b = -10.0;
    let (value, grad_w, grad_b) = cost_grad(&w, b, x.clone(), &y);
    assert_close(&value, &(y.squared_norm_l2() / 6.0), EXACT);
    assert_eq!((grad_w, grad_b), (Col::<f64>::zeros(3), 0.0));
}

#[test]
fn gradient_descent_reduces_the_cost() {
    // A teacher neuron labels the data; the student starts elsewhere.
    let mut rng = Rng::new(204);
    let (n, d) = (40, 3);
    let x = rng.mat(n, d);
    let (teacher_w, teacher_b) = (col![1.0, -0.5, 0.8], 0.3);
    let y = relu(add_scalar(&x * &teacher_w, teacher_b));

    let (mut w, mut b) = (col![0.2, 0.2, 0.2], 0.5);
    let (initial, _, _) = cost_grad(&w, b, x.clone(), &y);
    let mut previous = initial;
    let rate = 0.5;
    for step in 0..300 {
        let (value, grad_w, grad_b) = cost_grad(&w, b, x.clone(), &y);
        assert!(
            value <= previous + 1e-12,
            "the cost rose at step {step}: {previous} → {value}"
        );
        previous = value;
        w -= &grad_w * rate;
        b -= grad_b * rate;
    }
    let (last, grad_w, grad_b) = cost_grad(&w, b, x.clone(), &y);
    assert!(last < 0.01 * initial, "cost {initial} → {last}");
    assert!(grad_w.norm_l2() + grad_b.abs() < 0.1 * initial);
    // The student has found the teacher.
    assert!(
        (&w - &teacher_w).norm_l2() + (b - teacher_b).abs() < 1e-3,
        "w = {w:?}, b = {b}"
    );
}

// ----- the mean over the length of y ----------------------------------------------------

/// The loss divided by N = the length of `y`, a reference that the adjoint
/// does not otherwise read. This failed to compile (E0700 in `_pullback`: the
/// constant `y.nrows() as f64` borrowed the outer `y` in the adjoint closure)
/// at commit 8a9b49e (fixed by aa745fa); a regression test since.
#[differentiate(wrt(w, b))]
fn neuron_loss(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let a = relu(add_scalar(x * w, b));
    (y - a).squared_norm_l2() / y.nrows() as f64
}

#[test]
fn loss_divided_by_the_length_of_an_unread_reference() {
    let mut rng = Rng::new(205);
    for (n, d) in [(1, 1), (4, 2), (10, 3)] {
        let (w, b, x, y) = data(&mut rng, n, d);
        let (value, grad_w, grad_b) = neuron_loss_grad(&w, b, &x, &y);
        let (expected, expected_w, expected_b) = cost_by_hand(&w, b, &x, &y);
        assert_close(&value, &expected, EXACT);
        assert_close(&grad_w, &expected_w, EXACT);
        assert_close(&grad_b, &expected_b, EXACT);
        check_fd(&w, |w| neuron_loss(w, b, &x, &y), &grad_w);
        check_fd(&b, |b| neuron_loss(&w, *b, &x, &y), &grad_b);
    }
}
