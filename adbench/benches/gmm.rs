//! What the gradient generated for ADBench's GMM objective costs, next to the
//! objective itself, to a gradient written by hand and to central finite
//! differences, and the same ratios for a long scalar loop with a
//! loop-carried value.
//!
//! Workloads:
//! - `gmm/1k/gmm_d2_K5` (30 parameters) and `gmm/1k/gmm_d10_K25` (1650
//!   parameters), N = 1000 points, from `../shared/data/adbench/` relative
//!   to the workspace root (skipped with a message when absent);
//! - [`long_loop`]: 10⁶ iterations of `s = c·s + sin(x_i·s)`, differentiated
//!   with respect to all of `x` and to `a` (c = cos a).
//!
//! Before anything is timed, the generated gradients are checked against
//! central finite differences (all coordinates for d2_K5, a spread subset
//! for d10_K25 and the long loop), so no benchmark measures wrong code.
//!
//! ```text
//! cargo bench -p chainrule-adbench --bench gmm                               # table, then divan
//! CHAINRULE_BENCH_TABLE_ONLY=1 cargo bench -p chainrule-adbench --bench gmm  # the table only
//! ```
//!
//! The table (medians of interleaved batches in the same run, one thread,
//! timed as `benches/timing` describes) is printed first and written to
//! `target/gmm-bench-table.md`; divan's report follows, with allocation
//! counts.

use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use chainrule::differentiate;
use chainrule::fd;
use chainrule_adbench::gmm::GmmInput;
use divan::Bencher;

#[path = "../../benches/timing/mod.rs"]
mod timing;
use timing::{BATCHES, clock_name, env_flag, format_time, median_times, ratio};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

// ----- workloads ---------------------------------------------------------------

/// The GMM instances, relative to the data folder.
const INSTANCES: [&str; 2] = ["gmm/1k/gmm_d2_K5.txt", "gmm/1k/gmm_d10_K25.txt"];

/// Coordinates differenced to estimate the finite-difference time of an
/// instance with more parameters than this.
const FD_SUBSET: usize = 50;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/adbench"))
}

/// The instances that could be read, by name.
static GMM: LazyLock<Vec<(&'static str, GmmInput)>> = LazyLock::new(|| {
    let dir = data_dir();
    if !dir.join("gmm").is_dir() {
        eprintln!(
            "the ADBench data folder {} is absent: skipping the GMM benchmarks",
            dir.display()
        );
        return Vec::new();
    }
    INSTANCES
        .iter()
        .map(|&name| {
            let path = dir.join(name);
            let input = GmmInput::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (short_name(name), input)
        })
        .collect()
});

/// `gmm/1k/gmm_d2_K5.txt` → `d2_K5`.
fn short_name(name: &'static str) -> &'static str {
    name.rsplit('/')
        .next()
        .and_then(|file| file.strip_prefix("gmm_"))
        .and_then(|file| file.strip_suffix(".txt"))
        .unwrap_or(name)
}

fn gmm(name: &str) -> Option<&'static GmmInput> {
    GMM.iter().find(|(n, _)| *n == name).map(|(_, input)| input)
}

/// The coordinates differenced for the finite-difference time: all of them,
/// or [`FD_SUBSET`] spread evenly.
fn fd_coordinates(count: usize) -> Vec<usize> {
    if count <= FD_SUBSET {
        (0..count).collect()
    } else {
        (0..FD_SUBSET).map(|i| i * count / FD_SUBSET).collect()
    }
}

/// Central differences of the GMM objective at `coordinates`: two objective
/// evaluations each, as [`fd::central_gradient`] does for every coordinate.
fn gmm_fd(input: &GmmInput, point: &mut [f64], coordinates: &[usize]) -> Vec<f64> {
    coordinates
        .iter()
        .map(|&i| {
            let x = point[i];
            let h = fd::central_step(x);
            point[i] = x + h;
            let forward = input.objective_at(point);
            point[i] = x - h;
            let backward = input.objective_at(point);
            point[i] = x;
            (forward - backward) / (2.0 * h)
        })
        .collect()
}

/// Iterations of [`long_loop`].
const LOOP_LEN: usize = 1_000_000;

