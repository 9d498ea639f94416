//! Training with generated gradients: linear regression and a ReLU neuron,
//! fitted by gradient descent on synthetic data.
//!
//! Each loss is written once, as an ordinary function, and `#[differentiate]`
//! writes its gradient beside it (`linear_loss_grad`, `neuron_loss_grad`).
//! Before training, the generated gradients are compared with central finite
//! differences (`chainrule::fd`). Then gradient descent,
//!
//! ```text
//! w ← w − η ∂C/∂w,    b ← b − η ∂C/∂b,
//! ```
//!
//! recovers the parameters that generated the data, and the loss curves are
//! drawn to `target/plots/train_neuron_loss.svg`. Run it with
//!
//! ```text
//! cargo run --release --example train_neuron
//! ```

use std::error::Error;
use std::fs;
use std::path::Path;

use chainrule::fd;
use chainrule::prelude::*;
use plotters::prelude::*;

// ----- the models -----------------------------------------------------------
//
// The data set has N samples of d features: the rows xᵢᵀ of the N×d matrix X,
// with targets yᵢ. A model predicts ŷᵢ from xᵢ and is fitted by minimising the
// mean squared error C = (1/N) Σᵢ (yᵢ − ŷᵢ)² = ‖y − ŷ‖² / N.

/// Linear regression, ŷ = Xw, so C(w) = ‖Xw − y‖² / N.
///
/// Generated: `linear_loss_grad(w, x, y) -> (C, ∂C/∂w)` with
/// ∂C/∂w = 2Xᵀ(Xw − y) / N (only `w` is differentiated; X and y are data).
#[differentiate(wrt(w))]
fn linear_loss(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let n = y.nrows() as f64; // N, the number of samples: a constant
    (x * w - y).squared_norm_l2() / n
}

/// One ReLU neuron per sample: ŷ = relu(Xw + b·1), where relu(z) = max(z, 0)
/// element-wise, so C(w, b) = ‖y − relu(Xw + b)‖² / N.
///
/// Generated: `neuron_loss_grad(w, b, x, y) -> (C, ∂C/∂w, ∂C/∂b)`. By the
/// chain rule, with z = Xw + b and the residual r = y − relu(z),
/// ∂C/∂z = −2 r ⊙ relu'(z) / N, where relu'(z) is 1 where z > 0 and 0
/// elsewhere: only active samples pull on the parameters. Then
/// ∂C/∂w = Xᵀ ∂C/∂z and ∂C/∂b = Σᵢ (∂C/∂z)ᵢ.
#[differentiate(wrt(w, b))]
fn neuron_loss(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let n = y.nrows() as f64;
    let a = relu(add_scalar(x * w, b));
    (y - &a).squared_norm_l2() / n
}

// ----- the data ---------------------------------------------------------------

/// The number of samples (rows of X).
const N: usize = 200;
/// The number of features (columns of X).
const D: usize = 3;
/// The parameters that generate the data, which training should recover.
const W_TRUE: [f64; D] = [1.5, -2.0, 0.75];
const B_TRUE: f64 = 0.3;
/// The standard deviation of the noise added to the targets.
const NOISE: f64 = 0.05;

/// A tiny deterministic random number generator (SplitMix64), so that every
/// run sees the same data without depending on a random number crate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on [0, 1): the top 53 bits as the mantissa.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on [lo, hi).
    fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal, by the Box–Muller transform.
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1], so ln(u1) is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

struct Data {
    x: Mat<f64>,
    /// Targets of the linear model: y = X w_true + noise.
    y_linear: Col<f64>,
    /// Targets of the neuron: y = relu(X w_true + b_true) + noise.
    y_neuron: Col<f64>,
}

/// Features uniform on [−1, 1]; targets from the true parameters plus
/// Gaussian noise of standard deviation `NOISE`.
fn synthetic_data(seed: u64) -> Data {
    let mut rng = SplitMix64(seed);
    let x = Mat::from_fn(N, D, |_, _| rng.uniform_in(-1.0, 1.0));
    let w_true = Col::from_fn(D, |j| W_TRUE[j]);
    let xw = &x * &w_true;
    let y_linear = Col::from_fn(N, |i| xw[i] + NOISE * rng.normal());
    let y_neuron = Col::from_fn(N, |i| (xw[i] + B_TRUE).max(0.0) + NOISE * rng.normal());
    Data { x, y_linear, y_neuron }
}

// ----- checking the generated gradients ---------------------------------------

