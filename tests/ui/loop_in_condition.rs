use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    if x > 0.0
        && loop {
            break true;
        }
    {
        x
    } else {
        -x
    }
}

fn main() {}
