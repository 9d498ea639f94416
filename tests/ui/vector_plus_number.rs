// faer adds no number to every element of a vector or matrix: the error
// names `chainrule::ops::add_scalar`, with the sign to write.
use chainrule::differentiate;
use faer::Col;

#[differentiate]
fn shifted_norm(x: &Col<f64>, b: f64) -> f64 {
    let above = x + 1.0;
    let below = b - x;
    (&above + &below).squared_norm_l2()
}

fn main() {}
