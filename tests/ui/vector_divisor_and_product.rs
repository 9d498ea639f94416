// faer divides only by numbers and has no product of two columns: the
// errors name the element-wise forms of `chainrule::ops` to write.
use chainrule::differentiate;
use faer::{Col, Row};

#[differentiate]
fn quotients(x: &Col<f64>, y: &Col<f64>, s: f64) -> f64 {
    let elementwise = x / y;
    let reciprocals = s / y;
    (&elementwise + &reciprocals).sum()
}

#[differentiate]
fn products(x: &Col<f64>, y: &Col<f64>, u: &Row<f64>, v: &Row<f64>) -> f64 {
    (x * y).sum() + (u * v).sum()
}

fn main() {}
