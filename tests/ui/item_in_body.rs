use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    const SCALE: f64 = 2.0;
    SCALE * x
}

fn main() {}
