use chainrule::differentiate;

fn erf_vjp(x: f64, seed: f64) -> (f64, f64) {
    (x, seed)
}

#[differentiate(rule = erf_vjp)]
fn erf(x: f64) -> f64 {
    x
}

fn main() {}