/// Compares `linear_loss_grad` and `neuron_loss_grad` with central finite
/// differences at a few points and returns the worst relative error.
///
/// The checkers of `chainrule::fd` work on flat `&[f64]`: `fd::to_vec`
/// flattens a faer value and `fd::from_vec_like` rebuilds one of the same
/// shape. The neuron's parameters are flattened as [w₁, …, w_d, b].
fn check_gradients(data: &Data) -> f64 {
    let Data { x, y_linear, y_neuron } = data;
    let mut worst: f64 = 0.0;
    println!("Gradient check against central finite differences:");

    let w = Col::from_fn(D, |j| [0.3, -0.7, 1.1][j]);
    let (_, grad_w) = linear_loss_grad(&w, x, y_linear);
    // ∂C/∂w = 2Xᵀ(Xw − y)/N, written out by hand for comparison.
    let by_hand = 2.0 * x.transpose() * (x * &w - y_linear) / N as f64;
    let check = fd::check_gradient(
        |v| linear_loss(&fd::from_vec_like(&w, v), x, y_linear),
        &fd::to_vec(&w),
        &fd::to_vec(&grad_w),
    );
    println!(
        "  linear regression   w = {}: max relative error {:.2e} (vs 2Xᵀ(Xw − y)/N: {:.2e})",
        show(&w),
        check.max_relative_error,
        fd::worst_relative_error(&fd::to_vec(&grad_w), &fd::to_vec(&by_hand)).1,
    );
    worst = worst.max(check.max_relative_error);

    // One point where every sample is active and one where the ReLU is off for
    // part of the samples, so that the mask relu'(z) matters.
    for (w, b) in [([0.1, 0.1, 0.1], 1.0), ([0.5, 0.5, -0.5], 0.1)] {
        let w = Col::from_fn(D, |j| w[j]);
        let (_, grad_w, grad_b) = neuron_loss_grad(&w, b, x, y_neuron);
        let mut point = fd::to_vec(&w);
        point.push(b);
        let mut gradient = fd::to_vec(&grad_w);
        gradient.push(grad_b);
        let check = fd::check_gradient(
            |v| neuron_loss(&fd::from_vec_like(&w, &v[..D]), v[D], x, y_neuron),
            &point,
            &gradient,
        );
        println!(
            "  ReLU neuron         w = {}, b = {b:.1} ({:>3}/{N} active): max relative error {:.2e}",
            show(&w),
            active(&w, b, x),
            check.max_relative_error
        );
        worst = worst.max(check.max_relative_error);
    }
    println!("  worst relative error: {worst:.2e}");
    worst
}

// ----- gradient descent ---------------------------------------------------------

const EPOCHS: usize = 200;
/// The epochs that get a row in the printed tables.
const REPORT_AT: [usize; 13] = [0, 1, 2, 3, 5, 10, 20, 30, 50, 75, 100, 150, 200];

/// Fits the linear model by gradient descent from w = 0; returns w and the
/// loss at every epoch.
///
/// C(w) is a quadratic with Hessian H = 2XᵀX/N ≈ (2/3)·I for features uniform
/// on [−1, 1] (variance 1/3), so every step size η < 2/λ_max(H) ≈ 3 converges;
/// η = 0.5 shrinks the error by about a factor (1 − η·2/3) ≈ 0.67 per epoch.
fn train_linear(data: &Data) -> (Col<f64>, Vec<f64>) {
    let eta = 0.5;
    let mut w = Col::<f64>::zeros(D);
    let mut history = Vec::with_capacity(EPOCHS + 1);
    println!();
    println!("Linear regression, C(w) = ‖Xw − y‖²/N, gradient descent with η = {eta}:");
    println!("  {:>5}  {:>12}  {:>10}   w", "epoch", "loss", "‖∂C/∂w‖");
    for epoch in 0..=EPOCHS {
        let (loss, grad_w) = linear_loss_grad(&w, &data.x, &data.y_linear);
        history.push(loss);
        if REPORT_AT.contains(&epoch) {
            println!(
                "  {epoch:>5}  {loss:>12.6e}  {:>10.3e}   {}",
                grad_w.norm_l2(),
                show(&w)
            );
        }
        if epoch < EPOCHS {
            // The step against the gradient: w ← w − η ∂C/∂w.
            w -= eta * &grad_w;
        }
    }
    (w, history)
}

/// Fits the ReLU neuron by gradient descent; returns w, b and the loss at
/// every epoch.
///
/// A ReLU that is off for every sample has zero gradient and never recovers
/// (a "dead" neuron), so start where it is on for all of them: small weights
/// and a positive bias, z = Xw + b ≥ 1 − 0.3 > 0. Gradient descent then
/// switches off the samples whose targets are ≈ 0.
fn train_neuron(data: &Data) -> (Col<f64>, f64, Vec<f64>) {
    let eta = 0.5;
    let mut w = Col::from_fn(D, |_| 0.1);
    let mut b = 1.0;
    let mut history = Vec::with_capacity(EPOCHS + 1);
    println!();
    println!("ReLU neuron, C(w, b) = ‖y − relu(Xw + b)‖²/N, gradient descent with η = {eta}");
    println!("(active: the samples with xᵢᵀw + b > 0, the only ones with a gradient):");
    println!(
        "  {:>5}  {:>12}  {:>10}  {:>10}  {:>7}   w, b",
        "epoch", "loss", "‖∂C/∂w‖", "|∂C/∂b|", "active"
    );
    for epoch in 0..=EPOCHS {
        let (loss, grad_w, grad_b) = neuron_loss_grad(&w, b, &data.x, &data.y_neuron);
        history.push(loss);
        if REPORT_AT.contains(&epoch) {
            println!(
                "  {epoch:>5}  {loss:>12.6e}  {:>10.3e}  {:>10.3e}  {:>7}   {}, {b:.4}",
                grad_w.norm_l2(),
                grad_b.abs(),
                active(&w, b, &data.x),
                show(&w)
            );
        }
        if epoch < EPOCHS {
            // w ← w − η ∂C/∂w,  b ← b − η ∂C/∂b.
            w -= eta * &grad_w;
            b -= eta * grad_b;
        }
    }
    (w, b, history)
}