/// s ← c·s + sin(x_i·s) for every x_i, c = cos a, from s = ½. With
/// |x_i| ≤ ½ and c ≈ 0.36, |∂s_{i+1}/∂s_i| ≤ 0.87: values and derivatives
/// stay bounded over 10⁶ steps.
#[differentiate]
fn long_loop(x: &[f64], a: f64) -> f64 {
    let c = a.cos();
    let mut s = 0.5;
    for &xi in x {
        s = c * s + (xi * s).sin();
    }
    s
}

/// The gradient of [`long_loop`] written by hand: the forward pass keeps
/// every `s_i`, the backward pass runs
/// `x̄_i = s̄·cos(x_i s_i)·s_i`, `c̄ += s̄·s_i`, `s̄ ← s̄·(c + cos(x_i s_i)·x_i)`,
/// and `ā = −sin(a)·c̄`.
fn long_loop_hand_gradient(x: &[f64], a: f64) -> (f64, Vec<f64>, f64) {
    let c = a.cos();
    let mut states = Vec::with_capacity(x.len());
    let mut s = 0.5;
    for &xi in x {
        states.push(s);
        s = c * s + (xi * s).sin();
    }
    let mut grad_x = vec![0.0; x.len()];
    let mut s_bar = 1.0;
    let mut c_bar = 0.0;
    for ((&xi, &si), gi) in x.iter().zip(&states).zip(&mut grad_x).rev() {
        let slope = (xi * si).cos();
        *gi = s_bar * slope * si;
        c_bar += s_bar * si;
        s_bar *= c + slope * xi;
    }
    (s, grad_x, -a.sin() * c_bar)
}

/// The point of [`long_loop`]: x_i uniform in [−½, ½], a = 1.2.
static LOOP_X: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let mut state = 0x00c0_ffee_u64;
    (0..LOOP_LEN)
        .map(|_| {
            // SplitMix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1_u64 << 53) as f64 - 0.5
        })
        .collect()
});
const LOOP_A: f64 = 1.2;

// ----- checks -----------------------------------------------------------------

/// The generated gradients against central differences (worst relative error
/// 1e-6, as `fd::check_gradient` measures it) before anything is timed.
fn verify() {
    for (name, input) in GMM.iter() {
        let (value, gradient) = input.gradient();
        assert_eq!(value, input.objective(), "{name}: the gradient's value");
        let reference = input.reference_objective();
        assert!(
            (value - reference).abs() <= 1e-12 * reference.abs(),
            "{name}: objective {value:e}, reference {reference:e}"
        );
        let coordinates = fd_coordinates(gradient.len());
        let numeric = gmm_fd(input, &mut input.parameters(), &coordinates);
        let analytic: Vec<f64> = coordinates.iter().map(|&i| gradient[i]).collect();
        // The error measure of `fd::check_gradient`, with the floor taken
        // from the whole gradient rather than from the subset differenced.
        // At |E| ≈ 2.6e4 (d10_K25) the central quotient's rounding error,
        // ε·|E|/h with h ≈ 6e-6, is about 1e-6 in absolute terms: 1e-5 relative
        // for the smallest derivatives (≈ 0.1) of the subset.
        let floor = 1e-6 * gradient.iter().fold(1e-300_f64, |m, g| m.max(g.abs()));
        for ((&i, a), n) in coordinates.iter().zip(&analytic).zip(&numeric) {
            let error = (a - n).abs() / a.abs().max(n.abs()).max(floor);
            assert!(
                error <= 2e-5,
                "{name}: gradient coordinate {i} is {a:e}, central differences give {n:e} (relative error {error:e})"
            );
        }
    }

    for (name, input) in GMM.iter() {
        let (value, generated) = input.gradient();
        let (hand_value, by_hand) = input.hand_gradient();
        let scale = generated.iter().fold(1.0_f64, |m, g| m.max(g.abs()));
        assert!(
            (value - hand_value).abs() <= 1e-12 * value.abs(),
            "{name}: hand-written value"
        );
        assert!(
            generated
                .iter()
                .zip(&by_hand)
                .all(|(g, h)| (g - h).abs() <= 1e-10 * scale),
            "{name}: the hand-written gradient differs from the generated one"
        );
    }

    let x = &LOOP_X[..];
    let (value, grad_x, grad_a) = long_loop_grad(x, LOOP_A);
    assert_eq!(value, long_loop(x, LOOP_A));
    let (hand_value, hand_x, hand_a) = long_loop_hand_gradient(x, LOOP_A);
    assert_eq!(hand_value, value, "long loop: hand-written value");
    let (_, hand_error) =
        fd::worst_relative_error(&[&grad_x[..], &[grad_a]].concat(), &[&hand_x[..], &[hand_a]].concat());
    assert!(
        hand_error <= 1e-9,
        "long loop: the hand-written gradient differs from the generated one by {hand_error:e}"
    );
    assert!(value.is_finite() && grad_a.is_finite() && grad_x.iter().all(|g| g.is_finite()));
    let mut analytic = vec![grad_a];
    let mut numeric = vec![fd::central_difference(
        |a| long_loop(x, a),
        LOOP_A,
        fd::central_step(LOOP_A),
    )];
    let mut point = x.to_vec();
    for i in [0, 1, 17, LOOP_LEN / 2, LOOP_LEN - 2, LOOP_LEN - 1] {
        let xi = x[i];
        let h = fd::central_step(xi);
        point[i] = xi + h;
        let forward = long_loop(&point, LOOP_A);
        point[i] = xi - h;
        let backward = long_loop(&point, LOOP_A);
        point[i] = xi;
        numeric.push((forward - backward) / (2.0 * h));
        analytic.push(grad_x[i]);
    }
    let (worst, error) = fd::worst_relative_error(&analytic, &numeric);
    assert!(
        error <= 1e-6,
        "long loop: coordinate {worst} of the check differs from central differences by {error:e}"
    );
}

