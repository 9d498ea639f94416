use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    x.powf()
}

fn main() {}
