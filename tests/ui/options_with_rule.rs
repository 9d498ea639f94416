// Options a function with a `rule =` cannot take: `hessian` needs the
// body, and `recursive` boxes a pullback the rule does not have.
use chainrule::differentiate;

fn erf_derivative(x: f64, seed: f64) -> f64 {
    seed * 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp()
}

#[differentiate(hessian, rule = erf_derivative)]
fn erf(x: f64) -> f64 {
    x
}

#[differentiate(recursive, rule = erf_derivative)]
fn erf_again(x: f64) -> f64 {
    x
}

fn main() {}
