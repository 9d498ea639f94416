//! A walk through derivatives with `#[differentiate]`: from the limit that
//! defines a derivative to gradients, the chain rule and branches.
//!
//! Every derivative printed here comes from a generated `_grad` function and
//! is compared with the textbook formula and with central differences
//! (`chainrule::fd`). Run it with
//!
//! ```text
//! cargo run --release --example derivatives
//! ```

use chainrule::differentiate;
use chainrule::fd;

// ----- 1. The derivative as a limit -----------------------------------------

/// f(x) = 3x² − 4x, so f'(x) = 6x − 4 and f'(1) = 2.
#[differentiate]
fn parabola(x: f64) -> f64 {
    3.0 * x * x - 4.0 * x
}

// ----- 2. Gradients of functions of several variables -----------------------

/// f(x, y) = 3x²y, ∇f = [6xy, 3x²].
#[differentiate]
fn three_x_squared_y(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

/// f(x, y) = 2x + y⁸, ∇f = [2, 8y⁷].
#[differentiate]
fn two_x_plus_y_pow_8(x: f64, y: f64) -> f64 {
    2.0 * x + y.powi(8)
}

/// f(x₁, x₂, x₃) = x₁² + x₁x₂ + x₂x₃, ∇f = [2x₁ + x₂, x₁ + x₃, x₂].
#[differentiate]
fn three_variables(x1: f64, x2: f64, x3: f64) -> f64 {
    x1 * x1 + x1 * x2 + x2 * x3
}

/// f(x₁, x₂) = 3x₁² + 5e^{x₂}, ∇f = [6x₁, 5e^{x₂}].
#[differentiate]
fn square_plus_exp(x1: f64, x2: f64) -> f64 {
    3.0 * x1 * x1 + 5.0 * x2.exp()
}

// ----- 3. Total derivative: f(x, y) = x + y with y = x² ---------------------

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

/// f(x, y) = x + y: ∂f/∂x = ∂f/∂y = 1.
#[differentiate]
fn add(x: f64, y: f64) -> f64 {
    x + y
}

/// f(x, x²): df/dx = ∂f/∂x + ∂f/∂y · dy/dx = 1 + 2x.
#[differentiate]
fn x_plus_x_squared(x: f64) -> f64 {
    let y = square(x);
    add(x, y)
}

// ----- 4. Single-variable rules ----------------------------------------------

/// d/dx sin(x²) = cos(x²) · 2x.
#[differentiate]
fn sin_of_square(x: f64) -> f64 {
    (x * x).sin()
}

/// d/dx (x³ − 1/x) = 3x² + 1/x², which is 4 at x = 1.
#[differentiate]
fn cube_minus_reciprocal(x: f64) -> f64 {
    x * x * x - 1.0 / x
}

/// Quotient rule: d/dx (x² + 1)/(x + 2) = (2x(x + 2) − (x² + 1)) / (x + 2)².
#[differentiate]
fn quotient(x: f64) -> f64 {
    (x * x + 1.0) / (x + 2.0)
}

/// d/dx aˣ = ln(a) · aˣ; only `x` is differentiated, `a` is a constant.
#[differentiate(wrt(x))]
fn power_of(a: f64, x: f64) -> f64 {
    a.powf(x)
}

// ----- 5. The chain rule across functions -----------------------------------

/// z = 2x + 1
#[differentiate]
fn affine(x: f64) -> f64 {
    2.0 * x + 1.0
}

/// σ(z) = 1 / (1 + e^{−z}), σ'(z) = σ(z)(1 − σ(z)).
#[differentiate]
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// ln σ(2x + 1): d/dx = (1/σ) · σ(1 − σ) · 2 = 2(1 − σ(2x + 1)).
#[differentiate]
fn log_sigmoid_of_affine(x: f64) -> f64 {
    let z = affine(x);
    let s = sigmoid(z);
    s.ln()
}

// ----- 6. Branches -------------------------------------------------------------

/// ReLU: x for x > 0, else 0. The derivative is that of the branch taken.
#[differentiate]
fn relu(x: f64) -> f64 {
    if x > 0.0 { x } else { 0.0 }
}

/// Huber loss: x²/2 for |x| ≤ 1, |x| − 1/2 beyond; derivative x, then ±1.
#[differentiate]
fn huber(x: f64) -> f64 {
    let a = x.abs();
    if a <= 1.0 {
        return 0.5 * x * x;
    }
    a - 0.5
}

// ----- printing helpers -------------------------------------------------------

fn vector(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|value| format!("{value:.6}")).collect();
    format!("[{}]", items.join(", "))
}

