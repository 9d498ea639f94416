//! The tape of a loop whose records are plain numbers, with its memory kept
//! for the next call.
//!
//! A loop's forward sweep pushes the values its adjoint needs; the adjoint
//! drains them in reverse. A long loop's tape is large (GradBench's `ode` at
//! n = 10⁵, s = 100 keeps 320 MB), and the system allocator hands memory of
//! that size back to the kernel when it is freed, so every call pays the page
//! faults of touching it afresh: more than the loop's own arithmetic. A
//! [`Tape`] is a `Vec` that, once at least [`KEPT_BYTES`] large, goes back
//! to a small per-thread store when dropped, and that [`Tape::reserve`] takes
//! from that store: the second call of a gradient writes into memory the
//! first one already touched.
//!
//! The generated code uses a `Tape` for loops whose records are all numbers
//! (`f64`s, integers, records of branches holding numbers: types with no
//! lifetimes, as the store needs), and a plain `Vec` otherwise. A thread keeps at most [`KEPT_TAPES`] tapes; call
//! [`release_tapes`] to hand their memory back.

use std::any::Any;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// The size from which a dropped tape's memory is kept for the next call.
pub const KEPT_BYTES: usize = 1 << 20;

/// How many tapes one thread keeps at most; beyond, the smallest goes.
pub const KEPT_TAPES: usize = 8;

/// An empty `Vec` kept for a later tape, with the bytes it can hold.
struct Kept {
    bytes: usize,
    records: Box<dyn Any>,
}

thread_local! {
    /// This thread's kept tapes, each of at least `KEPT_BYTES`.
    static KEPT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// A loop's tape: a `Vec<T>` (it dereferences to one) whose memory is reused
/// across calls once large. See the module docs.
#[derive(Debug, Default)]
pub struct Tape<T: 'static> {
    records: Vec<T>,
}

impl<T: 'static> Tape<T> {
    /// An empty tape; it allocates nothing until it is reserved or pushed to.
    pub fn new() -> Self {
        Tape { records: Vec::new() }
    }

    /// Makes room for `additional` more records, first from the memory of an
    /// earlier tape of this thread when the room needed is large.
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        if additional > self.records.capacity() - self.records.len() {
            self.grow(additional);
        }
    }

    /// [`Tape::reserve`] when the room is not there: out of line, so that a
    /// loop entered often pays one comparison when its tape has room.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        let needed = self.records.len().saturating_add(additional);
        if needed.saturating_mul(size_of::<T>()) >= KEPT_BYTES
            && let Some(mut kept) = take_kept::<T>()
        {
            kept.append(&mut self.records);
            keep(std::mem::replace(&mut self.records, kept));
        }
        self.records.reserve(additional);
    }
}

impl<T: 'static> Deref for Tape<T> {
    type Target = Vec<T>;

    #[inline]
    fn deref(&self) -> &Vec<T> {
        &self.records
    }
}

impl<T: 'static> DerefMut for Tape<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.records
    }
}

impl<T: 'static> Drop for Tape<T> {
    fn drop(&mut self) {
        keep(std::mem::take(&mut self.records));
    }
}

/// Appends `record` to a loop's tape that was reserved for the loop's trip
/// count before the loop, so that it has room for one record per iteration.
///
/// The room is checked, but running out is a panic, not a growth: `Vec::push`
/// would keep a call to its growth path inside the loop, and since a call
/// may overwrite every floating-point register, the loop would then keep its
/// running values (a sum, a maximum) in memory, paying a store and a load per
/// iteration on the chain that carries them. A call that cannot return
/// needs no register saved, so the loop runs as fast as the primal's.
#[inline(always)]
pub fn push_reserved<T>(tape: &mut Vec<T>, record: T) {
    assert!(
        tape.len() < tape.capacity(),
        "chainrule: a loop pushed more records than the trip count its tape was reserved for"
    );
    tape.push(record);
}

/// Copies of a buffer, one per loop iteration, for the adjoint of a loop
/// that reads the buffer after writing it (the macro's `snapshots.rs`): the
/// forward sweep [pushes](Snapshots::push) the buffer at the end of every
/// iteration, and the adjoint sweep walks back from [`Snapshots::end`],
/// reading each iteration's copy [`at`](Snapshots::at) its start, then
/// [truncates](Snapshots::truncate) what it walked.
#[derive(Debug, Default)]
pub struct Snapshots<T: 'static> {
    values: Tape<T>,
    width: usize,
}

impl<T: Copy + 'static> Snapshots<T> {
    /// No copies yet.
    pub fn new() -> Self {
        Snapshots {
            values: Tape::new(),
            width: 0,
        }
    }

    /// Appends a copy of `buffer`, whose length every copy shares.
    #[inline]
    pub fn push(&mut self, buffer: &[T]) {
        self.width = buffer.len();
        self.values.reserve(buffer.len());
        self.values.extend_from_slice(buffer);
    }

    /// Where the last copy ends.
    #[inline]
    pub fn end(&self) -> usize {
        self.values.len()
    }

    /// The length of one copy.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    /// The copy that starts at `start`.
    #[inline]
    pub fn at(&self, start: usize) -> &[T] {
        &self.values[start..start + self.width]
    }

    /// Drops the copies from `end` on.
    #[inline]
    pub fn truncate(&mut self, end: usize) {
        self.values.truncate(end);
    }
}

