use chainrule::differentiate;
use chainrule::faer::Col;

// `hessian` on a function returning a vector writes only what callers'
// Hessians go through: there is no `scaled_hessian`.
#[differentiate(hessian)]
fn scaled(x: &Col<f64>, a: f64) -> Col<f64> {
    x * a
}

fn main() {
    let _ = scaled_hessian;
}