/// Prints the generated gradient, the textbook formula and the central
/// differences, and stops the walk-through if they disagree.
fn compare(generated: &[f64], formula: &[f64], f: impl Fn(&[f64]) -> f64, at: &[f64]) {
    let check = fd::check_gradient(f, at, generated);
    println!("    generated (_grad)    {}", vector(generated));
    println!("    formula              {}", vector(formula));
    println!(
        "    central differences  {}   max relative error {:.1e}",
        vector(&check.numeric),
        check.max_relative_error
    );
    check.assert_within(1e-6);
    let formula_check = fd::worst_relative_error(generated, formula).1;
    assert!(formula_check < 1e-12, "generated {generated:?}, formula {formula:?}");
}

fn heading(title: &str) {
    println!();
    println!("{title}");
    println!("{}", "-".repeat(title.chars().count()));
}

fn main() {
    limit_table();
    gradients();
    total_derivative();
    single_variable_rules();
    chain_rule();
    branches();
    println!();
    println!("Every generated derivative agrees with its formula and with central differences.");
}

fn limit_table() {
    heading("1. The derivative as a limit: f(x) = 3x² − 4x at x = 1");
    let (value, exact) = parabola_grad(1.0);
    println!("f(1) = {value}, exact f'(1) = 6·1 − 4 = {exact} (from parabola_grad)");
    println!();
    println!(
        "    {:<10} {:>22} {:>12} {:>12}",
        "h", "(f(1 + h) − f(1)) / h", "f'(1)", "error"
    );
    for row in fd::limit_table(parabola, 1.0, &[0.1, 0.01, 0.001, 0.0001, 0.00001]) {
        println!(
            "    {:<10} {:>22.10} {:>12} {:>12.3e}",
            row.h,
            row.quotient,
            exact,
            row.quotient - exact
        );
    }
    println!("The quotient is 2 + 3h: the error of the forward difference shrinks like h.");
}

fn gradients() {
    heading("2. Gradients");

    let (x, y) = (2.0, 5.0);
    let (value, dx, dy) = three_x_squared_y_grad(x, y);
    println!("f(x, y) = 3x²y at ({x}, {y}) = {value};  ∇f = [6xy, 3x²]");
    compare(
        &[dx, dy],
        &[6.0 * x * y, 3.0 * x * x],
        |v| three_x_squared_y(v[0], v[1]),
        &[x, y],
    );

    let (x, y) = (1.5, 1.1);
    let (value, dx, dy) = two_x_plus_y_pow_8_grad(x, y);
    println!("f(x, y) = 2x + y⁸ at ({x}, {y}) = {value:.6};  ∇f = [2, 8y⁷]");
    compare(
        &[dx, dy],
        &[2.0, 8.0 * y.powi(7)],
        |v| two_x_plus_y_pow_8(v[0], v[1]),
        &[x, y],
    );

    let (x1, x2, x3) = (1.0, 2.0, 3.0);
    let (value, d1, d2, d3) = three_variables_grad(x1, x2, x3);
    println!("f(x₁, x₂, x₃) = x₁² + x₁x₂ + x₂x₃ at ({x1}, {x2}, {x3}) = {value};  ∇f = [2x₁ + x₂, x₁ + x₃, x₂]");
    compare(
        &[d1, d2, d3],
        &[2.0 * x1 + x2, x1 + x3, x2],
        |v| three_variables(v[0], v[1], v[2]),
        &[x1, x2, x3],
    );

    let (x1, x2) = (1.0, 0.5);
    let (value, d1, d2) = square_plus_exp_grad(x1, x2);
    println!("f(x₁, x₂) = 3x₁² + 5e^x₂ at ({x1}, {x2}) = {value:.6};  ∇f = [6x₁, 5e^x₂]");
    compare(
        &[d1, d2],
        &[6.0 * x1, 5.0 * x2.exp()],
        |v| square_plus_exp(v[0], v[1]),
        &[x1, x2],
    );
}

