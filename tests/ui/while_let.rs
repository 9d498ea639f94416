// `while let` gets an error on its condition saying what to write instead.
use chainrule::differentiate;
#[differentiate]
pub fn total(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while let Some(v) = xs.get(i) {
        s += v;
        i += 1;
    }
    s
}
fn main() {}