fn main() -> Result<(), Box<dyn Error>> {
    let start = std::time::Instant::now();
    let data = synthetic_data(0x5EED);
    println!("Synthetic data: N = {N} samples, d = {D} features uniform on [−1, 1], noise σ = {NOISE}");
    println!("  true w = {:?}, true b = {B_TRUE}", W_TRUE);
    println!();

    let worst = check_gradients(&data);
    assert!(worst < 1e-6, "a generated gradient disagrees with finite differences");

    let (w_linear, linear_history) = train_linear(&data);
    let (w_neuron, b_neuron, neuron_history) = train_neuron(&data);

    println!();
    println!("Recovered parameters (the noise keeps them from being exact):");
    println!(
        "  {:<10} {:>10} {:>12} {:>12}",
        "parameter", "true", "recovered", "error"
    );
    let row = |name: String, truth: f64, recovered: f64| {
        println!(
            "  {name:<10} {truth:>10.4} {recovered:>12.4} {:>12.2e}",
            (recovered - truth).abs()
        );
    };
    for j in 0..D {
        row(format!("linear w{}", j + 1), W_TRUE[j], w_linear[j]);
    }
    for j in 0..D {
        row(format!("neuron w{}", j + 1), W_TRUE[j], w_neuron[j]);
    }
    row("neuron b".to_string(), B_TRUE, b_neuron);
    let w_true = Col::from_fn(D, |j| W_TRUE[j]);
    println!(
        "Active samples: {} of {N} with the true parameters, {} with the recovered ones",
        active(&w_true, B_TRUE, &data.x),
        active(&w_neuron, b_neuron, &data.x)
    );
    println!(
        "Final losses: linear {:.4e}, neuron {:.4e} (the noise floor σ² = {:.4e})",
        linear_history[EPOCHS],
        neuron_history[EPOCHS],
        NOISE * NOISE
    );

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots/train_neuron_loss.svg");
    plot_losses(&path, &linear_history, &neuron_history)?;
    println!();
    println!("loss curves written to {}", path.display());
    println!("done in {:.2?}", start.elapsed());
    Ok(())
}

// ----- helpers -------------------------------------------------------------------

/// How many samples the neuron is active for (zᵢ = xᵢᵀw + b > 0).
fn active(w: &Col<f64>, b: f64, x: &Mat<f64>) -> usize {
    let z = add_scalar(x * w, b);
    z.iter().filter(|&&z| z > 0.0).count()
}

/// A vector as `[a, b, c]` with four decimals.
fn show(v: &Col<f64>) -> String {
    let items: Vec<String> = v.iter().map(|value| format!("{value:7.4}")).collect();
    format!("[{}]", items.join(", "))
}

/// Both loss curves against the epoch, on a logarithmic loss axis.
fn plot_losses(path: &Path, linear: &[f64], neuron: &[f64]) -> Result<(), Box<dyn Error>> {
    fs::create_dir_all(path.parent().expect("the plot path has a directory"))?;
    // The loss axis spans whole decades around every value plotted (a little
    // more at the bottom, so that the lowest decade gets its label).
    let all = linear.iter().chain(neuron);
    let y_min = 0.9 * 10f64.powf(all.clone().fold(f64::INFINITY, |m, &v| m.min(v)).log10().floor());
    let y_max = 10f64.powf(all.fold(0.0_f64, |m, &v| m.max(v)).log10().ceil());

    let root = SVGBackend::new(path, (800, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Gradient descent on the mean squared error", ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0..EPOCHS, (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss C (log scale)")
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .y_label_formatter(&|y| format!("{y}"))
        .light_line_style(TRANSPARENT)
        .draw()?;

    let noise_floor = NOISE * NOISE;
    chart
        .draw_series(LineSeries::new(
            [(0, noise_floor), (EPOCHS, noise_floor)],
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("noise floor σ²")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    chart
        .draw_series(LineSeries::new(
            linear.iter().copied().enumerate(),
            BLUE.stroke_width(2),
        ))?
        .label("linear regression ‖Xw − y‖²/N")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(neuron.iter().copied().enumerate(), RED.stroke_width(2)))?
        .label("ReLU neuron ‖y − relu(Xw + b)‖²/N")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
