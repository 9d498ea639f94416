use chainrule::differentiate;

fn split(x: f64) -> (f64, f64) {
    (x.floor(), x.fract())
}

#[differentiate]
fn f(x: f64) -> f64 {
    let (whole, part) = split(x);
    whole * part
}

fn main() {}