/// Hands the memory of this thread's kept tapes back to the allocator.
pub fn release_tapes() {
    // A thread being torn down has nothing left to release.
    let _ = KEPT.try_with(|kept| kept.borrow_mut().clear());
}

/// How many bytes of tape memory this thread keeps for later calls.
pub fn kept_bytes() -> usize {
    KEPT.try_with(|kept| kept.borrow().iter().map(|tape| tape.bytes).sum())
        .unwrap_or(0)
}

/// The largest kept `Vec<T>` of this thread, if any.
fn take_kept<T: 'static>() -> Option<Vec<T>> {
    KEPT.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        let largest = (0..kept.len())
            .filter(|&position| kept[position].records.is::<Vec<T>>())
            .max_by_key(|&position| kept[position].bytes)?;
        kept.swap_remove(largest)
            .records
            .downcast::<Vec<T>>()
            .ok()
            .map(|records| *records)
    })
    .ok()
    .flatten()
}

/// Keeps `records`' memory, emptied, for a later tape if it is large; when
/// the store is full, the smallest tape kept (this one included) is freed.
fn keep<T: 'static>(mut records: Vec<T>) {
    let bytes = records.capacity().saturating_mul(size_of::<T>());
    if bytes < KEPT_BYTES {
        return;
    }
    records.clear();
    // A thread being torn down keeps nothing.
    let _ = KEPT.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        kept.push(Kept {
            bytes,
            records: Box::new(records),
        });
        if kept.len() > KEPT_TAPES
            && let Some(smallest) = (0..kept.len()).min_by_key(|&position| kept[position].bytes)
        {
            kept.swap_remove(smallest);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records of `KEPT_BYTES` in all.
    const LARGE: usize = KEPT_BYTES / size_of::<f64>();

    #[test]
    fn a_large_tape_is_reused_by_the_next_one() {
        let mut first = Tape::<f64>::new();
        first.reserve(LARGE);
        first.extend((0..LARGE).map(|i| i as f64));
        let memory = first.as_ptr();
        drop(first);
        assert_eq!(kept_bytes(), LARGE * size_of::<f64>());

        let mut second = Tape::<f64>::new();
        second.reserve(LARGE);
        assert_eq!(second.as_ptr(), memory);
        assert!(second.is_empty(), "a kept tape comes back empty");
        assert_eq!(kept_bytes(), 0);
    }

    #[test]
    fn small_tapes_are_not_kept() {
        let mut tape = Tape::<f64>::new();
        tape.reserve(LARGE - 1);
        tape.push(1.0);
        drop(tape);
        assert_eq!(kept_bytes(), 0);

        let mut records = Tape::<(f64, usize)>::new();
        records.reserve(LARGE);
        drop(records);
        assert!(kept_bytes() > 0);
        let mut small = Tape::<(f64, usize)>::new();
        small.reserve(10);
        assert!(kept_bytes() > 0, "a small reservation leaves the kept tape alone");
    }

    #[test]
    fn tapes_of_other_records_are_not_taken() {
        let mut numbers = Tape::<f64>::new();
        numbers.reserve(LARGE);
        drop(numbers);
        let mut pairs = Tape::<(f64, f64)>::new();
        pairs.reserve(LARGE);
        assert_eq!(kept_bytes(), LARGE * size_of::<f64>());
        drop(pairs);
        assert_eq!(kept_bytes(), 3 * LARGE * size_of::<f64>());
    }

    #[test]
    fn records_already_pushed_move_to_the_kept_memory() {
        let mut kept = Tape::<f64>::new();
        kept.reserve(4 * LARGE);
        drop(kept);
        let mut tape = Tape::<f64>::new();
        tape.extend([1.0, 2.0, 3.0]);
        tape.reserve(2 * LARGE);
        assert_eq!(&tape[..], &[1.0, 2.0, 3.0]);
        assert!(tape.capacity() >= 4 * LARGE);
    }

    #[test]
    fn a_reserved_tape_takes_one_record_per_reserved_iteration() {
        let mut tape = Tape::<(f64, usize)>::new();
        tape.reserve(3);
        let room = tape.capacity();
        for i in 0..room {
            push_reserved(&mut tape, (i as f64, i));
        }
        assert_eq!(tape.len(), room);
        assert_eq!(tape[2], (2.0, 2));
        let overflow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| push_reserved(&mut tape, (0.0, 0))));
        assert!(
            overflow.is_err(),
            "a push past the reserved room panics instead of growing"
        );
        assert_eq!(tape.len(), room);
    }

    #[test]
    fn a_thread_keeps_at_most_kept_tapes_and_frees_the_smallest() {
        let tapes: Vec<Tape<f64>> = (0..=KEPT_TAPES)
            .map(|extra| {
                let mut tape = Tape::new();
                tape.reserve(LARGE + extra);
                tape
            })
            .collect();
        drop(tapes);
        let kept: usize = (1..=KEPT_TAPES).map(|extra| LARGE + extra).sum();
        assert!(kept_bytes() >= kept * size_of::<f64>());
        assert!(kept_bytes() < (kept + LARGE) * size_of::<f64>());
        release_tapes();
        assert_eq!(kept_bytes(), 0);
    }
}
