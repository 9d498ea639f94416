// Without `wrt`, every float parameter is differentiated: a tuple or a nested
// array of `f64`s, which chainrule cannot differentiate, is an error rather
// than a silent constant. A slice of tuples (a dataset) stays constant.
use chainrule::differentiate;

#[differentiate]
fn determinant(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

#[differentiate]
fn scaled(w: f64, settings: &(f64, f64)) -> f64 {
    (w - settings.0) / settings.1
}

#[differentiate]
fn squared_error(w: f64, data: &[(f64, f64)]) -> f64 {
    let mut total = 0.0;
    for &(x, y) in data {
        total += (w * x - y).powi(2);
    }
    total
}

fn main() {}
