use chainrule::prelude::*;
use faer::ColMut;

#[differentiate]
fn f(x: ColMut<'_, f64>) -> f64 {
    x.sum()
}

fn main() {}
