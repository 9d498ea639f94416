use chainrule::differentiate;

#[differentiate(wrt(1))]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
