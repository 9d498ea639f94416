//! Buffer snapshots: a loop that fills a scratch buffer and then reads it in
//! inner loops copies the buffer at the end of each iteration, and its
//! adjoint reads those reads again from the copies instead of taping each
//! one (an eager loop reads them from the buffer itself). Every function
//! here is checked at several random points against central finite
//! differences, so a copy taken before the buffer's last write, or read
//! for the wrong iteration, would show.

// The differentiated functions index in `for i in 0..n` loops on purpose.
#![allow(clippy::needless_range_loop)]

mod common;

use chainrule::differentiate;
use common::{POINTS, Rng, assert_gradient, assert_value, uniform_point};

/// Over `passes` passes and the `x.len() / d` points of `x`: each point is
/// centred and scaled into `centred` (an `exp`, so the loop is not replayed),
/// which two inner loops then read; the loop carries `carry` into the next
/// point's scaling, so its adjoint is not run eagerly. The copies of
/// `centred` of one pass sit on top of the previous pass's.
#[differentiate(wrt(x, w))]
fn centred_norms(x: &[f64], w: &[f64], d: usize, passes: usize) -> f64 {
    let n = x.len() / d;
    let mut centred = vec![0.0; d];
    let mut total = 0.0;
    let mut carry = 1.0;
    for pass in 0..passes {
        for i in 0..n {
            for j in 0..d {
                centred[j] = (x[i * d + j] - w[j]).exp() * carry;
            }
            let mut norm = 0.0;
            for j in 0..d {
                norm += centred[j] * centred[j] * w[j];
            }
            let mut cross = 0.0;
            for j in 1..d {
                cross += centred[j] * centred[j - 1];
            }
            carry = 0.5 + 0.1 * (norm + pass as f64).sin();
            total += (1.0 + norm * norm).ln() + cross;
        }
    }
    total
}

/// A buffer read between two writes of one iteration, then after the last:
/// `first` and the reads of the second loop are taped, the reads of the
/// third come from the copy taken at the end of the iteration.
#[differentiate(wrt(x, w))]
fn rewritten(x: &[f64], w: &[f64], d: usize) -> f64 {
    let n = x.len() / d;
    let mut buffer = vec![0.0; d];
    let mut product = 1.0;
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..d {
            buffer[j] = x[i * d + j].exp();
        }
        let first = buffer[0];
        for j in 0..d {
            buffer[j] = buffer[j] * first + w[j];
        }
        let mut sines = 0.0;
        for j in 0..d {
            sines += (buffer[j] * product).sin();
        }
        product *= 0.9 + 0.05 * sines.cos();
        total += sines * buffer[d - 1];
    }
    total + product
}

/// A sum over points, run eagerly: its reads of `scaled` after the last
/// write come from the buffer itself, right after the iteration.
#[differentiate(wrt(x, w))]
fn eager_sines(x: &[f64], w: &[f64], d: usize) -> f64 {
    let n = x.len() / d;
    let mut scaled = vec![0.0; d];
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..d {
            scaled[j] = x[i * d + j] * w[j];
        }
        let mut t = 0.0;
        for j in 0..d {
            t += scaled[j].sin() * scaled[(j + 1) % d];
        }
        s += t;
    }
    s
}

/// `x` and `w` concatenated, as the finite differences see them.
fn split(point: &[f64], d: usize) -> (&[f64], &[f64]) {
    point.split_at(point.len() - d)
}

/// Checks a generated gradient at `point` (`x`, then the last `d` entries
/// `w`): its value against `f`'s, its gradient against central differences.
#[track_caller]
fn check_at(
    point: &[f64],
    d: usize,
    f: impl Fn(&[f64], &[f64]) -> f64,
    grad: impl Fn(&[f64], &[f64]) -> (f64, Vec<f64>, Vec<f64>),
) {
    let (x, w) = split(point, d);
    let (value, gradient_x, gradient_w) = grad(x, w);
    assert_value(value, f(x, w));
    let gradient = [gradient_x, gradient_w].concat();
    assert_gradient(
        |p| {
            let (x, w) = split(p, d);
            f(x, w)
        },
        point,
        &gradient,
    );
}

#[test]
fn reads_after_the_last_write_of_an_iteration_come_from_its_copy() {
    let mut rng = Rng::for_test("snapshots");
    let (d, n) = (4, 5);
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, n * d + d, -0.5, 0.5);
        for passes in [1, 3] {
            check_at(
                &point,
                d,
                |x, w| centred_norms(x, w, d, passes),
                |x, w| centred_norms_grad(x, w, d, passes),
            );
        }
    }
}

#[test]
fn reads_between_writes_stay_taped() {
    let mut rng = Rng::for_test("snapshots_between_writes");
    let (d, n) = (3, 6);
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, n * d + d, -0.5, 0.5);
        check_at(&point, d, |x, w| rewritten(x, w, d), |x, w| rewritten_grad(x, w, d));
    }
}

#[test]
fn an_eager_loop_reads_its_buffer_in_place() {
    let mut rng = Rng::for_test("snapshots_eager");
    let (d, n) = (4, 7);
    for _ in 0..POINTS {
        let point = uniform_point(&mut rng, n * d + d, -1.0, 1.0);
        check_at(&point, d, |x, w| eager_sines(x, w, d), |x, w| eager_sines_grad(x, w, d));
    }
}
