// A parameter whose type is `f64` under another name would silently be taken
// as a constant: chainrule reads types as written, so it asks for the type.
use chainrule::differentiate;

pub type Real = f64;

#[differentiate]
fn scaled(x: Real, y: f64) -> f64 {
    x * x * y
}

fn main() {
    let _ = scaled_grad(1.0, 2.0);
}
