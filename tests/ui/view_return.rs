use chainrule::prelude::*;

#[differentiate]
fn f<'a>(x: ColRef<'a, f64>) -> ColRef<'a, f64> {
    x
}

fn main() {}
