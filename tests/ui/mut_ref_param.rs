use chainrule::differentiate;

#[differentiate]
fn f(xs: &mut faer::Col<f64>) -> f64 {
    xs[0] * 2.0
}

fn main() {}
