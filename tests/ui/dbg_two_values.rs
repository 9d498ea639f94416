use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    dbg!(x, y);
    x * y
}

fn main() {}
