use chainrule::differentiate;

#[differentiate(wrt())]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
