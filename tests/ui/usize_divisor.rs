// A `usize` count where an `f64` is meant: both errors point at `s / n`.
use chainrule::differentiate;

#[differentiate]
fn mean(xs: &[f64]) -> f64 {
    let n = xs.len();
    let mut s = 0.0;
    for &x in xs {
        s += x;
    }
    s / n
}

fn main() {}
