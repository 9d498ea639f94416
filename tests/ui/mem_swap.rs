use chainrule::differentiate;
use std::mem;

#[differentiate]
fn fibonacci_like(x: f64) -> f64 {
    let mut a = 1.0;
    let mut b = x;
    for _ in 0..4 {
        std::mem::swap(&mut a, &mut b);
        let doubled = 2.0 * a;
        let _old = mem::replace(&mut a, doubled);
        b += a;
    }
    b
}

fn main() {}
