// An integer literal where an `f64` is meant: rustc reports it at the
// expression, and chainrule's note says what to write.
use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    2 * x + 1.0
}

fn main() {}
