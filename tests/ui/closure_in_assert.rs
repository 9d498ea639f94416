use chainrule::differentiate;

#[differentiate(wrt(xs))]
fn f(xs: &[f64]) -> f64 {
    assert!(xs.iter().all(|x| *x > 0.0), "xs must be positive");
    xs[0].ln()
}

fn main() {}
