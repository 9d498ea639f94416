use chainrule::differentiate;

#[differentiate]
fn leaky(x: f64) -> f64 {
    match x {
        v if v < 0.0 => 0.1 * v,
        _ => x,
    }
}

fn main() {}