// ----- the ratio table --------------------------------------------------------

/// The least time of one batch, with as many calls as that takes.
const BATCH_TIME: Duration = Duration::from_millis(20);

/// How the finite-difference time of a line was obtained.
enum FiniteDifferences {
    /// Every coordinate differenced.
    Measured(Duration),
    /// `subset` of `total` coordinates differenced, the time scaled by
    /// `total / subset`.
    Estimated {
        time: Duration,
        subset: usize,
        total: usize,
    },
    /// Not timed.
    None,
}

/// One line of the table.
struct Line {
    workload: String,
    parameters: usize,
    primal: Duration,
    gradient: Duration,
    hand_written: Duration,
    finite_differences: FiniteDifferences,
}

fn measure() -> Vec<Line> {
    let mut lines = Vec::new();
    for (name, input) in GMM.iter() {
        let coordinates = fd_coordinates(input.parameter_count());
        let mut point = input.parameters();
        let times = median_times(
            &mut [
                &mut || {
                    black_box(black_box(input).objective());
                },
                &mut || {
                    black_box(black_box(input).gradient());
                },
                &mut || {
                    black_box(gmm_fd(black_box(input), &mut point, &coordinates));
                },
                &mut || {
                    black_box(black_box(input).hand_gradient());
                },
            ],
            BATCH_TIME,
        );
        let total = input.parameter_count();
        let finite_differences = if coordinates.len() == total {
            FiniteDifferences::Measured(times[2])
        } else {
            FiniteDifferences::Estimated {
                time: times[2].mul_f64(total as f64 / coordinates.len() as f64),
                subset: coordinates.len(),
                total,
            }
        };
        lines.push(Line {
            workload: format!("GMM {name}, N = {}", input.n),
            parameters: total,
            primal: times[0],
            gradient: times[1],
            hand_written: times[3],
            finite_differences,
        });
    }

    let x = &LOOP_X[..];
    let times = median_times(
        &mut [
            &mut || {
                black_box(long_loop(black_box(x), black_box(LOOP_A)));
            },
            &mut || {
                black_box(long_loop_grad(black_box(x), black_box(LOOP_A)));
            },
            &mut || {
                black_box(long_loop_hand_gradient(black_box(x), black_box(LOOP_A)));
            },
        ],
        BATCH_TIME,
    );
    lines.push(Line {
        workload: "long scalar loop `s = c·s + sin(xᵢ·s)`, 10⁶ iterations".to_owned(),
        parameters: LOOP_LEN + 1,
        primal: times[0],
        gradient: times[1],
        hand_written: times[2],
        finite_differences: FiniteDifferences::None,
    });
    lines
}

