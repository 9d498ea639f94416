use chainrule::prelude::*;

#[differentiate(jacobian)]
fn scale_in_place(x: &mut f64, s: f64) {
    *x *= s;
}

fn main() {}
