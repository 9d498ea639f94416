// `powi` takes an `i32` and `powf` an `f64`: an exponent written as the
// other, or an integer of another type, is an error at the exponent that
// says what to write (beside rustc's own), and nothing is generated.
use chainrule::differentiate;

#[differentiate]
fn powers(x: f64, n: usize, xs: &[f64]) -> f64 {
    x.powi(2.0) + x.powi(0.5) + x.powf(-1) + x.powi(n) + x.powf(n) + x.powi(xs.len())
}

fn main() {}
