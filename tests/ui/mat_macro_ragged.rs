use chainrule::differentiate;
use faer::{Mat, mat};

#[differentiate]
fn f(x: f64) -> Mat<f64> {
    mat![[x, 1.0], [x * x]]
}

fn main() {}