fn markdown(lines: &[Line]) -> String {
    let mut table = String::from(
        "| workload | parameters | objective | generated `_grad` | gradient ÷ objective | hand-written gradient | \
         hand-written ÷ objective | generated ÷ hand-written | central FD | FD ÷ objective |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut notes = Vec::new();
    for l in lines {
        let (fd_time, fd_ratio) = match l.finite_differences {
            FiniteDifferences::Measured(time) => (format_time(time), ratio(time, l.primal)),
            FiniteDifferences::Estimated { time, subset, total } => {
                notes.push(format!(
                    "{}: central FD estimated from {subset} of the {total} coordinates (2 × {subset} objective \
                     evaluations, spread evenly), the time scaled by {total}/{subset}.",
                    l.workload
                ));
                (
                    format!("≈ {} (est.)", format_time(time)),
                    format!("≈ {}", ratio(time, l.primal)),
                )
            }
            FiniteDifferences::None => ("—".to_owned(), "—".to_owned()),
        };
        table += &format!(
            "| {} | {} | {} | {} | **{}** | {} | {} | {} | {} | {} |\n",
            l.workload,
            l.parameters,
            format_time(l.primal),
            format_time(l.gradient),
            ratio(l.gradient, l.primal),
            format_time(l.hand_written),
            ratio(l.hand_written, l.primal),
            ratio(l.gradient, l.hand_written),
            fd_time,
            fd_ratio,
        );
    }
    table += &format!(
        "\nMedian {} per call over {BATCHES} interleaved batches of at least {} ms each, one thread. The gradient \
         returns the value too. Hand-written: the gradient derived by hand (`chainrule_adbench::gmm_hand`, one pass \
         over the points with the closed-form derivatives; for the long loop, a forward pass keeping every state \
         and a backward pass), checked against the generated one first. Central FD: 2 objective evaluations per \
         parameter.\n",
        clock_name(),
        BATCH_TIME.as_millis()
    );
    for note in notes {
        table += &format!("{note}\n");
    }
    if !GMM.is_empty() {
        table += "The checks run first, and the long loop's 10⁶-entry tapes raise glibc's mmap and trim thresholds, so the \
              GMM tapes' pages stay mapped from one call to the next; in a fresh process the smaller tapes can be \
              unmapped and faulted in again on every call (slower, for d2_K5 up to about twice).\n";
    }

    table
}

fn main() {
    verify();

    let table_only = env_flag("CHAINRULE_BENCH_TABLE_ONLY");
    // `cargo bench` passes `--bench`; `cargo test` runs this binary without it
    // (divan then runs every benchmark once, as a test) and needs no table.
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");

    if table_only || benchmarking {
        let table = markdown(&measure());
        println!("{table}");
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/gmm-bench-table.md"));
        let written = std::fs::create_dir_all(path.parent().expect("a directory"))
            .and_then(|()| std::fs::File::create(&path))
            .and_then(|mut file| file.write_all(table.as_bytes()));
        match written {
            Ok(()) => println!("(written to {})\n", path.display()),
            Err(error) => eprintln!("could not write {}: {error}", path.display()),
        }
    }
    if !table_only {
        divan::main();
    }
}

// ----- divan --------------------------------------------------------------------

/// The instance names divan runs; empty without the data folder.
fn instance_names() -> Vec<&'static str> {
    GMM.iter().map(|(name, _)| *name).collect()
}

mod gmm_objective {
    use super::*;

    #[divan::bench(args = instance_names())]
    fn objective(bencher: Bencher, name: &str) {
        let input = gmm(name).expect("a loaded instance");
        bencher.bench_local(|| black_box(input).objective());
    }

    #[divan::bench(args = instance_names())]
    fn gradient(bencher: Bencher, name: &str) {
        let input = gmm(name).expect("a loaded instance");
        bencher.bench_local(|| black_box(input).gradient());
    }

    /// Every coordinate for d2_K5; [`FD_SUBSET`] of them for d10_K25.
    #[divan::bench(args = instance_names(), sample_count = 20)]
    fn finite_differences(bencher: Bencher, name: &str) {
        let input = gmm(name).expect("a loaded instance");
        let coordinates = fd_coordinates(input.parameter_count());
        let mut point = input.parameters();
        bencher.bench_local(|| gmm_fd(black_box(input), &mut point, &coordinates));
    }
}

mod long_scalar_loop {
    use super::*;

    #[divan::bench(sample_count = 30)]
    fn primal(bencher: Bencher) {
        let x = &LOOP_X[..];
        bencher.bench_local(|| long_loop(black_box(x), black_box(LOOP_A)));
    }

    #[divan::bench(sample_count = 30)]
    fn gradient(bencher: Bencher) {
        let x = &LOOP_X[..];
        bencher.bench_local(|| long_loop_grad(black_box(x), black_box(LOOP_A)));
    }
}
