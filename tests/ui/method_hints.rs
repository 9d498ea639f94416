use chainrule::prelude::*;

#[differentiate]
fn swapped(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.swap(0, 1);
    v[0]
}

#[differentiate]
fn converted(x: f64) -> f64 {
    f64::from(x) * 2.0
}

#[differentiate]
fn trace(a: &Mat<f64>) -> f64 {
    a.diagonal().column_vector().sum()
}


#[differentiate]
fn sine_of_pair(x: f64) -> f64 {
    let pair = x.sin_cos();
    x * 2.0 + pair.0
}

#[differentiate]
fn reversed(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.reverse();
    v[0] * xs[1]
}

#[differentiate]
fn popped(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    let last = v.pop();
    v[0] * xs[1] + last.unwrap_or(0.0)
}

fn main() {}
