use chainrule::differentiate;

#[differentiate]
fn f(xs: &mut [f64]) -> f64 {
    xs[0] * 2.0
}

fn main() {}
