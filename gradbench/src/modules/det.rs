//! `det`: the determinant of an ℓ×ℓ matrix by expansion of minors along the
//! first row, as GradBench's reference computes it (O(ℓ!) operations, no
//! minor computed once and reused). `primal` returns it, `gradient` the
//! generated gradient with respect to the matrix, row-major.
//!
//! [`det`] is written as one loop over the choices of columns for all rows
//! but the last five, with the 5×5 minor of those rows expanded in place:
//! see its documentation for why.

use chainrule::differentiate;
use serde::Deserialize;
use serde_json::Value;

use super::{Evaluated, Module, check_runs, number, numbers, parse_input};
use crate::runs::Runs;

pub const MODULE: Module = Module {
    name: "det",
    functions: &["primal", "gradient"],
    evaluate,
};

/// The largest ℓ accepted: expansion by minors takes ℓ! products, and 13!
/// is about 6·10⁹.
pub const MAX_ELL: usize = 12;

/// The size of the trailing block that [`det`] writes out.
pub const BLOCK: usize = 5;

/// The number of ways to choose the columns of the first ℓ − 5 rows:
/// ℓ!/5!.
pub fn prefix_count(ell: usize) -> usize {
    (BLOCK + 1..=ell).product()
}

/// The first choice of columns, `0, 1, …, ℓ − 1` (see [`next_prefix`]).
pub fn first_prefix(ell: usize) -> [u8; MAX_ELL] {
    let mut cols = [0; MAX_ELL];
    for (k, slot) in (0..).zip(cols.iter_mut().take(ell)) {
        *slot = k;
    }
    cols
}

/// The next choice in lexicographic order: `cols[..ℓ − 5]` are distinct
/// columns for the first ℓ − 5 rows, `cols[ℓ − 5..ℓ]` the five columns left,
/// in increasing order. After the last choice, returns it unchanged.
pub fn next_prefix(mut cols: [u8; MAX_ELL], ell: usize) -> [u8; MAX_ELL] {
    let ell = ell as u8;
    // The rightmost prefix position that can take a larger unused column.
    let mut t = usize::from(ell) - BLOCK;
    while t > 0 {
        t -= 1;
        let used = cols[..t].iter().fold(0u32, |mask, &c| mask | 1 << c);
        if let Some(next) = (cols[t] + 1..ell).find(|&c| used & 1 << c == 0) {
            cols[t] = next;
            let used = used | 1 << next;
            // The rest in increasing order: the unused columns.
            let free = (0..ell).filter(|&c| used & 1 << c == 0);
            for (slot, c) in cols[t + 1..usize::from(ell)].iter_mut().zip(free) {
                *slot = c;
            }
            return cols;
        }
    }
    cols
}

/// Whether the permutation `cols[..ℓ]` of `0..ℓ` is odd.
pub fn is_odd(cols: [u8; MAX_ELL], ell: usize) -> bool {
    let mut later = 0u32;
    let mut inversions = 0;
    for &c in cols[..ell].iter().rev() {
        inversions += (later & ((1 << c) - 1)).count_ones();
        later |= 1 << c;
    }
    inversions % 2 == 1
}

