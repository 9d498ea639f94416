use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let _pair = (x, 2.0 * x);
    x
}

fn main() {}
