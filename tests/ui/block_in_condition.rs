use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    if { x * x } > 1.0 { x } else { -x }
}

fn main() {}