/// The determinant of the row-major ℓ×ℓ matrix `a`, 5 ≤ ℓ ≤ [`MAX_ELL`], by
/// expansion of minors along the first row, as GradBench's reference computes
/// it (ℓ! products, no minor computed once and reused).
///
/// Expanding along the first row, then along the first row of each minor,
/// and so on down to the last five rows, is the sum over the ℓ!/5! choices of
/// distinct columns `c₀ … c_{ℓ−6}` for the first ℓ − 5 rows of
/// `±a[0, c₀]⋯a[ℓ−6, c_{ℓ−6}]` times the 5×5 minor of the last five rows on
/// the columns left. That is one loop, over the choices; the 5×5 minor is
/// expanded along its first row by a loop over its columns, and its 4×4
/// minors, with their 3×3 and 2×2 minors, are written out. Every column index
/// is then a plain function of the choice and the loop counter, which the
/// generated adjoint recomputes instead of keeping.
#[differentiate(wrt(a))]
pub fn det(a: &[f64], ell: usize) -> f64 {
    let m = ell - BLOCK;
    // The rows of the 5×5 block.
    let r0 = m * ell;
    let r1 = r0 + ell;
    let r2 = r1 + ell;
    let r3 = r2 + ell;
    let r4 = r3 + ell;
    let mut det = 0.0;
    let mut cols = first_prefix(ell);
    for _ in 0..prefix_count(ell) {
        let mut product = if is_odd(cols, ell) { -1.0 } else { 1.0 };
        for t in 0..m {
            product *= a[t * ell + cols[t] as usize];
        }
        // The 5×5 block on the columns cols[m..m + 5], expanded along its
        // first row: Σⱼ (−1)ʲ a[r0, bⱼ] Mⱼ, summed from the last term as
        // `block = a[r0, bⱼ] Mⱼ − block`.
        let mut block = 0.0;
        for j in (0..BLOCK).rev() {
            // Mⱼ: the 4×4 minor on rows r1..r4 without column bⱼ; its entries
            // are x_rc, row r of the block, column c of the minor.
            let c0 = cols[m + (j == 0) as usize] as usize;
            let c1 = cols[m + 1 + (j <= 1) as usize] as usize;
            let c2 = cols[m + 2 + (j <= 2) as usize] as usize;
            let c3 = cols[m + 3 + (j <= 3) as usize] as usize;
            let x10 = a[r1 + c0];
            let x11 = a[r1 + c1];
            let x12 = a[r1 + c2];
            let x13 = a[r1 + c3];
            let x20 = a[r2 + c0];
            let x21 = a[r2 + c1];
            let x22 = a[r2 + c2];
            let x23 = a[r2 + c3];
            let x30 = a[r3 + c0];
            let x31 = a[r3 + c1];
            let x32 = a[r3 + c2];
            let x33 = a[r3 + c3];
            let x40 = a[r4 + c0];
            let x41 = a[r4 + c1];
            let x42 = a[r4 + c2];
            let x43 = a[r4 + c3];
            // The 2×2 minors of rows 3 and 4 on columns (p, q), p < q, then
            // the 3×3 minors on rows 2–4, each expanded along row 2 into
            // three of them (the six are shared by the four 3×3 minors).
            let m01 = x30 * x41 - x31 * x40;
            let m02 = x30 * x42 - x32 * x40;
            let m03 = x30 * x43 - x33 * x40;
            let m12 = x31 * x42 - x32 * x41;
            let m13 = x31 * x43 - x33 * x41;
            let m23 = x32 * x43 - x33 * x42;
            let minor0 = x21 * m23 - x22 * m13 + x23 * m12;
            let minor1 = x20 * m23 - x22 * m03 + x23 * m02;
            let minor2 = x20 * m13 - x21 * m03 + x23 * m01;
            let minor3 = x20 * m12 - x21 * m02 + x22 * m01;
            let minor = x10 * minor0 - x11 * minor1 + x12 * minor2 - x13 * minor3;
            block = a[r0 + cols[m + j] as usize] * minor - block;
        }
        det += product * block;
        cols = next_prefix(cols, ell);
    }
    det
}

/// `a` (ℓ×ℓ, row-major) with an identity block appended when ℓ < 5, so that
/// [`det`] applies: the determinant and the derivatives with respect to the
/// original entries are unchanged.
pub fn padded(a: &[f64], ell: usize) -> (Vec<f64>, usize) {
    if ell >= BLOCK {
        return (a.to_vec(), ell);
    }
    let mut out = vec![0.0; BLOCK * BLOCK];
    for i in 0..BLOCK {
        for j in 0..BLOCK {
            out[i * BLOCK + j] = if i < ell && j < ell {
                a[i * ell + j]
            } else if i == j {
                1.0
            } else {
                0.0
            };
        }
    }
    (out, BLOCK)
}

/// The generated gradient of [`det`] at `a`, for any 1 ≤ ℓ ≤ [`MAX_ELL`].
pub fn det_gradient(a: &[f64], ell: usize) -> Vec<f64> {
    if ell >= BLOCK {
        return det_grad(a, ell).1;
    }
    let (padded, size) = padded(a, ell);
    let gradient = det_grad(&padded, size).1;
    (0..ell * ell).map(|k| gradient[(k / ell) * size + k % ell]).collect()
}

/// [`det`] for any 1 ≤ ℓ ≤ [`MAX_ELL`].
pub fn det_value(a: &[f64], ell: usize) -> f64 {
    if ell >= BLOCK {
        return det(a, ell);
    }
    let (padded, size) = padded(a, ell);
    det(&padded, size)
}

/// The input of both functions: `A` row-major and its edge `ell`.
#[derive(Debug, Deserialize)]
pub struct Input {
    #[serde(rename = "A")]
    pub a: Vec<f64>,
    pub ell: usize,
    #[serde(flatten)]
    pub runs: Runs,
}

fn evaluate(function: &str, input: Value) -> Result<Evaluated, String> {
    if !MODULE.functions.contains(&function) {
        return Err(MODULE.unknown_function(function));
    }
    let input: Input = parse_input("det", input)?;
    check_runs(&input.runs)?;
    let ell = input.ell;
    if ell == 0 || ell > MAX_ELL {
        return Err(format!(
            "ell = {ell}: expansion by minors is implemented for 1 ≤ ℓ ≤ {MAX_ELL} (it takes ℓ! products)"
        ));
    }
    if input.a.len() != ell * ell {
        return Err(format!(
            "`A` has {} entries where ell² = {} were expected",
            input.a.len(),
            ell * ell
        ));
    }
    let a = input.a.as_slice();
    let (output, timings) = if function == "primal" {
        let (value, timings) = input.runs.repeat(a, |a| det_value(a, ell));
        (number(value), timings)
    } else {
        let (gradient, timings) = input.runs.repeat(a, |a| det_gradient(a, ell));
        (numbers(&gradient), timings)
    };
    Ok(Evaluated { output, timings })
}
