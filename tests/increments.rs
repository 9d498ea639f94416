//! In-place increments `b[i] += e` and `b[i] -= e` (`increments.rs` in the macro: the
//! adjoint leaves the element's adjoint as it is instead of clearing and
//! refilling it), and look-alikes that must be treated as a plain overwrite:
//! an element written between the read and the store, a different index.
//! Every function is checked against central finite differences at random
//! points, through `_grad`, `_vjp` and `_pullback`.

// `b[i] = b[i] + e` is written out on purpose: it is one of the forms tested.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

#[macro_use]
mod common;

use chainrule::prelude::*;

/// `+=` at a variable index and at a constant one, an increment whose
/// summand reads the same element again, and `b[i] = b[i] + e` written out.
#[differentiate(wrt(x))]
fn increments(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n];
    for i in 0..n {
        b[i] = x[i] * x[i];
    }
    for i in 0..n {
        for j in 0..n {
            b[j] += x[i].sin() * x[j];
        }
        b[0] += x[i];
        b[i] += b[i] * x[(i + 1) % n];
        b[i] = b[i] + 0.5 * x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += b[i] * b[i];
    }
    s
}

#[test]
fn in_place_increments() {
    check_slice_function!(increments, increments_grad, increments_vjp, increments_pullback; 4, 4, -1.0, 1.0);
}

/// The element is overwritten between the read and the store: the store
/// replaces the new value, it does not add to it.
#[differentiate(wrt(x))]
fn overwritten_between(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n];
    for i in 0..n {
        b[i] = x[i].exp();
    }
    let mut s = 0.0;
    for i in 0..n {
        let old = b[i];
        b[i] = x[i] * 3.0;
        b[i] = old + x[(i + 1) % n];
        s += b[i] * b[(i + 1) % n];
    }
    s
}

#[test]
fn an_element_overwritten_between_read_and_store() {
    check_slice_function!(overwritten_between, overwritten_between_grad, overwritten_between_vjp,
        overwritten_between_pullback; 4, 4, -1.0, 1.0);
}

/// `b[j] = b[i] + e`: another element, an overwrite.
#[differentiate(wrt(x))]
fn other_index(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n];
    for i in 0..n {
        b[i] = x[i] * x[i] + 1.0;
    }
    for i in 0..n - 1 {
        let j = i + 1;
        b[j] = b[i] + x[j].sin();
    }
    let mut s = 0.0;
    for i in 0..n {
        s += b[i] * x[i];
    }
    s
}

#[test]
fn a_sum_stored_at_another_index() {
    check_slice_function!(other_index, other_index_grad, other_index_vjp, other_index_pullback; 4, 4, -1.0, 1.0);
}

/// Increments whose index is an expression, which lowering writes once for
/// the read and once for the store: the two are the same value.
#[differentiate(wrt(x))]
fn expression_indices(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n + 1];
    for i in 0..n {
        b[i + 1] = x[i].cos();
    }
    for i in 0..n {
        for j in i..n {
            b[j + 1] += x[i] * x[j];
        }
        b[(2 * i) % n] = b[(2 * i) % n] + x[i].exp();
    }
    let mut s = 0.0;
    for i in 0..n + 1 {
        s += b[i] * b[i];
    }
    s
}

#[test]
fn increments_at_expression_indices() {
    check_slice_function!(expression_indices, expression_indices_grad, expression_indices_vjp,
        expression_indices_pullback; 4, 4, -1.0, 1.0);
}

/// The index expressions of the read and the store are written alike but
/// read a counter that changes between them: another element, an overwrite.
#[differentiate(wrt(x))]
fn index_changed_between(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n];
    let mut at = vec![0; n];
    for i in 0..n {
        b[i] = x[i] * x[i];
    }
    for i in 0..n {
        let old = b[at[i]];
        at[i] = (i + 1) % n;
        b[at[i]] = old + x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += b[i] * x[i];
    }
    s
}

#[test]
fn an_index_that_changes_between_read_and_store() {
    check_slice_function!(index_changed_between, index_changed_between_grad, index_changed_between_vjp,
        index_changed_between_pullback; 4, 4, -1.0, 1.0);
}

/// An increment followed by a store inside an `if` that only some
/// iterations take, in the three spellings of an increment. The element's
/// adjoint flows on to `x̄[i]` on both paths; the adjoint of a buffer lives
/// across the iterations, so that flow must not move into the taken arm.
#[differentiate(wrt(x))]
fn increment_then_store_in_a_branch(x: &[f64], n: usize) -> f64 {
    let mut u = vec![0.0; n];
    let mut v = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n {
        u[i] += x[i] * x[i];
        if i > 2 {
            u[0] = 1.0;
        }
        v[i] = v[i] + x[i].sin();
        if i > 2 {
            v[1] = x[i];
        }
        let t = w[i];
        w[i] = x[i] * 2.0 + t;
        if i == 4 {
            w[2] = 0.5;
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += u[i] * v[i] + w[i] * x[i];
    }
    s
}

#[test]
fn an_increment_followed_by_a_store_in_a_branch() {
    check_slice_function!(increment_then_store_in_a_branch, increment_then_store_in_a_branch_grad,
        increment_then_store_in_a_branch_vjp, increment_then_store_in_a_branch_pullback; 6, 6, -1.0, 1.0);
}

/// `-=` at a variable and at a constant index, `b[i] = b[i] - e` written out,
/// and `b[i] = e - b[i]`, whose old element's adjoint changes sign: an
/// overwrite, not an increment.
#[differentiate(wrt(x))]
fn decrements(x: &[f64], n: usize) -> f64 {
    let mut b = vec![0.0; n];
    for i in 0..n {
        b[i] = x[i].exp();
    }
    for i in 0..n {
        for j in 0..n {
            b[j] -= x[i].cos() * x[j];
        }
        b[0] -= x[i] * x[i];
        b[i] = b[i] - 0.5 * x[(i + 1) % n];
        b[i] = x[i] - b[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += b[i] * b[i] * x[i];
    }
    s
}

#[test]
fn in_place_decrements() {
    check_slice_function!(decrements, decrements_grad, decrements_vjp, decrements_pullback; 4, 4, -1.0, 1.0);
}
