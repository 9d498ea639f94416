//! The clock and the timing loop of the benchmarks' ratio tables, shared by
//! `benches/gradients.rs` and `adbench/benches/gmm.rs` (included with
//! `#[path]`).
//!
//! Every closure of a table line gets as many calls per batch as fill the
//! batch time, the batches of all closures are interleaved (so that a change
//! of clock speed during the run hits them alike) and the median batch is
//! reported. Time is the thread's CPU time on 64-bit Linux, so that other
//! processes on a busy machine do not blur the ratios (page faults, which
//! the kernel handles on the thread's time, are counted), or the wall clock
//! (`Instant`) elsewhere and with `CHAINRULE_BENCH_WALL_CLOCK=1`.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Batches per closure; the table reports the median.
pub const BATCHES: usize = 15;
/// Whether an environment variable is set to something other than `0`.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The CPU time of this thread (user and system, so page faults count), on
/// 64-bit Linux.
fn thread_cpu_time() -> Option<Duration> {
    cpu_time::ThreadTime::try_now().ok().map(|time| time.as_duration())
}

/// Whether the table is timed with the wall clock ([`Instant`]) rather than
/// the thread's CPU time: with `CHAINRULE_BENCH_WALL_CLOCK=1`, or where the
/// CPU time is not at hand. Both agree on an idle machine; on a busy one, the
/// CPU time leaves out the time the scheduler gives to other processes.
pub static WALL_CLOCK: LazyLock<bool> =
    LazyLock::new(|| env_flag("CHAINRULE_BENCH_WALL_CLOCK") || thread_cpu_time().is_none());

/// The clock the table is timed with.
fn clock() -> Duration {
    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    if *WALL_CLOCK {
        START.elapsed()
    } else {
        thread_cpu_time().unwrap_or_default()
    }
}

/// The time `reps` calls of `f` take.
fn time(f: &mut dyn FnMut(), reps: u32) -> Duration {
    let start = clock();
    (0..reps).for_each(|_| f());
    clock() - start
}

/// The median time per call of each closure, in batches of at least
/// `batch_time` (see the module documentation).
pub fn median_times(closures: &mut [&mut dyn FnMut()], batch_time: Duration) -> Vec<Duration> {
    let reps: Vec<u32> = closures
        .iter_mut()
        .map(|f| {
            f();
            let mut reps = 1_u32;
            loop {
                let elapsed = time(*f, reps);
                if elapsed >= batch_time / 4 || reps >= 1 << 28 {
                    let scale = batch_time.as_secs_f64() / elapsed.as_secs_f64().max(1e-9);
                    break ((f64::from(reps) * scale).ceil() as u32).max(1);
                }
                reps *= 2;
            }
        })
        .collect();
    let mut samples = vec![Vec::with_capacity(BATCHES); closures.len()];
    for _ in 0..BATCHES {
        for ((f, &reps), samples) in closures.iter_mut().zip(&reps).zip(&mut samples) {
            samples.push(time(*f, reps) / reps);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect()
}

/// A time with three significant digits.
pub fn format_time(t: Duration) -> String {
    let seconds = t.as_secs_f64();
    let (value, unit) = match seconds {
        s if s < 1e-6 => (s * 1e9, "ns"),
        s if s < 1e-3 => (s * 1e6, "µs"),
        s if s < 1.0 => (s * 1e3, "ms"),
        s => (s, "s"),
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// `a ÷ b` with two decimals.
pub fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
}

/// What the tables are timed with, for their captions.
pub fn clock_name() -> &'static str {
    if *WALL_CLOCK {
        "wall-clock time"
    } else {
        "thread CPU time"
    }
}
