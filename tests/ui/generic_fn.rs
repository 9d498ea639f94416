use chainrule::differentiate;

#[differentiate]
fn f<T: Into<f64>>(x: f64, t: T) -> f64 {
    x * t.into()
}

fn main() {}

#[differentiate]
fn first<const N: usize>(xs: [f64; N]) -> f64 {
    xs[0]
}
