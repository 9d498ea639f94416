use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    let scale = std::cmp::max(3, 4) as f64;
    scale * core::f64::consts::PI * std::convert::identity(x * y)
}

fn main() {}
