//! The repetition rule of the evals and the timings a reply carries.
//!
//! Every eval whose input has `min_runs` and `min_seconds` wants the function
//! run at least `min_runs` times *and* until the summed run time reaches
//! `min_seconds`, with one `{"name": "evaluate", "nanoseconds": ..}` timing
//! per run, and the last output returned. Only the computation is timed: the
//! caller prepares the input before and serialises the output after.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One entry of a reply's `timings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timing {
    pub name: &'static str,
    pub nanoseconds: u64,
}

/// `min_runs` and `min_seconds` as the evals send them. `min_seconds` is any
/// JSON number (`1` by default, `0.1` when overridden). Both are optional:
/// without them a function runs once.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Runs {
    #[serde(default = "one")]
    pub min_runs: u64,
    #[serde(default)]
    pub min_seconds: f64,
}

fn one() -> u64 {
    1
}

impl Default for Runs {
    fn default() -> Self {
        Runs {
            min_runs: 1,
            min_seconds: 0.0,
        }
    }
}

impl Runs {
    /// Checks the values: `min_seconds` must be a finite number ≥ 0.
    pub fn validate(&self) -> Result<(), String> {
        if !self.min_seconds.is_finite() || self.min_seconds < 0.0 {
            return Err(format!(
                "min_seconds must be a finite number ≥ 0, not {}",
                self.min_seconds
            ));
        }
        Ok(())
    }

    /// Runs `f` on `input` as often as the rule asks (at least once), timing
    /// each call alone; returns the last output and one timing per call.
    ///
    /// The input and each output pass through [`black_box`] so that no run is
    /// optimised away; the previous output is dropped outside the timed
    /// region.
    pub fn repeat<I: ?Sized, O>(&self, input: &I, mut f: impl FnMut(&I) -> O) -> (O, Vec<Timing>) {
        let min_time = Duration::from_secs_f64(self.min_seconds);
        let mut timings = Vec::new();
        let mut total = Duration::ZERO;
        // The previous output, dropped when the next one replaces it: outside
        // the timed region.
        let mut _previous: Option<O>;
        loop {
            let start = Instant::now();
            let output = black_box(f(black_box(input)));
            let elapsed = start.elapsed();
            total += elapsed;
            timings.push(Timing {
                name: "evaluate",
                nanoseconds: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            });
            if timings.len() as u64 >= self.min_runs && total >= min_time {
                return (output, timings);
            }
            _previous = Some(output);
        }
    }
}