fn total_derivative() {
    heading("3. Total derivative: f(x, y) = x + y along y = x²");
    let x = 3.0;
    let y = square(x);
    let (_, df_dx, df_dy) = add_grad(x, y);
    let (_, dy_dx) = square_grad(x);
    println!("at x = {x}: ∂f/∂x = {df_dx}, ∂f/∂y = {df_dy}, dy/dx = 2x = {dy_dx}");
    println!(
        "df/dx = ∂f/∂x + ∂f/∂y · dy/dx = {df_dx} + {df_dy} · {dy_dx} = {}",
        df_dx + df_dy * dy_dx
    );
    let (value, total) = x_plus_x_squared_grad(x);
    println!("x + x² at {x} = {value};  d/dx = 1 + 2x");
    compare(&[total], &[1.0 + 2.0 * x], |v| x_plus_x_squared(v[0]), &[x]);
}

fn single_variable_rules() {
    heading("4. Single-variable rules");

    let x = 1.2;
    let (value, derivative) = sin_of_square_grad(x);
    println!("sin(x²) at {x} = {value:.6};  d/dx = 2x·cos(x²)");
    compare(&[derivative], &[2.0 * x * (x * x).cos()], |v| sin_of_square(v[0]), &[x]);

    let x = 1.0;
    let (value, derivative) = cube_minus_reciprocal_grad(x);
    println!("x³ − 1/x at {x} = {value};  d/dx = 3x² + 1/x² = 4 at x = 1");
    compare(
        &[derivative],
        &[3.0 * x * x + 1.0 / (x * x)],
        |v| cube_minus_reciprocal(v[0]),
        &[x],
    );

    let x = 1.0;
    let (value, derivative) = quotient_grad(x);
    println!("(x² + 1)/(x + 2) at {x} = {value:.6};  quotient rule: (2x(x + 2) − (x² + 1)) / (x + 2)²");
    compare(
        &[derivative],
        &[(2.0 * x * (x + 2.0) - (x * x + 1.0)) / ((x + 2.0) * (x + 2.0))],
        |v| quotient(v[0]),
        &[x],
    );

    let (a, x) = (2.0, 3.0);
    let (value, derivative) = power_of_grad(a, x);
    println!("aˣ with a = {a} at x = {x} = {value};  d/dx = ln(a)·aˣ (wrt(x): a is a constant)");
    compare(&[derivative], &[a.ln() * a.powf(x)], |v| power_of(a, v[0]), &[x]);
}

fn chain_rule() {
    heading("5. The chain rule across functions: ln σ(2x + 1)");
    let x = 0.25;
    let z = affine(x);
    let s = sigmoid(z);
    let (_, dz_dx) = affine_grad(x);
    let (_, ds_dz) = sigmoid_grad(z);
    let dl_ds = 1.0 / s;
    println!("at x = {x}: z = 2x + 1 = {z}, s = σ(z) = {s:.6}");
    println!("dz/dx = {dz_dx}, ds/dz = σ(1 − σ) = {ds_dz:.6}, d ln(s)/ds = 1/s = {dl_ds:.6}");
    println!(
        "product of the links: {:.6} (each `_pullback` hands its adjoint to the next)",
        dl_ds * ds_dz * dz_dx
    );
    let (value, derivative) = log_sigmoid_of_affine_grad(x);
    println!("ln σ(2x + 1) at {x} = {value:.6};  d/dx = 2(1 − σ(2x + 1))");
    compare(&[derivative], &[2.0 * (1.0 - s)], |v| log_sigmoid_of_affine(v[0]), &[x]);
}

fn branches() {
    heading("6. Branches: the derivative of the branch taken");
    for x in [-1.5, 0.5, 2.0] {
        let (value, derivative) = relu_grad(x);
        println!("relu({x}) = {value};  relu' = 1 for x > 0, else 0");
        let formula = if x > 0.0 { 1.0 } else { 0.0 };
        compare(&[derivative], &[formula], |v| relu(v[0]), &[x]);
    }
    let (_, at_kink) = relu_grad(0.0);
    println!("at the kink x = 0 the else branch runs (0 > 0 is false), so relu'(0) = {at_kink}");
    println!();
    for x in [-2.0, -0.5, 0.75, 3.0] {
        let (value, derivative) = huber_grad(x);
        println!("huber({x}) = {value};  huber' = x for |x| ≤ 1, sign(x) beyond");
        let formula = if x.abs() <= 1.0 { x } else { x.signum() };
        compare(&[derivative], &[formula], |v| huber(v[0]), &[x]);
    }
}
