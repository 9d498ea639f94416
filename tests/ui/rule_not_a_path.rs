use chainrule::differentiate;

#[differentiate(rule = "erf_derivative")]
fn erf(x: f64) -> f64 {
    x
}

fn main() {}
