//! Misuse never hurts: every misuse a user can reach from safe code, one test each, asserting
//! the exact error (variant and `Display` text) or the exact panic message, then proving that
//! the pipe is still consistent: known bytes written afterwards are read back exactly once and
//! in order, completion is still delivered, and the chunk pool's `in_use()` is back to 0 once
//! both halves are gone.
//!
//! Compile-time guarantees are compile_fail doctests in `src/compile_fail_tests.rs`, most with
//! a compiling twin: a second read while a `ReadResult` is alive; `advance_to` while the
//! result's buffer is still used; memory from `get_memory` used after `advance`, after
//! `complete()` or after the writer is dropped; two pieces of `get_memory` memory alive at once;
//! a read result's `Sequence` outliving its reader; cloning either half.
//!
//! The compiler also rejects these, with no doctest pinning them (checked by hand): `reset`
//! while a `ReadResult` is alive; `advance_to` while a `Read` future is alive; any writer call
//! while a `GetMemory` future is alive (all three are plain `&mut` borrows).
//!
//! The ten misbehaviours this file found when it was written (chunks leaked or a completion lost
//! when a waker panics, a waker slot locked by a waker whose `clone` or `drop` panics, backpressure
//! skipped, a false `WouldDeadlock` after an abandoned wait for room, two integer overflows, a
//! pool with `max_retained == 0` keeping a chunk, a misleading `WouldDeadlock` message) are
//! fixed; their regression tests: `read_waker_panicking_when_the_writer_is_dropped_with_unflushed_bytes`,
//! `read_waker_panicking_in_complete_still_completes_the_writer`,
//! `completion_waker_panicking_in_the_second_completion_still_frees_the_chunks`,
//! `read_waker_panicking_in_flush_does_not_skip_backpressure`,
//! `waker_panicking_on_drop_when_replaced_does_not_lose_later_wake_ups`,
//! `waker_panicking_on_clone_does_not_lose_later_wake_ups`,
//! `abandoned_wait_for_room_does_not_make_a_later_read_report_a_deadlock`,
//! `options_chunk_size_one_with_capacity_usize_max_is_refused`,
//! `sequence_slice_with_usize_max_bounds_panics_with_the_slice_message`,
//! `pool_with_max_retained_zero_keeps_no_idle_chunk` and
//! `would_deadlock_message_does_not_claim_a_full_pipe_that_is_not_full`.

mod support;

use ringpipe::{
    AdvanceError, ChunkPool, OptionsError, PipeOptions, PipeReader, PipeWriter, ReadError,
    ResetError, WriteError, MAX_CHUNK_SIZE, MAX_SLOTS,
};
use std::cell::Cell;
use std::fmt::{Debug, Display};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use support::*;

/// Capacity 64, 16-byte chunks from a private pool, no backpressure.
fn pipe() -> Pipe {
    plain_pipe(64, 16)
}

// ---------------------------------------------------------------------------------------------
// Helpers: panics, wakers, consistency checks
// ---------------------------------------------------------------------------------------------

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// While alive, panics on this thread print nothing. The process-wide hook is installed once
/// and hands every other panic (other threads, or this one after the guard is gone) to the
/// default hook, so a real test failure is still reported.
struct Quiet(bool);

impl Quiet {
    fn new() -> Quiet {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let default = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    default(info);
                }
            }));
        });
        Quiet(QUIET.with(|q| q.replace(true)))
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(self.0));
    }
}

/// Runs `f`, which must panic, and returns the panic message.
#[track_caller]
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let outcome = {
        let _quiet = Quiet::new();
        panic::catch_unwind(AssertUnwindSafe(f))
    };
    let payload = match outcome {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => payload,
    };
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        panic!("the panic payload is neither &str nor String")
    }
}

/// Asserts an error's `Debug` (variant and fields) and `Display` text.
#[track_caller]
fn assert_err<E: Debug + Display>(e: &E, debug: &str, display: &str) {
    assert_eq!(format!("{e:?}"), debug);
    assert_eq!(format!("{e}"), display);
}

/// After a misbehaving waker: a read polled with a good waker is pending, and one commit
/// wakes it exactly once (no wake-up was lost to the waker slot).
#[track_caller]
fn assert_commit_wakes_read(
    w: &mut PipeWriter,
    r: &mut PipeReader,
    good: &Waker,
    good_count: &Counter,
) {
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), good).is_pending());
    put_commit(w, b"x");
    assert_eq!(
        good_count.count(),
        1,
        "the commit must wake the waiting read"
    );
}

fn advance_panic(n: usize, left: usize) -> String {
    format!(
        "ringpipe: advance({n}) past the memory handed out ({left} bytes left from the last get_memory)"
    )
}

const WRITER_DONE: &str = "writing is not allowed after the writer was completed";
const READER_DONE: &str = "reading is not allowed after the reader was completed";
const FOREIGN: &str = "the position does not belong to this pipe (another pipe, or before a reset)";
const OUTSIDE: &str = "ringpipe: position outside the sequence";

#[track_caller]
fn writer_completed(e: &WriteError) {
    assert_err(e, "WriterCompleted", WRITER_DONE);
}

#[track_caller]
fn reader_completed(e: &ReadError) {
    assert_err(e, "ReaderCompleted", READER_DONE);
}

/// Reads whatever is unconsumed (nothing if the read would wait) and consumes all of it.
fn drain(r: &mut PipeReader) -> Vec<u8> {
    let (bytes, end) = match r.try_read().expect("try_read failed") {
        None => return Vec::new(),
        Some(res) => (res.buffer().to_vec(), res.buffer().end()),
    };
    r.advance_to(end, end).expect("advance_to");
    bytes
}

/// On a drained pipe: writes `data`, reads it back exactly once, and checks nothing follows.
#[track_caller]
fn roundtrip(w: &mut PipeWriter, r: &mut PipeReader, data: &[u8]) {
    put_commit(w, data);
    let g = read_advance(r, data.len(), data.len());
    assert_eq!(g.bytes, data);
    assert!(!g.canceled && !g.completed, "{g:?}");
    assert!(r.try_read().unwrap().is_none());
}

/// Drops both halves and checks that every chunk went back to the pool.
#[track_caller]
fn finish(w: PipeWriter, r: PipeReader, pool: &ChunkPool) {
    drop(w);
    drop(r);
    assert_eq!(pool.in_use(), 0);
}

const WAKE_PANIC: &str = "misuse test: this waker panics when woken";

/// A waker whose `wake` counts, then panics.
#[derive(Default)]
struct PanicWake {
    wakes: AtomicUsize,
}

impl PanicWake {
    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for PanicWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        panic!("{WAKE_PANIC}");
    }
}

fn panic_waker() -> (Arc<PanicWake>, Waker) {
    let w = Arc::new(PanicWake::default());
    (w.clone(), Waker::from(w))
}

const DROP_PANIC: &str = "misuse test: this waker panics when dropped";

/// A waker that does nothing when woken and panics (once) when its last handle is dropped
/// after `armed` was set. Written with safe code only.
struct DropBomb {
    armed: Arc<AtomicBool>,
}

impl Drop for DropBomb {
    fn drop(&mut self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("{DROP_PANIC}");
        }
    }
}

impl Wake for DropBomb {
    fn wake(self: Arc<Self>) {}
}

/// A waker whose only handle is returned (so the pipe's clone will be the last one), and the
/// switch that arms it.
fn drop_bomb() -> (Arc<AtomicBool>, Waker) {
    let armed = Arc::new(AtomicBool::new(false));
    let bomb = Arc::new(DropBomb {
        armed: armed.clone(),
    });
    (armed, Waker::from(bomb))
}

const CLONE_PANIC: &str = "misuse test: this waker panics when cloned";

fn clone_panics(_: *const ()) -> RawWaker {
    panic!("{CLONE_PANIC}");
}

fn raw_noop(_: *const ()) {}

static CLONE_PANICS_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_panics, raw_noop, raw_noop, raw_noop);

/// A waker whose `clone` panics (only a hand-written `RawWaker` can do that).
fn clone_panicking_waker() -> Waker {
    // SAFETY: the vtable's functions ignore the data pointer, so a null pointer is fine, and
    // they are thread-safe (they touch nothing). Panicking in `clone` is not forbidden by the
    // `RawWaker` contract.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &CLONE_PANICS_VTABLE)) }
}

// ---------------------------------------------------------------------------------------------
// Writer: advance past the grant
// ---------------------------------------------------------------------------------------------

#[test]
fn advance_past_the_grant_panics_and_the_writer_stays_usable() {
    let (mut w, mut r, pool) = pipe();
    let m = w.try_get_memory(4).unwrap();
    assert_eq!(m.len(), 16);
    m[..4].copy_from_slice(b"abcd");
    assert_eq!(panic_message(|| w.advance(17)), advance_panic(17, 16));
    // Nothing moved: the grant and its bytes are intact and nothing became unflushed.
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(w.granted_memory().len(), 16);
    assert_eq!(&w.granted_memory()[..4], b"abcd");
    w.advance(4);
    assert_eq!(panic_message(|| w.advance(13)), advance_panic(13, 12));
    assert_eq!(
        panic_message(|| w.advance(usize::MAX)),
        advance_panic(usize::MAX, 12)
    );
    assert_eq!(w.unflushed_bytes(), 4);
    w.commit();
    // No phantom bytes: exactly the four advanced ones.
    let g = read_advance(&mut r, 4, 4);
    assert_eq!(g.bytes, b"abcd");
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"after the panic");
    finish(w, r, &pool);
}

#[test]
fn advance_without_any_get_memory_panics() {
    let (mut w, mut r, pool) = pipe();
    assert_eq!(panic_message(|| w.advance(1)), advance_panic(1, 0));
    assert_eq!(
        panic_message(|| w.advance(usize::MAX)),
        advance_panic(usize::MAX, 0)
    );
    w.advance(0); // legal
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(pool.in_use(), 0, "a refused advance takes no chunk");
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"fine");
    finish(w, r, &pool);
}

#[test]
fn advance_after_the_memory_was_used_and_committed_panics() {
    let (mut w, mut r, pool) = pipe();
    let m = w.try_get_memory(16).unwrap();
    m.copy_from_slice(&pattern(16));
    w.advance(16);
    w.commit();
    assert_eq!(panic_message(|| w.advance(1)), advance_panic(1, 0));
    // What is left of a partly used grant stays usable across a commit.
    let m = w.try_get_memory(8).unwrap();
    assert_eq!(m.len(), 16);
    m[..2].copy_from_slice(b"xy");
    w.advance(2);
    w.commit();
    assert_eq!(w.granted_memory().len(), 14);
    w.granted_memory()[..2].copy_from_slice(b"zw");
    w.advance(2);
    assert_eq!(panic_message(|| w.advance(13)), advance_panic(13, 12));
    w.flush_blocking().unwrap();
    let mut expected = pattern(16);
    expected.extend_from_slice(b"xyzw");
    let g = read_advance(&mut r, 20, 20);
    assert_eq!(g.bytes, expected);
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"more");
    finish(w, r, &pool);
}

#[test]
fn a_refused_get_memory_leaves_the_previous_grant_in_place() {
    let (mut w, mut r, pool) = plain_pipe(16, 16);
    put_commit(&mut w, b"0123456789ab"); // 12 of 16 bytes; 4 left of the grant
    let e = w.try_get_memory(8).unwrap_err();
    assert_err(
        &e,
        "Full { requested: 8 }",
        "the pipe has no room for 8 bytes right now",
    );
    let e = w.try_get_memory(17).unwrap_err();
    assert_err(
        &e,
        "TooLarge { requested: 17, max: 16 }",
        "size hint 17 is larger than the largest contiguous memory the pipe hands out (16 bytes)",
    );
    // The refusals changed nothing: the old grant is still there, and it fits the capacity.
    assert_eq!(w.granted_memory().len(), 4);
    w.granted_memory().copy_from_slice(b"WXYZ");
    w.advance(4);
    w.commit();
    assert!(matches!(
        w.try_get_memory(1),
        Err(WriteError::Full { requested: 1 })
    ));
    let g = read_advance(&mut r, 16, 16);
    assert_eq!(g.bytes, b"0123456789abWXYZ");
    roundtrip(&mut w, &mut r, b"again");
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Reader: positions
// ---------------------------------------------------------------------------------------------

#[test]
fn positions_from_another_pipe_are_refused() {
    let (mut w1, mut r1, pool1) = pipe();
    let (mut w2, mut r2, pool2) = pipe();
    put_commit(&mut w1, b"abcdef");
    put_commit(&mut w2, b"uvwxyz");
    let (f_start, f_mid, f_end) = {
        let res = r2.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.start(), b.position(3), b.end())
    };
    let (own_start, own_mid, own_end) = {
        let res = r1.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.start(), b.position(3), b.end())
    };
    // Same offsets, different pipes.
    assert_eq!(f_mid.offset(), own_mid.offset());
    assert_ne!(f_mid, own_mid);
    for (c, e) in [
        (f_start, f_end),
        (own_start, f_end),
        (f_mid, own_end),
        // Foreign is reported before examined < consumed.
        (f_end, own_start),
    ] {
        let err = r1.advance_to(c, e).unwrap_err();
        assert_eq!(err, AdvanceError::ForeignPosition);
        assert_eq!(err.to_string(), FOREIGN);
    }
    assert_eq!(
        r1.advance_to_consumed(f_mid).unwrap_err(),
        AdvanceError::ForeignPosition
    );
    assert_eq!(r1.consumed_bytes(), 0);
    {
        // Nothing changed (nothing examined either), and a Sequence does not know the
        // foreign position.
        let res = r1.try_read().unwrap().unwrap();
        let buf = res.buffer();
        assert_eq!(buf.to_vec(), b"abcdef");
        assert_eq!(buf.offset_of(f_mid), None);
        assert!(buf.slice_between(f_start, f_end).is_none());
        assert_eq!(panic_message(|| buf.slice_to(f_mid)), OUTSIDE);
        assert_eq!(panic_message(|| buf.slice_from(f_mid)), OUTSIDE);
    }
    r1.advance_to(own_mid, own_mid).unwrap();
    assert_eq!(must_read(&mut r1).bytes, b"def");
    put_commit(&mut w1, b"g");
    assert_eq!(read_advance(&mut r1, 4, 4).bytes, b"defg");
    assert_eq!(read_advance(&mut r2, 6, 6).bytes, b"uvwxyz");
    roundtrip(&mut w1, &mut r1, b"one");
    roundtrip(&mut w2, &mut r2, b"two");
    finish(w1, r1, &pool1);
    finish(w2, r2, &pool2);
}

#[test]
fn positions_already_consumed_are_refused() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"0123456789");
    let (p2, p5, end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.position(2), b.position(5), b.end())
    };
    r.advance_to_consumed(p5).unwrap();
    let e = r.advance_to(p2, end).unwrap_err();
    assert_eq!(
        e,
        AdvanceError::AlreadyConsumed {
            position: 2,
            consumed: 5
        }
    );
    assert_eq!(
        e.to_string(),
        "the reader has already advanced past the provided position (2 < consumed 5)"
    );
    // A stale examined position is refused the same way (consumed is checked first).
    assert_eq!(
        r.advance_to(p5, p2).unwrap_err(),
        AdvanceError::AlreadyConsumed {
            position: 2,
            consumed: 5
        }
    );
    assert_eq!(
        r.advance_to_consumed(p2).unwrap_err(),
        AdvanceError::AlreadyConsumed {
            position: 2,
            consumed: 5
        }
    );
    assert_eq!(r.consumed_bytes(), 5);
    let g = read_advance(&mut r, 5, 5);
    assert_eq!(g.bytes, b"56789");
    // Positions from before are stale now too, including the old end.
    assert_eq!(
        r.advance_to_consumed(p5).unwrap_err(),
        AdvanceError::AlreadyConsumed {
            position: 5,
            consumed: 10
        }
    );
    r.advance_to_consumed(end).unwrap(); // the old end is the current head: still valid
    roundtrip(&mut w, &mut r, b"x");
    finish(w, r, &pool);
}

#[test]
fn positions_from_an_older_read_stay_valid_until_consumed() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    let (a_start, a1, a_end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.start(), b.position(1), b.end())
    };
    r.advance_to(a1, a_end).unwrap();
    put_commit(&mut w, b"def");
    let b_end = {
        let res = r.try_read().unwrap().unwrap();
        assert_eq!(res.buffer().to_vec(), b"bcdef");
        res.buffer().end()
    };
    assert_eq!(
        r.advance_to(a_start, b_end).unwrap_err(),
        AdvanceError::AlreadyConsumed {
            position: 0,
            consumed: 1
        }
    );
    // The first read's end is still ahead of the head: accepted.
    r.advance_to(a_end, b_end).unwrap();
    assert_eq!(
        r.advance_to(a1, b_end).unwrap_err(),
        AdvanceError::AlreadyConsumed {
            position: 1,
            consumed: 3
        }
    );
    assert!(r.try_read().unwrap().is_none());
    put_commit(&mut w, b"g");
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"defg");
    roundtrip(&mut w, &mut r, b"h");
    finish(w, r, &pool);
}

#[test]
fn positions_from_before_a_reset_are_foreign() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    let (old1, old_end) = {
        let res = r.try_read().unwrap().unwrap();
        (res.buffer().position(1), res.buffer().end())
    };
    w.complete();
    r.complete();
    ringpipe::reset(&mut w, &mut r).unwrap();
    put_commit(&mut w, b"defg");
    let (new0, new_end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        assert_eq!(b.to_vec(), b"defg");
        assert_eq!(b.offset_of(old1), None);
        assert_eq!(panic_message(|| b.slice_to(old1)), OUTSIDE);
        (b.start(), b.end())
    };
    for (c, e) in [(old1, new_end), (new0, old_end), (old_end, old_end)] {
        let err = r.advance_to(c, e).unwrap_err();
        assert_eq!(err, AdvanceError::ForeignPosition);
        assert_eq!(err.to_string(), FOREIGN);
    }
    assert_eq!(r.consumed_bytes(), 0);
    r.advance_to_consumed(new_end).unwrap();
    assert_eq!(r.consumed_bytes(), 4);
    roundtrip(&mut w, &mut r, b"hij");
    finish(w, r, &pool);
}

#[test]
fn examined_before_consumed_is_refused_and_changes_nothing() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"0123456789");
    let (p2, p4, end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.position(2), b.position(4), b.end())
    };
    let e = r.advance_to(p4, p2).unwrap_err();
    assert_eq!(
        e,
        AdvanceError::ExaminedBeforeConsumed {
            consumed: 4,
            examined: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "the examined position must be greater than or equal to the consumed position (examined 2 < consumed 4)"
    );
    assert_eq!(
        r.advance_to(end, p4).unwrap_err(),
        AdvanceError::ExaminedBeforeConsumed {
            consumed: 10,
            examined: 4
        }
    );
    // Nothing changed: nothing consumed, nothing examined (the next read returns at once).
    assert_eq!(r.consumed_bytes(), 0);
    assert_eq!(must_read(&mut r).bytes, b"0123456789");
    r.advance_to(p4, end).unwrap();
    assert!(r.try_read().unwrap().is_none());
    put_commit(&mut w, b"!");
    assert_eq!(read_advance(&mut r, 7, 7).bytes, b"456789!");
    roundtrip(&mut w, &mut r, b"ok");
    finish(w, r, &pool);
}

#[test]
fn positions_beyond_the_data_cannot_be_made() {
    // AdvanceError::BeyondEnd cannot be reached through the public API: a Position comes only
    // from a Sequence, which never reaches past the last read. Trying to make one past the
    // end of a sequence panics instead.
    let (mut w, mut r, pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"hello");
    {
        let res = r.try_read().unwrap().unwrap();
        let buf = res.buffer();
        assert_eq!(buf.position(5), buf.end());
        assert_eq!(
            panic_message(|| buf.position(6)),
            "ringpipe: offset 6 is past the end of a sequence of 5 bytes"
        );
        assert_eq!(
            panic_message(|| buf.position(usize::MAX)),
            "ringpipe: offset 18446744073709551615 is past the end of a sequence of 5 bytes"
        );
        let sub = buf.slice(1..3);
        assert_eq!(
            panic_message(|| sub.position(3)),
            "ringpipe: offset 3 is past the end of a sequence of 2 bytes"
        );
    }
    // The pipe did not notice.
    assert_eq!(read_advance(&mut r, 5, 5).bytes, b"hello");
    roundtrip(&mut w, &mut r, b"world");
    finish(w, r, &pool);
}

#[test]
fn sequence_slices_out_of_range_panic_with_their_message() {
    let (mut w, mut r, pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"hello");
    {
        let res = r.try_read().unwrap().unwrap();
        let buf = res.buffer();
        let msg = |lo: usize, hi: usize| {
            format!("ringpipe: slice {lo}..{hi} out of range for a sequence of 5 bytes")
        };
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 3..2;
        assert_eq!(panic_message(|| buf.slice(reversed)), msg(3, 2));
        assert_eq!(panic_message(|| buf.slice(..6)), msg(0, 6));
        assert_eq!(panic_message(|| buf.slice(..=5)), msg(0, 6));
        assert_eq!(panic_message(|| buf.slice(6..)), msg(6, 5));
        let sub = buf.slice(1..4);
        assert_eq!(sub.to_vec(), b"ell");
        // Positions of the whole buffer outside the sub-slice.
        assert_eq!(panic_message(|| sub.slice_to(buf.end())), OUTSIDE);
        assert_eq!(panic_message(|| sub.slice_from(buf.start())), OUTSIDE);
        assert!(sub.slice_between(buf.start(), sub.end()).is_none());
        assert!(buf.slice_between(sub.end(), sub.start()).is_none());
        let mut dst = [0u8; 6];
        assert_eq!(
            panic_message(|| buf.copy_to_slice(&mut dst)),
            "ringpipe: copy_to_slice of 6 bytes from a sequence of 5"
        );
        let mut dst = [0u8; 3];
        assert_eq!(
            panic_message(|| sub.copy_to_slice(&mut [0u8; 4])),
            "ringpipe: copy_to_slice of 4 bytes from a sequence of 3"
        );
        sub.copy_to_slice(&mut dst);
        assert_eq!(&dst, b"ell");
    }
    assert_eq!(read_advance(&mut r, 5, 5).bytes, b"hello");
    roundtrip(&mut w, &mut r, b"bye");
    finish(w, r, &pool);
}

#[test]
fn sequence_slice_with_usize_max_bounds_panics_with_the_slice_message() {
    use std::ops::Bound;
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"hello");
    let res = r.try_read().unwrap().unwrap();
    let buf = res.buffer();
    let msg = panic_message(|| buf.slice(..=usize::MAX).len());
    assert!(msg.starts_with("ringpipe: slice "), "{msg}");
    let msg = panic_message(|| {
        buf.slice((Bound::Excluded(usize::MAX), Bound::Unbounded))
            .len()
    });
    assert!(msg.starts_with("ringpipe: slice "), "{msg}");
}

#[test]
fn positions_from_sequence_slices_are_accepted() {
    let (mut w, mut r, pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"hello world");
    let (c, e) = {
        let res = r.try_read().unwrap().unwrap();
        let buf = res.buffer();
        assert!(buf.chunks().count() >= 3);
        let sub = buf.slice(2..7);
        assert_eq!(sub.to_vec(), b"llo w");
        let inner = sub.slice(1..3);
        assert_eq!(inner.to_vec(), b"lo");
        assert_eq!(buf.offset_of(inner.end()), Some(5));
        (sub.start(), inner.end())
    };
    r.advance_to(c, e).unwrap();
    assert_eq!(r.consumed_bytes(), 2);
    let (c, e) = {
        let res = r.try_read().unwrap().unwrap();
        let buf = res.buffer();
        assert_eq!(buf.to_vec(), b"llo world");
        let space = buf.find(b' ').unwrap();
        (buf.slice_from(space).start(), buf.slice_to(space).end())
    };
    r.advance_to(c, e).unwrap(); // consumed == examined == the space
    assert_eq!(read_advance(&mut r, 6, 6).bytes, b" world");
    roundtrip(&mut w, &mut r, b"!");
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Completion: double completion, use after completion
// ---------------------------------------------------------------------------------------------

#[test]
fn writer_double_completion_first_one_wins() {
    // complete, then complete_with_error: the plain completion wins.
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    w.complete();
    w.complete();
    w.complete_with_error(TestError { id: 1 });
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"abc");
    assert!(g.completed && !g.canceled);
    let g = must_read(&mut r);
    assert!(g.completed && g.bytes.is_empty());
    finish(w, r, &pool);

    // complete_with_error, then another error, then complete: the first error wins, every
    // read reports that very value, and the unread data is not delivered (as in .NET).
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    w.complete_with_error(TestError { id: 1 });
    w.complete_with_error(TestError { id: 2 });
    w.complete();
    let e1 = r.try_read().unwrap_err();
    assert_err(
        &e1,
        "WriterFailed(test error #1)",
        "the writer completed with an error: test error #1",
    );
    assert_eq!(
        e1.writer_error()
            .unwrap()
            .downcast_ref::<TestError>()
            .unwrap()
            .id,
        1
    );
    let e2 = r.read_blocking().unwrap_err();
    assert!(Arc::ptr_eq(
        e1.writer_error().unwrap(),
        e2.writer_error().unwrap()
    ));
    let e3 = r.read_at_least_blocking(1).unwrap_err();
    assert!(Arc::ptr_eq(
        e1.writer_error().unwrap(),
        e3.writer_error().unwrap()
    ));
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.writer_completion());
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => assert!(Arc::ptr_eq(&e, e1.writer_error().unwrap())),
            other => panic!("expected the writer's error, got {other:?}"),
        }
    }
    assert_eq!(c.count(), 0);
    finish(w, r, &pool);
}

#[test]
fn reader_double_completion_first_one_wins() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    r.complete();
    r.complete();
    r.complete_with_error(TestError { id: 7 });
    let f = w.flush_blocking().unwrap();
    assert!(f.is_completed() && !f.is_canceled());
    assert!(w.write_all_blocking(b"dropped").unwrap().is_completed());
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(w.reader_completion());
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(()))));
    }
    finish(w, r, &pool);

    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    r.complete_with_error(TestError { id: 7 });
    r.complete_with_error(TestError { id: 8 });
    r.complete();
    let e1 = w.flush_blocking().unwrap_err();
    assert_err(
        &e1,
        "ReaderFailed(test error #7)",
        "the reader completed with an error: test error #7",
    );
    let e2 = w.write_all_blocking(b"x").unwrap_err();
    assert!(Arc::ptr_eq(
        e1.reader_error().unwrap(),
        e2.reader_error().unwrap()
    ));
    let e3 = w.try_flush().unwrap_err();
    assert!(Arc::ptr_eq(
        e1.reader_error().unwrap(),
        e3.reader_error().unwrap()
    ));
    finish(w, r, &pool);
}

#[test]
fn writer_entry_points_after_its_completion() {
    let (mut w, mut r, pool) = pipe();
    put(&mut w, b"kept"); // advanced, not committed: completion commits it
    let _ = w.try_get_memory(4).unwrap(); // a grant that completion withdraws
    w.complete();
    let (c, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    // Completion is reported before anything about the size hint.
    for hint in [0, 1, 16, usize::MAX] {
        writer_completed(&w.try_get_memory(hint).unwrap_err());
        writer_completed(&w.get_memory_blocking(hint).unwrap_err());
        {
            let mut f = pin!(w.get_memory(hint));
            match poll_once(f.as_mut(), &waker) {
                Poll::Ready(Err(e)) => writer_completed(&e),
                other => panic!("expected WriterCompleted, got {other:?}"),
            }
        }
        match w.poll_get_memory(&mut cx, hint) {
            Poll::Ready(Err(e)) => writer_completed(&e),
            other => panic!("expected WriterCompleted, got {other:?}"),
        }
    }
    assert!(w.granted_memory().is_empty());
    assert_eq!(panic_message(|| w.advance(1)), advance_panic(1, 0));
    w.advance(0);
    w.commit(); // a no-op
    assert_eq!(w.unflushed_bytes(), 0);
    writer_completed(&w.try_flush().unwrap_err());
    writer_completed(&w.flush_blocking().unwrap_err());
    {
        let mut f = pin!(w.flush());
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => writer_completed(&e),
            other => panic!("expected WriterCompleted, got {other:?}"),
        }
    }
    match w.poll_flush(&mut cx) {
        Poll::Ready(Err(e)) => writer_completed(&e),
        other => panic!("expected WriterCompleted, got {other:?}"),
    }
    writer_completed(&w.write_all_blocking(b"more").unwrap_err());
    writer_completed(&w.write_all_blocking(b"").unwrap_err());
    {
        let mut f = pin!(w.write_all(b"more"));
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => writer_completed(&e),
            other => panic!("expected WriterCompleted, got {other:?}"),
        }
    }
    w.complete();
    w.complete_with_error(TestError { id: 9 });
    assert!(w.is_completed());
    assert_eq!(c.count(), 0, "nothing waited");
    // The reader gets exactly what was advanced before completion, once, then completion.
    let g = read_advance(&mut r, 4, 4);
    assert_eq!(g.bytes, b"kept");
    assert!(g.completed);
    let g = must_read(&mut r);
    assert!(g.completed && g.bytes.is_empty());
    finish(w, r, &pool);
}

#[test]
fn reader_entry_points_after_its_completion() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abcdef");
    let (p2, end) = {
        let res = r.try_read().unwrap().unwrap();
        (res.buffer().position(2), res.buffer().end())
    };
    r.complete();
    let (c, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    reader_completed(&r.try_read().unwrap_err());
    reader_completed(&r.read_blocking().unwrap_err());
    // Completion is reported before the minimum is looked at.
    for min in [0, 1, 64, 65, usize::MAX] {
        reader_completed(&r.read_at_least_blocking(min).unwrap_err());
        let mut f = pin!(r.read_at_least(min));
        match detach(poll_once(f.as_mut(), &waker)) {
            Poll::Ready(Err(e)) => reader_completed(&e),
            other => panic!("expected ReaderCompleted, got {other:?}"),
        }
    }
    {
        let mut f = pin!(r.read());
        match detach(poll_once(f.as_mut(), &waker)) {
            Poll::Ready(Err(e)) => reader_completed(&e),
            other => panic!("expected ReaderCompleted, got {other:?}"),
        }
    }
    match detach(r.poll_read(&mut cx)) {
        Poll::Ready(Err(e)) => reader_completed(&e),
        other => panic!("expected ReaderCompleted, got {other:?}"),
    }
    for (c, e) in [(p2, end), (end, p2)] {
        let err = r.advance_to(c, e).unwrap_err();
        assert_eq!(err, AdvanceError::ReaderCompleted);
        assert_eq!(err.to_string(), READER_DONE);
    }
    assert_eq!(
        r.advance_to_consumed(end).unwrap_err(),
        AdvanceError::ReaderCompleted
    );
    r.complete();
    r.complete_with_error(TestError { id: 3 });
    assert_eq!(c.count(), 0, "nothing waited");
    // The writer sees a plain completion.
    assert!(w.flush_blocking().unwrap().is_completed());
    // The writer's completion is still delivered to the completed reader.
    {
        let mut f = pin!(r.writer_completion());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        w.complete();
        assert_eq!(c.count(), 1);
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(()))));
    }
    finish(w, r, &pool);
}

#[test]
fn polling_a_finished_future_again_panics() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        match detach(poll_once(f.as_mut(), &waker)) {
            Poll::Ready(Ok(g)) => assert_eq!(g.bytes, b"abc"),
            other => panic!("expected data, got {other:?}"),
        }
        assert_eq!(
            panic_message(|| poll_once(f.as_mut(), &waker).is_ready()),
            "Read polled after completion"
        );
    }
    {
        let mut f = pin!(w.get_memory(4));
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(m)) => assert_eq!(m.len(), 13),
            other => panic!("expected memory, got {other:?}"),
        }
        assert_eq!(
            panic_message(|| poll_once(f.as_mut(), &waker).is_ready()),
            "GetMemory polled after completion"
        );
    }
    // A finished flush may be polled again: it is just another flush.
    {
        put(&mut w, b"d");
        let mut f = pin!(w.flush());
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(_))));
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(_))));
    }
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"abcd");
    roundtrip(&mut w, &mut r, b"e");
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Huge size hints and minimums
// ---------------------------------------------------------------------------------------------

fn too_large(e: &WriteError, requested: usize, max: usize) {
    assert_err(
        e,
        &format!("TooLarge {{ requested: {requested}, max: {max} }}"),
        &format!(
            "size hint {requested} is larger than the largest contiguous memory the pipe hands out ({max} bytes)"
        ),
    );
}

#[test]
fn huge_size_hints_are_too_large_on_every_form() {
    let (mut w, mut r, pool) = pipe(); // capacity 64, chunks of 16
    assert_eq!(w.max_memory(), 16);
    let (c, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for hint in [usize::MAX, 65, 17] {
        too_large(&w.try_get_memory(hint).unwrap_err(), hint, 16);
        too_large(&w.get_memory_blocking(hint).unwrap_err(), hint, 16);
        {
            let mut f = pin!(w.get_memory(hint));
            match poll_once(f.as_mut(), &waker) {
                Poll::Ready(Err(e)) => too_large(&e, hint, 16),
                other => panic!("expected TooLarge, got {other:?}"),
            }
        }
        match w.poll_get_memory(&mut cx, hint) {
            Poll::Ready(Err(e)) => too_large(&e, hint, 16),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
    assert_eq!(pool.in_use(), 0, "a refused hint takes no chunk");
    // Even on a full pipe a hint that can never fit is refused at once instead of waiting.
    put_commit(&mut w, &pattern(64));
    too_large(&w.try_get_memory(17).unwrap_err(), 17, 16);
    {
        let mut f = pin!(w.get_memory(17));
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => too_large(&e, 17, 16),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
    too_large(
        &w.get_memory_blocking(usize::MAX).unwrap_err(),
        usize::MAX,
        16,
    );
    assert_eq!(c.count(), 0, "nothing waited");
    assert_eq!(read_advance(&mut r, 64, 64).bytes, pattern(64));
    roundtrip(&mut w, &mut r, b"fits");
    finish(w, r, &pool);

    // A capacity below the chunk size bounds the hint.
    let (mut w, mut r, pool) = plain_pipe(8, 16);
    assert_eq!(w.max_memory(), 8);
    too_large(&w.try_get_memory(9).unwrap_err(), 9, 8);
    too_large(&w.try_get_memory(17).unwrap_err(), 17, 8);
    assert_eq!(w.try_get_memory(8).unwrap().len(), 8);
    roundtrip(&mut w, &mut r, b"12345678");
    finish(w, r, &pool);
}

#[test]
fn size_hint_zero_on_a_full_pipe_reports_full_for_zero_bytes() {
    // Oddity: a hint of 0 means "at least 1 byte", but Full reports the hint as given, so the
    // text reads "no room for 0 bytes".
    let (mut w, mut r, pool) = plain_pipe(16, 16);
    put_commit(&mut w, &pattern(16));
    let e = w.try_get_memory(0).unwrap_err();
    assert_err(
        &e,
        "Full { requested: 0 }",
        "the pipe has no room for 0 bytes right now",
    );
    // The waiting form waits for one byte of room and is woken by the reader's consume.
    let (c, waker) = counting_waker();
    let p1 = {
        let res = r.try_read().unwrap().unwrap();
        res.buffer().position(1)
    };
    {
        let mut f = pin!(w.get_memory(0));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        r.advance_to_consumed(p1).unwrap();
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(m)) => {
                assert_eq!(m.len(), 1);
                m[0] = 0xAA;
            }
            other => panic!("expected one byte, got {other:?}"),
        }
    }
    w.advance(1);
    w.commit();
    let mut expected = pattern(16)[1..].to_vec();
    expected.push(0xAA);
    assert_eq!(read_advance(&mut r, 16, 16).bytes, expected);
    roundtrip(&mut w, &mut r, b"z");
    finish(w, r, &pool);
}

fn minimum_too_large(e: &ReadError, minimum: usize, capacity: usize) {
    assert_err(
        e,
        &format!("MinimumTooLarge {{ minimum: {minimum}, capacity: {capacity} }}"),
        &format!(
            "read_at_least({minimum}) can never be satisfied: the pipe holds at most {capacity} bytes"
        ),
    );
}

#[test]
fn read_at_least_beyond_the_capacity_is_refused_on_every_form() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"data");
    let (c, waker) = counting_waker();
    for min in [usize::MAX, 65] {
        minimum_too_large(&r.read_at_least_blocking(min).unwrap_err(), min, 64);
        let mut f = pin!(r.read_at_least(min));
        match detach(poll_once(f.as_mut(), &waker)) {
            Poll::Ready(Err(e)) => minimum_too_large(&e, min, 64),
            other => panic!("expected MinimumTooLarge, got {other:?}"),
        }
    }
    // The capacity itself is a fine minimum: it waits.
    {
        let mut f = pin!(r.read_at_least(64));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    assert_eq!(c.count(), 0);
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"data");
    roundtrip(&mut w, &mut r, b"more data");
    finish(w, r, &pool);
}

#[test]
fn write_all_of_more_than_the_capacity_streams_by_hand() {
    let (mut w, mut r, pool) = pipe();
    let data = pattern(if cfg!(miri) { 300 } else { 1000 });
    let (c, waker) = counting_waker();
    let mut received = Vec::new();
    let mut pendings = 0;
    {
        let mut f = pin!(w.write_all(&data));
        loop {
            match poll_once(f.as_mut(), &waker) {
                Poll::Ready(res) => {
                    let fr = res.unwrap();
                    assert!(!fr.is_canceled() && !fr.is_completed());
                    break;
                }
                Poll::Pending => {
                    pendings += 1;
                    let before = c.count();
                    // write_all committed what it copied before waiting for room.
                    let chunk = drain(&mut r);
                    assert!(!chunk.is_empty());
                    received.extend_from_slice(&chunk);
                    assert_eq!(c.count(), before + 1, "woken once by the room");
                }
            }
        }
    }
    assert!(pendings >= data.len() / 64 - 1, "{pendings}");
    received.extend_from_slice(&drain(&mut r));
    assert_eq!(received, data);
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"tail");
    finish(w, r, &pool);
}

#[test]
fn write_all_of_more_than_the_capacity_streams_across_threads() {
    let n = if cfg!(miri) { 400 } else { 20_000 };
    let received = with_timeout(move || {
        let (mut w, mut r, pool) = pipe();
        let writer = std::thread::spawn(move || {
            let f = w.write_all_blocking(&pattern(n)).unwrap();
            assert!(!f.is_canceled() && !f.is_completed());
        });
        let mut received = Vec::new();
        loop {
            let res = r.read_blocking().unwrap();
            let buf = res.buffer();
            received.extend_from_slice(&buf.to_vec());
            let (end, done) = (buf.end(), res.is_completed());
            r.advance_to(end, end).unwrap();
            if done {
                break;
            }
        }
        writer.join().unwrap();
        drop(r);
        assert_eq!(pool.in_use(), 0);
        received
    });
    assert_eq!(received, pattern(n));
}

// ---------------------------------------------------------------------------------------------
// Bad options
// ---------------------------------------------------------------------------------------------

#[test]
fn options_zero_capacity_and_zero_chunk_size_are_refused() {
    let e = PipeOptions::builder().capacity(0).build().unwrap_err();
    assert_eq!(e, OptionsError::Capacity { capacity: 0 });
    assert_eq!(
        e.to_string(),
        "capacity 0 is out of range: it must be at least 1 byte"
    );
    let e = PipeOptions::builder().chunk_size(0).build().unwrap_err();
    assert_eq!(e, OptionsError::ChunkSize { chunk_size: 0 });
    assert_eq!(
        e.to_string(),
        "chunk size 0 is out of range: it must be between 1 and 1073741824 bytes"
    );
    for cs in [MAX_CHUNK_SIZE + 1, usize::MAX] {
        let e = PipeOptions::builder().chunk_size(cs).build().unwrap_err();
        assert_eq!(e, OptionsError::ChunkSize { chunk_size: cs });
        assert_eq!(
            e.to_string(),
            format!("chunk size {cs} is out of range: it must be between 1 and 1073741824 bytes")
        );
        assert_eq!(
            ChunkPool::global(cs).unwrap_err(),
            OptionsError::ChunkSize { chunk_size: cs }
        );
    }
    assert_eq!(
        ChunkPool::new(0, 4).unwrap_err(),
        OptionsError::ChunkSize { chunk_size: 0 }
    );
    assert_eq!(
        ChunkPool::global(0).unwrap_err(),
        OptionsError::ChunkSize { chunk_size: 0 }
    );
    // The capacity is checked first, then the chunk size, then the slots, pause and resume.
    let e = PipeOptions::builder()
        .capacity(0)
        .chunk_size(0)
        .pause_writer_threshold(5)
        .build()
        .unwrap_err();
    assert_eq!(e, OptionsError::Capacity { capacity: 0 });
    let e = PipeOptions::builder()
        .capacity(10)
        .chunk_size(0)
        .pause_writer_threshold(11)
        .build()
        .unwrap_err();
    assert_eq!(e, OptionsError::ChunkSize { chunk_size: 0 });
    let e = PipeOptions::builder()
        .capacity(10)
        .pause_writer_threshold(11)
        .resume_writer_threshold(12)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PauseThreshold {
            pause: 11,
            capacity: 10
        }
    );
}

#[test]
fn options_odd_and_tiny_chunk_sizes_work() {
    // Chunk sizes need not be powers of two; a chunk of 1 byte works.
    for cs in [1, 3, 7, 1000] {
        let pool = private_pool(cs, 4);
        let capacity = 3 * cs + 2;
        let (mut w, mut r) = ringpipe::pipe(opts(capacity, &pool, 0, 0));
        assert_eq!(w.max_memory(), cs);
        let data = pattern(capacity);
        assert!(w.write_all_blocking(&data).is_ok());
        assert_eq!(read_advance(&mut r, capacity, capacity).bytes, data);
        roundtrip(&mut w, &mut r, &pattern(cs.min(5)));
        finish(w, r, &pool);
    }
    // A chunk of 1 byte with the default capacity needs one slot per byte: refused. (A
    // private pool: `chunk_size(1)` alone would create the process-wide pool for 1-byte chunks,
    // whose free list has room for 8 Mi chunks, allocated at once: far too slow under Miri.)
    let e = PipeOptions::builder()
        .pool(private_pool(1, 1))
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::TooManyChunks {
            chunks: MAX_SLOTS + 1,
            max: MAX_SLOTS
        }
    );
    assert_eq!(
        e.to_string(),
        "capacity / chunk size needs 1048577 chunk slots, more than the 1048576 a ring may have: use bigger chunks"
    );
}

#[test]
fn options_bad_thresholds_are_refused() {
    let e = PipeOptions::builder()
        .capacity(100)
        .pause_writer_threshold(101)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PauseThreshold {
            pause: 101,
            capacity: 100
        }
    );
    assert_eq!(
        e.to_string(),
        "pause threshold 101 exceeds the capacity 100: the writer could never reach it"
    );
    let e = PipeOptions::builder()
        .capacity(100)
        .pause_writer_threshold(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PauseThreshold {
            pause: usize::MAX,
            capacity: 100
        }
    );
    let e = PipeOptions::builder()
        .pause_writer_threshold(10)
        .resume_writer_threshold(11)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::ResumeThreshold {
            resume: 11,
            pause: 10
        }
    );
    assert_eq!(
        e.to_string(),
        "resume threshold 11 is out of range: it must be at least 1 and at most the pause threshold 10"
    );
    // Against a defaulted pause threshold (min(64 KiB, capacity) = 100 here).
    let e = PipeOptions::builder()
        .capacity(100)
        .resume_writer_threshold(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::ResumeThreshold {
            resume: usize::MAX,
            pause: 100
        }
    );
    // A resume threshold is ignored when the writer never pauses.
    let o = PipeOptions::builder()
        .pause_writer_threshold(0)
        .resume_writer_threshold(usize::MAX)
        .build()
        .unwrap();
    assert_eq!(o.resume_writer_threshold(), 0);
}

#[test]
fn options_pool_chunk_size_mismatch_is_refused() {
    let pool = private_pool(16, 4);
    let e = PipeOptions::builder()
        .pool(pool.clone())
        .chunk_size(32)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PoolChunkSize {
            pool: 16,
            requested: 32
        }
    );
    assert_eq!(
        e.to_string(),
        "the pool's chunks are 16 bytes but a chunk size of 32 was asked for"
    );
    // The order of the setters does not matter; an invalid chunk size is a mismatch too.
    let e = PipeOptions::builder()
        .chunk_size(0)
        .pool(pool.clone())
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PoolChunkSize {
            pool: 16,
            requested: 0
        }
    );
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.allocated(), 0);
}

#[test]
fn options_huge_capacities_are_refused_without_allocating() {
    let e = PipeOptions::builder()
        .capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::TooManyChunks {
            chunks: (1 << 50) + 1,
            max: MAX_SLOTS
        }
    );
    assert_eq!(
        e.to_string(),
        "capacity / chunk size needs 1125899906842625 chunk slots, more than the 1048576 a ring may have: use bigger chunks"
    );
    let big = ChunkPool::new(MAX_CHUNK_SIZE, 0).unwrap();
    let e = PipeOptions::builder()
        .pool(big.clone())
        .capacity(1 << 62)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::TooManyChunks {
            chunks: (1 << 32) + 1,
            max: MAX_SLOTS
        }
    );
    let e = PipeOptions::builder()
        .pool(big.clone())
        .capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::TooManyChunks {
            chunks: (1 << 34) + 1,
            max: MAX_SLOTS
        }
    );
    // The largest capacity that fits validates, and validating allocates nothing (the pipe
    // itself is not built here: its slot array alone would be tens of MiB).
    let largest = (MAX_SLOTS - 1) * MAX_CHUNK_SIZE;
    let o = PipeOptions::builder()
        .pool(big.clone())
        .capacity(largest)
        .build()
        .unwrap();
    assert_eq!(o.slots(), MAX_SLOTS);
    assert_eq!(o.pause_writer_threshold(), 64 << 10);
    let e = PipeOptions::builder()
        .pool(big.clone())
        .capacity(largest + 1)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::TooManyChunks {
            chunks: MAX_SLOTS + 1,
            max: MAX_SLOTS
        }
    );
    assert_eq!(big.allocated(), 0);
}

#[test]
fn options_never_panic_for_any_combination() {
    // Every combination of extreme settings builds or is refused; none panics. (Chunk size 1
    // with capacity usize::MAX is left out: see the ignored test below.)
    let sizes: &[usize] = if cfg!(miri) {
        &[0, 1, 16, usize::MAX]
    } else {
        &[
            0,
            1,
            2,
            15,
            16,
            17,
            1 << 20,
            usize::MAX / 2,
            usize::MAX - 1,
            usize::MAX,
        ]
    };
    let pools: Vec<ChunkPool> = [1, 16, MAX_CHUNK_SIZE]
        .iter()
        .map(|&cs| private_pool(cs, 1))
        .collect();
    let mut built = 0;
    for pool in &pools {
        for &capacity in sizes {
            if pool.chunk_size() == 1 && capacity == usize::MAX {
                continue;
            }
            for &pause in sizes {
                for &resume in sizes {
                    let res = PipeOptions::builder()
                        .pool(pool.clone())
                        .capacity(capacity)
                        .pause_writer_threshold(pause)
                        .resume_writer_threshold(resume)
                        .build();
                    if let Ok(o) = res {
                        built += 1;
                        assert!(o.capacity() >= 1);
                        assert!(o.pause_writer_threshold() <= o.capacity());
                        assert!(o.resume_writer_threshold() <= o.pause_writer_threshold());
                        assert!(o.slots().is_power_of_two() && o.slots() <= MAX_SLOTS);
                    }
                }
            }
        }
        assert_eq!(pool.allocated(), 0);
    }
    assert!(built > 0);
}

#[test]
fn options_chunk_size_one_with_capacity_usize_max_is_refused() {
    let pool = private_pool(1, 1);
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        let _quiet = Quiet::new();
        PipeOptions::builder()
            .pool(pool.clone())
            .capacity(usize::MAX)
            .build()
            .map(|o| o.slots())
    }));
    match res {
        Ok(Err(OptionsError::TooManyChunks { max, .. })) => assert_eq!(max, MAX_SLOTS),
        Ok(other) => panic!("expected TooManyChunks, got {other:?}"),
        Err(_) => panic!("build panicked instead of returning TooManyChunks"),
    }
}

#[test]
fn pool_with_max_retained_zero_keeps_no_idle_chunk() {
    let pool = private_pool(16, 0);
    let (mut w, mut r) = ringpipe::pipe(opts(64, &pool, 0, 0));
    roundtrip(&mut w, &mut r, b"abc");
    finish(w, r, &pool);
    assert_eq!(pool.retained(), 0);
}

// ---------------------------------------------------------------------------------------------
// Dropping halves mid-operation, dropping and forgetting futures
// ---------------------------------------------------------------------------------------------

#[test]
fn drop_reader_while_the_writer_holds_granted_memory() {
    let (mut w, r, pool) = pipe();
    put_commit(&mut w, b"never read");
    let m = w.try_get_memory(8).unwrap();
    drop(r);
    // The memory stays the writer's: writing into it after the reader is gone is fine.
    m[..8].copy_from_slice(b"scratch!");
    w.advance(8);
    assert_eq!(w.unflushed_bytes(), 8);
    let f = w.flush_blocking().unwrap();
    assert!(f.is_completed() && !f.is_canceled());
    assert_eq!(w.unflushed_bytes(), 0);
    assert!(pool.in_use() >= 1, "the writer still holds its chunk");
    drop(w);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drop_reader_while_bytes_are_advanced_but_not_committed() {
    let (mut w, r, pool) = pipe();
    put(&mut w, &pattern(40)); // three chunks, nothing committed
    assert_eq!(pool.in_use(), 3);
    drop(r);
    assert_eq!(w.unflushed_bytes(), 40);
    w.commit(); // publishes to nobody
    assert!(w.try_flush().unwrap().unwrap().is_completed());
    assert!(w.write_all_blocking(b"dropped").unwrap().is_completed());
    assert_eq!(w.unflushed_bytes(), 0);
    drop(w);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drop_reader_while_a_flush_is_pending() {
    let (mut w, r, pool) = bp_pipe(64, 16, 8, 4);
    put(&mut w, &[1; 8]);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        drop(r);
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(fr)) => assert!(fr.is_completed() && !fr.is_canceled()),
            other => panic!("expected a completed flush, got {other:?}"),
        }
    }
    assert!(!w.is_paused());
    drop(w);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drop_reader_while_get_memory_waits_for_room() {
    let (mut w, r, pool) = plain_pipe(16, 16);
    put_commit(&mut w, &pattern(16));
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.get_memory(4));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        drop(r);
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            // Scratch memory: the whole chunk, written into and dropped.
            Poll::Ready(Ok(m)) => {
                assert_eq!(m.len(), 16);
                m.fill(0xEE);
            }
            other => panic!("expected scratch memory, got {other:?}"),
        }
    }
    w.advance(16);
    assert!(w.flush_blocking().unwrap().is_completed());
    drop(w);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drop_writer_while_a_read_is_pending() {
    let (mut w, mut r, pool) = pipe();
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        put(&mut w, b"abc"); // not committed: dropping the writer commits it
        let _ = w.try_get_memory(4).unwrap(); // granted, never advanced: never seen
        drop(w);
        assert_eq!(c.count(), 1);
        match detach(poll_once(f.as_mut(), &waker)) {
            Poll::Ready(Ok(g)) => {
                assert_eq!(g.bytes, b"abc");
                assert!(g.completed && !g.canceled);
            }
            other => panic!("expected the last bytes, got {other:?}"),
        }
    }
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"abc");
    let g = must_read(&mut r);
    assert!(g.completed && g.bytes.is_empty());
    drop(r);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drop_writer_while_data_is_unread() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, &pattern(40));
    drop(w);
    assert_eq!(pool.in_use(), 3);
    let g = read_advance(&mut r, 20, 20);
    assert_eq!(g.bytes, pattern(40));
    assert!(g.completed);
    assert_eq!(pool.in_use(), 2, "the first chunk is consumed");
    let g = read_advance(&mut r, 20, 20);
    assert_eq!(g.bytes, &pattern(40)[20..]);
    assert!(g.completed);
    drop(r);
    assert_eq!(pool.in_use(), 0);
    // And the other order: the reader goes first, with the data unread.
    let (mut w, r, pool) = pipe();
    put_commit(&mut w, &pattern(40));
    drop(r);
    assert_eq!(pool.in_use(), 3);
    drop(w);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn dropped_pending_read_leaves_nothing_behind() {
    let (mut w, mut r, pool) = pipe();
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    {
        let mut f = pin!(r.read_at_least(10));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    put_commit(&mut w, b"xyz");
    assert_eq!(c.count(), 0, "a dropped read is not woken");
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"xyz");
    assert!(!g.canceled && !g.completed);
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"again");
    finish(w, r, &pool);
}

#[test]
fn dropped_pending_get_memory_leaves_nothing_behind() {
    let (mut w, mut r, pool) = plain_pipe(16, 16);
    put_commit(&mut w, &pattern(16));
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.get_memory(8));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    assert_eq!(read_advance(&mut r, 16, 16).bytes, pattern(16));
    assert_eq!(c.count(), 0, "a dropped wait is not woken");
    roundtrip(&mut w, &mut r, b"room again");
    finish(w, r, &pool);
}

#[test]
fn dropped_pending_flush_leaves_the_data_committed() {
    let (mut w, mut r, pool) = bp_pipe(64, 16, 8, 4);
    put(&mut w, &[3; 8]);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(read_advance(&mut r, 8, 8).bytes, [3; 8]);
    assert_eq!(c.count(), 0, "a dropped flush is not woken");
    let f = w.try_flush().unwrap().unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
    roundtrip(&mut w, &mut r, b"12");
    finish(w, r, &pool);
}

#[test]
fn forgotten_pending_read_keeps_its_registration_until_the_next_read() {
    // Like a Pending poll_read: the reader stays registered until the next read or poll.
    let (mut w, mut r, pool) = pipe();
    let (c, waker) = counting_waker();
    let mut f = r.read();
    assert!(poll_once(Pin::new(&mut f), &waker).is_pending());
    std::mem::forget(f);
    put_commit(&mut w, b"abc");
    assert_eq!(c.count(), 1);
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"abc");
    put_commit(&mut w, b"d");
    assert_eq!(c.count(), 1, "the next read ended the registration");
    assert_eq!(read_advance(&mut r, 1, 1).bytes, b"d");
    roundtrip(&mut w, &mut r, b"efg");
    finish(w, r, &pool);
}

#[test]
fn forgotten_pending_flush_and_get_memory_leave_the_writer_usable() {
    let (mut w, mut r, pool) = bp_pipe(16, 16, 8, 4);
    put(&mut w, &[1; 8]);
    let (c, waker) = counting_waker();
    let mut f = w.flush();
    assert!(poll_once(Pin::new(&mut f), &waker).is_pending());
    std::mem::forget(f);
    assert_eq!(read_advance(&mut r, 8, 8).bytes, [1; 8]);
    assert_eq!(c.count(), 1, "the forgotten flush is still woken");
    assert!(!w.try_flush().unwrap().unwrap().is_canceled());
    put_commit(&mut w, &[2; 16]); // 16 of 16: full
    let mut g = w.get_memory(4);
    assert!(poll_once(Pin::new(&mut g), &waker).is_pending());
    std::mem::forget(g);
    assert_eq!(read_advance(&mut r, 16, 16).bytes, [2; 16]);
    assert_eq!(c.count(), 2, "the forgotten wait for room is still woken");
    let m = w.try_get_memory(4).unwrap();
    m[..4].copy_from_slice(b"last");
    w.advance(4);
    w.commit();
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"last");
    finish(w, r, &pool);
}

#[test]
fn abandoned_wait_for_room_does_not_make_a_later_read_report_a_deadlock() {
    let mut outcomes = Vec::new();
    for forget in [false, true] {
        let (mut w, mut r, _pool) = plain_pipe(8, 4);
        put_commit(&mut w, b"01234567"); // full
        let (_c, waker) = counting_waker();
        if forget {
            let mut g = w.get_memory(4);
            assert!(poll_once(Pin::new(&mut g), &waker).is_pending());
            std::mem::forget(g);
        } else {
            let mut cx = Context::from_waker(&waker);
            assert!(w.poll_get_memory(&mut cx, 4).is_pending());
        }
        // The reader consumes 2 bytes and examines everything; the writer, instead of
        // waiting for 4 bytes of room, writes the 1 byte it has room for now.
        read_advance(&mut r, 2, 8);
        put_commit(&mut w, b"8");
        let g = read_advance(&mut r, 0, 7);
        assert_eq!(g.bytes, b"2345678");
        // 7 of 8 bytes, nobody waits for room: this read must wait, not report a deadlock.
        let mut f = pin!(r.read());
        outcomes.push(format!(
            "forget = {forget}: {:?}",
            detach(poll_once(f.as_mut(), &waker))
        ));
    }
    assert_eq!(
        outcomes,
        ["forget = false: Pending", "forget = true: Pending"]
    );
}

// ---------------------------------------------------------------------------------------------
// Panicking wakers
// ---------------------------------------------------------------------------------------------

#[test]
fn read_waker_panicking_in_commit_propagates_and_loses_nothing() {
    let (mut w, mut r, pool) = pipe();
    let (bad_count, bad) = panic_waker();
    let (good_count, good) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        put(&mut w, b"abc");
        assert_eq!(panic_message(|| w.commit()), WAKE_PANIC);
        assert_eq!(bad_count.wakes(), 1);
        // The commit happened before the wake-up.
        assert_eq!(w.unflushed_bytes(), 0);
        w.commit(); // nothing left to commit, nobody woken twice
        assert_eq!(bad_count.wakes(), 1);
        match detach(poll_once(f.as_mut(), &good)) {
            Poll::Ready(Ok(g)) => assert_eq!(g.bytes, b"abc"),
            other => panic!("expected the data, got {other:?}"),
        }
    }
    assert_eq!(read_advance(&mut r, 3, 3).bytes, b"abc");
    assert!(r.try_read().unwrap().is_none());
    // The panicking waker was used up: later wake-ups go to the good one.
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &good).is_pending());
        put_commit(&mut w, b"d");
        assert_eq!(good_count.count(), 1);
        assert!(matches!(poll_once(f.as_mut(), &good), Poll::Ready(Ok(_))));
    }
    assert_eq!(read_advance(&mut r, 1, 1).bytes, b"d");
    roundtrip(&mut w, &mut r, b"e");
    finish(w, r, &pool);
}

#[test]
fn read_waker_panicking_in_flush_and_write_all_propagates_and_loses_nothing() {
    let (mut w, mut r, pool) = pipe();
    let (bad_count, bad) = panic_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        put(&mut w, b"abc");
        assert_eq!(panic_message(|| w.flush_blocking()), WAKE_PANIC);
        assert_eq!(w.unflushed_bytes(), 0);
        assert!(!w.try_flush().unwrap().unwrap().is_canceled());
    }
    assert_eq!(read_advance(&mut r, 3, 3).bytes, b"abc");
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        assert_eq!(panic_message(|| w.write_all_blocking(b"def")), WAKE_PANIC);
    }
    assert_eq!(bad_count.wakes(), 2);
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(read_advance(&mut r, 3, 3).bytes, b"def");
    assert!(r.try_read().unwrap().is_none());
    roundtrip(&mut w, &mut r, b"ghi");
    finish(w, r, &pool);
}

#[test]
fn read_waker_panicking_in_the_writers_completion_propagates() {
    // The reader waits for more than the committed data; the writer then completes (or is
    // dropped): the completion takes effect, then the wake-up panics.
    for by_drop in [false, true] {
        let (mut w, mut r, pool) = pipe();
        let (bad_count, bad) = panic_waker();
        put_commit(&mut w, b"last");
        {
            let mut f = pin!(r.read_at_least(5));
            assert!(poll_once(f.as_mut(), &bad).is_pending());
            if by_drop {
                assert_eq!(panic_message(move || drop(w)), WAKE_PANIC);
            } else {
                assert_eq!(panic_message(|| w.complete()), WAKE_PANIC);
                assert!(w.is_completed());
                w.complete(); // no second wake-up
                drop(w);
            }
        }
        assert_eq!(bad_count.wakes(), 1);
        let g = read_advance(&mut r, 4, 4);
        assert_eq!(g.bytes, b"last");
        assert!(g.completed);
        drop(r);
        assert_eq!(pool.in_use(), 0, "by_drop = {by_drop}");
    }
}

#[test]
fn read_waker_panicking_in_complete_still_completes_the_writer() {
    // Regression: complete() commits the unflushed bytes first; a wake-up that panicked there
    // used to end complete() before the completion was recorded. Now every change of state
    // comes first and the one wake-up last: the panic reaches the caller, the writer is
    // completed, and the reader gets the bytes and then the completion, exactly once.
    let (mut w, mut r, pool) = pipe();
    let (bad_count, bad) = panic_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        put(&mut w, b"last");
        assert_eq!(panic_message(|| w.complete()), WAKE_PANIC);
    }
    assert_eq!(bad_count.wakes(), 1);
    assert!(w.is_completed() && r.is_writer_completed());
    assert_eq!(w.unflushed_bytes(), 0);
    let g = read_advance(&mut r, 4, 4);
    assert_eq!(g.bytes, b"last");
    assert!(g.completed);
    w.complete(); // a second completion changes nothing
    assert!(matches!(
        w.flush_blocking(),
        Err(WriteError::WriterCompleted)
    ));
    finish(w, r, &pool);
}

#[test]
fn read_waker_panicking_when_the_writer_is_dropped_with_unflushed_bytes() {
    let (mut w, mut r, pool) = pipe();
    let (_bad_count, bad) = panic_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        put(&mut w, b"last");
        assert_eq!(panic_message(move || drop(w)), WAKE_PANIC);
    }
    assert!(
        r.is_writer_completed(),
        "the dropped writer must be completed"
    );
    let g = read_advance(&mut r, 4, 4);
    assert_eq!(g.bytes, b"last");
    assert!(g.completed);
    drop(r);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn flush_waker_panicking_in_advance_to_propagates_and_loses_nothing() {
    let (mut w, mut r, pool) = bp_pipe(64, 16, 8, 4);
    let (bad_count, bad) = panic_waker();
    let (_good_count, good) = counting_waker();
    put(&mut w, &[1; 8]);
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        let end = {
            let res = r.try_read().unwrap().unwrap();
            assert_eq!(res.buffer().to_vec(), [1; 8]);
            res.buffer().end()
        };
        assert_eq!(
            panic_message(|| r.advance_to(end, end).unwrap()),
            WAKE_PANIC
        );
        assert_eq!(bad_count.wakes(), 1);
        // The advance took effect before the wake-up.
        assert_eq!(r.consumed_bytes(), 8);
        assert!(r.try_read().unwrap().is_none());
        match poll_once(f.as_mut(), &good) {
            Poll::Ready(Ok(fr)) => assert!(!fr.is_canceled() && !fr.is_completed()),
            other => panic!("expected the flush to resume, got {other:?}"),
        }
    }
    assert!(!w.is_paused());
    roundtrip(&mut w, &mut r, b"1234567");
    finish(w, r, &pool);
}

#[test]
fn get_memory_waker_panicking_in_advance_to_propagates_and_loses_nothing() {
    let (mut w, mut r, pool) = plain_pipe(16, 16);
    put_commit(&mut w, &pattern(16));
    let (bad_count, bad) = panic_waker();
    let (_good_count, good) = counting_waker();
    {
        let mut f = pin!(w.get_memory(4));
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        let end = {
            let res = r.try_read().unwrap().unwrap();
            res.buffer().end()
        };
        assert_eq!(
            panic_message(|| r.advance_to(end, end).unwrap()),
            WAKE_PANIC
        );
        assert_eq!(bad_count.wakes(), 1);
        assert_eq!(r.consumed_bytes(), 16);
        match poll_once(f.as_mut(), &good) {
            Poll::Ready(Ok(m)) => {
                assert_eq!(m.len(), 16);
                m[..4].copy_from_slice(b"next");
            }
            other => panic!("expected memory, got {other:?}"),
        }
    }
    w.advance(4);
    w.commit();
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"next");
    roundtrip(&mut w, &mut r, b"more");
    finish(w, r, &pool);
}

#[test]
fn completion_future_waker_panicking_in_the_first_completion_propagates() {
    // The writer waits for the reader's completion; the reader completes first.
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    let (bad_count, bad) = panic_waker();
    {
        let mut f = pin!(w.reader_completion());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
    }
    assert_eq!(panic_message(|| r.complete()), WAKE_PANIC);
    assert_eq!(bad_count.wakes(), 1);
    assert!(r.is_completed() && w.is_reader_completed());
    assert!(w.flush_blocking().unwrap().is_completed());
    finish(w, r, &pool);

    // The reader waits for the writer's completion; the writer completes first.
    let (mut w, mut r, pool) = pipe();
    put(&mut w, b"abc");
    {
        let mut f = pin!(r.writer_completion());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
    }
    assert_eq!(panic_message(|| w.complete()), WAKE_PANIC);
    assert_eq!(bad_count.wakes(), 2);
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"abc");
    assert!(g.completed);
    finish(w, r, &pool);
}

#[test]
fn completion_waker_panicking_in_the_second_completion_still_frees_the_chunks() {
    // Writer completes, waits for the reader's completion; the reader completes second.
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    w.complete();
    let (_bad_count, bad) = panic_waker();
    {
        let mut f = pin!(w.reader_completion());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
    }
    assert_eq!(panic_message(|| r.complete()), WAKE_PANIC);
    drop((w, r));
    assert_eq!(pool.in_use(), 0, "reader completed second");

    // Reader completes, waits for the writer's completion; the writer completes second.
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    r.complete();
    {
        let mut f = pin!(r.writer_completion());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
    }
    assert_eq!(panic_message(move || drop(w)), WAKE_PANIC);
    drop(r);
    assert_eq!(pool.in_use(), 0, "writer completed second");
}

#[test]
fn read_waker_panicking_in_cancel_propagates_and_the_cancel_still_counts() {
    let (mut w, mut r, pool) = pipe();
    let canceller = w.canceller();
    let (bad_count, bad) = panic_waker();
    let (_good_count, good) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bad).is_pending());
        assert_eq!(
            panic_message(|| canceller.cancel_pending_read()),
            WAKE_PANIC
        );
        assert_eq!(bad_count.wakes(), 1);
        match detach(poll_once(f.as_mut(), &good)) {
            Poll::Ready(Ok(g)) => assert!(g.canceled && g.bytes.is_empty()),
            other => panic!("expected a canceled read, got {other:?}"),
        }
    }
    assert!(r.try_read().unwrap().is_none(), "one-shot");
    roundtrip(&mut w, &mut r, b"abc");
    finish(w, r, &pool);
}

#[test]
fn read_waker_panicking_in_flush_does_not_skip_backpressure() {
    let (mut w, mut r, _pool) = bp_pipe(64, 16, 8, 4);
    let (_bad_count, bad) = panic_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &bad).is_pending());
    put(&mut w, &[1; 8]);
    assert_eq!(panic_message(|| w.try_flush()), WAKE_PANIC);
    assert!(w.is_paused());
    assert_eq!(w.try_flush().unwrap(), None);
}

#[test]
fn waker_panicking_on_drop_when_replaced_does_not_lose_later_wake_ups() {
    let (mut w, mut r, _pool) = pipe();
    let (armed, bomb) = drop_bomb();
    let (good_count, good) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &bomb).is_pending());
    }
    drop(bomb); // the pipe now holds the last handle
    armed.store(true, Ordering::SeqCst);
    {
        let mut f = pin!(r.read());
        // Registering the good waker drops the bomb.
        assert_eq!(
            panic_message(|| poll_once(f.as_mut(), &good).is_pending()),
            DROP_PANIC
        );
    }
    assert_commit_wakes_read(&mut w, &mut r, &good, &good_count);
}

#[test]
fn waker_panicking_on_clone_does_not_lose_later_wake_ups() {
    let (mut w, mut r, _pool) = pipe();
    let (good_count, good) = counting_waker();
    let bad = clone_panicking_waker();
    {
        let mut f = pin!(r.read());
        assert_eq!(
            panic_message(|| poll_once(f.as_mut(), &bad).is_pending()),
            CLONE_PANIC
        );
    }
    assert_commit_wakes_read(&mut w, &mut r, &good, &good_count);
}

#[test]
fn waker_panicking_on_drop_in_reset_can_be_reset_again() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"abc");
    r.complete();
    w.complete();
    assert_eq!(pool.in_use(), 0);
    let (armed, bomb) = drop_bomb();
    {
        // Registered (and left behind in the reader's waker slot) by a poll that is ready.
        let mut f = pin!(r.writer_completion());
        assert!(matches!(poll_once(f.as_mut(), &bomb), Poll::Ready(Ok(()))));
    }
    drop(bomb);
    armed.store(true, Ordering::SeqCst);
    assert_eq!(
        panic_message(|| ringpipe::reset(&mut w, &mut r)),
        DROP_PANIC
    );
    // The halves still say completed; a second reset finishes the job.
    assert!(w.is_completed() && r.is_completed());
    writer_completed(&w.try_get_memory(1).unwrap_err());
    reader_completed(&r.try_read().unwrap_err());
    ringpipe::reset(&mut w, &mut r).unwrap();
    assert!(!w.is_completed() && !r.is_completed());
    roundtrip(&mut w, &mut r, b"fresh");
    finish(w, r, &pool);
}

#[test]
fn error_conversion_panicking_in_complete_with_error_changes_nothing() {
    struct BadError;
    impl From<BadError> for Box<dyn std::error::Error + Send + Sync> {
        fn from(_: BadError) -> Self {
            panic!("misuse test: the error conversion panicked")
        }
    }
    let (mut w, mut r, pool) = pipe();
    assert_eq!(
        panic_message(|| w.complete_with_error(BadError)),
        "misuse test: the error conversion panicked"
    );
    assert!(!w.is_completed() && !r.is_writer_completed());
    assert_eq!(
        panic_message(|| r.complete_with_error(BadError)),
        "misuse test: the error conversion panicked"
    );
    assert!(!r.is_completed() && !w.is_reader_completed());
    roundtrip(&mut w, &mut r, b"still open");
    w.complete_with_error(TestError { id: 5 });
    assert_err(
        &r.try_read().unwrap_err(),
        "WriterFailed(test error #5)",
        "the writer completed with an error: test error #5",
    );
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Reset misuse
// ---------------------------------------------------------------------------------------------

#[test]
fn reset_with_a_side_not_completed_is_refused_and_changes_nothing() {
    for (wc, rc) in [(false, false), (true, false), (false, true)] {
        let (mut w, mut r, pool) = pipe();
        put_commit(&mut w, b"abc");
        if wc {
            w.complete();
        }
        if rc {
            r.complete();
        }
        let e = ringpipe::reset(&mut w, &mut r).unwrap_err();
        assert_eq!(
            e,
            ResetError::NotCompleted {
                writer: wc,
                reader: rc
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "both reader and writer have to be completed to reset the pipe (writer completed: {wc}, reader completed: {rc})"
            )
        );
        assert_eq!((w.is_completed(), r.is_completed()), (wc, rc));
        if !rc {
            let g = read_advance(&mut r, 3, 3);
            assert_eq!(g.bytes, b"abc");
            assert_eq!(g.completed, wc);
        }
        if !wc {
            assert_eq!(w.flush_blocking().unwrap().is_completed(), rc);
        }
        if !wc && !rc {
            roundtrip(&mut w, &mut r, b"def");
        }
        finish(w, r, &pool);
    }
}

#[test]
fn reset_with_halves_of_two_pipes_is_refused() {
    let (mut w1, mut r1, pool1) = pipe();
    let (mut w2, mut r2, pool2) = pipe();
    // Reported first, even when nothing is completed.
    let e = ringpipe::reset(&mut w1, &mut r2).unwrap_err();
    assert_eq!(e, ResetError::DifferentPipes);
    assert_eq!(
        e.to_string(),
        "the writer and the reader belong to different pipes"
    );
    put_commit(&mut w1, b"one");
    put_commit(&mut w2, b"two");
    for side in [&mut w1, &mut w2] {
        side.complete();
    }
    r1.complete();
    r2.complete();
    assert_eq!(
        ringpipe::reset(&mut w2, &mut r1).unwrap_err(),
        ResetError::DifferentPipes
    );
    ringpipe::reset(&mut w1, &mut r1).unwrap();
    ringpipe::reset(&mut w2, &mut r2).unwrap();
    roundtrip(&mut w1, &mut r1, b"first");
    roundtrip(&mut w2, &mut r2, b"second");
    finish(w1, r1, &pool1);
    finish(w2, r2, &pool2);
}

#[test]
fn reset_twice_is_refused_the_second_time() {
    let (mut w, mut r, pool) = pipe();
    w.complete();
    r.complete();
    ringpipe::reset(&mut w, &mut r).unwrap();
    assert_eq!(
        ringpipe::reset(&mut w, &mut r).unwrap_err(),
        ResetError::NotCompleted {
            writer: false,
            reader: false
        }
    );
    roundtrip(&mut w, &mut r, b"abc");
    // A canceller made before a reset still belongs to the pipe.
    let canceller = r.canceller();
    w.complete();
    r.complete();
    ringpipe::reset(&mut w, &mut r).unwrap();
    canceller.cancel_pending_read();
    let g = must_read(&mut r);
    assert!(g.canceled && g.bytes.is_empty());
    roundtrip(&mut w, &mut r, b"def");
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Cancel misuse
// ---------------------------------------------------------------------------------------------

#[test]
fn cancel_read_with_nothing_pending_cancels_the_next_read_once() {
    let (mut w, mut r, pool) = pipe();
    let canceller = r.canceller();
    for _ in 0..5 {
        canceller.cancel_pending_read();
    }
    let g = must_read(&mut r);
    assert!(g.canceled && !g.completed && g.bytes.is_empty());
    assert!(r.try_read().unwrap().is_none(), "one-shot, however many");
    // With data: the canceled read returns it, and nothing is lost.
    put_commit(&mut w, b"abc");
    canceller.cancel_pending_read();
    canceller.cancel_pending_read();
    let g = read_advance(&mut r, 0, 0);
    assert!(g.canceled);
    assert_eq!(g.bytes, b"abc");
    let g = read_advance(&mut r, 3, 3);
    assert!(!g.canceled);
    assert_eq!(g.bytes, b"abc");
    roundtrip(&mut w, &mut r, b"d");
    finish(w, r, &pool);
}

#[test]
fn cancel_flush_with_nothing_pending_cancels_the_next_flush_once() {
    let (mut w, mut r, pool) = pipe();
    let canceller = w.canceller();
    for _ in 0..5 {
        canceller.cancel_pending_flush();
    }
    put(&mut w, b"abc");
    let f = w.flush_blocking().unwrap();
    assert!(f.is_canceled() && !f.is_completed());
    // The canceled flush committed all the same.
    assert_eq!(w.unflushed_bytes(), 0);
    let f = w.flush_blocking().unwrap();
    assert!(!f.is_canceled(), "one-shot, however many");
    // A commit does not consume a cancel; the next flush does.
    canceller.cancel_pending_flush();
    put_commit(&mut w, b"def");
    assert!(w.try_flush().unwrap().unwrap().is_canceled());
    assert!(!w.try_flush().unwrap().unwrap().is_canceled());
    assert_eq!(read_advance(&mut r, 6, 6).bytes, b"abcdef");
    roundtrip(&mut w, &mut r, b"g");
    finish(w, r, &pool);
}

#[test]
fn cancel_after_completion() {
    // Reader completed: its completion is reported, not the cancel.
    let (mut w, mut r, pool) = pipe();
    let canceller = r.canceller();
    r.complete();
    canceller.cancel_pending_read();
    reader_completed(&r.try_read().unwrap_err());
    // Reader completed: a flush reports the completion, not the cancel, every time.
    canceller.cancel_pending_flush();
    for _ in 0..2 {
        let f = w.flush_blocking().unwrap();
        assert!(f.is_completed() && !f.is_canceled());
    }
    w.complete();
    canceller.cancel_pending_flush();
    writer_completed(&w.flush_blocking().unwrap_err());
    finish(w, r, &pool);

    // Writer completed: the next read is canceled and completed, then just completed.
    let (mut w, mut r, pool) = pipe();
    let canceller = w.canceller();
    put_commit(&mut w, b"abc");
    w.complete();
    canceller.cancel_pending_read();
    let g = must_read(&mut r);
    assert!(g.canceled && g.completed);
    assert_eq!(g.bytes, b"abc");
    let g = read_advance(&mut r, 3, 3);
    assert!(!g.canceled && g.completed);
    finish(w, r, &pool);

    // Writer failed: the error is reported every time, the cancel never shows.
    let (mut w, mut r, pool) = pipe();
    let canceller = w.canceller();
    w.complete_with_error(TestError { id: 4 });
    canceller.cancel_pending_read();
    for _ in 0..2 {
        assert_err(
            &r.try_read().unwrap_err(),
            "WriterFailed(test error #4)",
            "the writer completed with an error: test error #4",
        );
    }
    finish(w, r, &pool);
}

#[test]
fn cancel_flush_ends_a_write_all_waiting_for_room() {
    // .NET's CancelPendingFlush releases a writer held by backpressure: a write_all that waits
    // for room returns canceled, with what went in committed and counted in `written`.
    let (mut w, mut r, pool) = plain_pipe(16, 16);
    let canceller = w.canceller();
    let data = pattern(24);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.write_all(&data));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        canceller.cancel_pending_flush();
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(fr)) => {
                assert!(fr.is_canceled() && !fr.is_completed());
                assert_eq!(fr.written(), 16, "the first 16 bytes went in");
            }
            other => panic!("expected a canceled write_all, got {other:?}"),
        }
    }
    assert_eq!(drain(&mut r), &data[..16], "what went in is committed");
    // One-shot: the next flush is not canceled, and the rest can be written.
    assert!(!w.try_flush().unwrap().unwrap().is_canceled());
    let fr = w.write_all_blocking(&data[16..]).unwrap();
    assert!(!fr.is_canceled());
    assert_eq!(fr.written(), 8);
    assert_eq!(drain(&mut r), &data[16..]);
    roundtrip(&mut w, &mut r, b"end");
    finish(w, r, &pool);
}

#[test]
fn cancel_flush_ends_a_get_memory_waiting_for_room() {
    // The blocking, async and poll forms of get_memory all end with `Canceled`, once; a cancel
    // made while nobody waits ends the next wait for room (or the next flush, whichever comes
    // first); try_get_memory, which never waits, leaves it pending.
    let (mut w, mut r, pool) = plain_pipe(8, 8);
    let canceller = w.canceller();
    put_commit(&mut w, &pattern(8));
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.get_memory(1));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        canceller.cancel_pending_flush();
        assert_eq!(c.count(), 1, "the cancel wakes the waiting writer");
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(WriteError::Canceled)) => {}
            other => panic!("expected Canceled, got {other:?}"),
        }
    }
    // Canceled before the wait: the blocking form returns at once (instead of hanging).
    canceller.cancel_pending_flush();
    assert!(matches!(
        w.try_get_memory(1),
        Err(WriteError::Full { requested: 1 })
    ));
    assert!(matches!(
        w.get_memory_blocking(1),
        Err(WriteError::Canceled)
    ));
    // One-shot: the flush after it is not canceled.
    assert!(!w.try_flush().unwrap().unwrap().is_canceled());
    // A cancel consumed by a flush does not end the next wait for room.
    canceller.cancel_pending_flush();
    assert!(w.try_flush().unwrap().unwrap().is_canceled());
    let mut cx = Context::from_waker(&waker);
    assert!(w.poll_get_memory(&mut cx, 1).is_pending());
    assert_eq!(drain(&mut r), pattern(8));
    assert!(matches!(w.poll_get_memory(&mut cx, 1), Poll::Ready(Ok(n)) if n >= 1));
    roundtrip(&mut w, &mut r, b"end");
    finish(w, r, &pool);
}

// ---------------------------------------------------------------------------------------------
// Other misuse reachable from safe code
// ---------------------------------------------------------------------------------------------

#[test]
fn a_read_while_a_poll_read_is_outstanding_takes_over() {
    // A second read future cannot exist while the first is alive (it borrows the reader), but
    // the poll form leaves a registration behind (documented: until the next read or poll).
    let (mut w, mut r, pool) = pipe();
    let (a_count, a) = counting_waker();
    let (b_count, b) = counting_waker();
    let mut cx = Context::from_waker(&a);
    assert!(r.poll_read(&mut cx).is_pending());
    // A try_read ends the outstanding wait: the commit wakes nobody.
    assert!(r.try_read().unwrap().is_none());
    put_commit(&mut w, b"x");
    assert_eq!(a_count.count(), 0);
    assert_eq!(read_advance(&mut r, 1, 1).bytes, b"x");
    // A read future with another waker replaces the outstanding poll's registration.
    assert!(r.poll_read(&mut cx).is_pending());
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &b).is_pending());
        put_commit(&mut w, b"y");
        assert_eq!((a_count.count(), b_count.count()), (0, 1));
        match detach(poll_once(f.as_mut(), &b)) {
            Poll::Ready(Ok(g)) => assert_eq!(g.bytes, b"y"),
            other => panic!("expected the data, got {other:?}"),
        }
    }
    assert_eq!(read_advance(&mut r, 1, 1).bytes, b"y");
    roundtrip(&mut w, &mut r, b"z");
    finish(w, r, &pool);
}

#[test]
fn read_at_least_that_slots_cannot_hold_reports_a_deadlock() {
    // The capacity allows the minimum, but a writer that abandons partly filled chunks runs
    // out of slots first (crate docs, "Capacity"): both sides are told instead of hanging.
    let (mut w, mut r, pool) = plain_pipe(16, 8); // 4 slots
    let (rc, rwaker) = counting_waker();
    let (_wc, wwaker) = counting_waker();
    {
        let mut f = pin!(r.read_at_least(16));
        assert!(poll_once(f.as_mut(), &rwaker).is_pending());
        for i in 0..4u8 {
            let m = w.try_get_memory(8).unwrap();
            m[0] = b'a' + i;
            w.advance(1);
            w.commit();
        }
        assert!(matches!(
            w.try_get_memory(8),
            Err(WriteError::Full { requested: 8 })
        ));
        {
            let mut g = pin!(w.get_memory(8));
            match poll_once(g.as_mut(), &wwaker) {
                Poll::Ready(Err(e)) => assert!(matches!(e, WriteError::WouldDeadlock), "{e:?}"),
                other => panic!("expected WouldDeadlock, got {other:?}"),
            }
        }
        assert!(rc.count() >= 1);
        match detach(poll_once(f.as_mut(), &rwaker)) {
            Poll::Ready(Err(e)) => {
                assert_eq!(
                    format!("{e:?}"),
                    "WouldDeadlock { buffered: 4, capacity: 16 }"
                )
            }
            other => panic!("expected WouldDeadlock, got {other:?}"),
        }
    }
    // Consuming ends it: the data is intact and the writer gets room.
    assert_eq!(read_advance(&mut r, 4, 4).bytes, b"abcd");
    roundtrip(&mut w, &mut r, b"free again");
    finish(w, r, &pool);
}

#[test]
fn would_deadlock_message_does_not_claim_a_full_pipe_that_is_not_full() {
    let (mut w, mut r, _pool) = plain_pipe(16, 8);
    let (_rc, rwaker) = counting_waker();
    let (_wc, wwaker) = counting_waker();
    let mut f = pin!(r.read_at_least(16));
    assert!(poll_once(f.as_mut(), &rwaker).is_pending());
    for _ in 0..4 {
        w.try_get_memory(8).unwrap()[0] = 1;
        w.advance(1);
        w.commit();
    }
    {
        let mut g = pin!(w.get_memory(8));
        assert!(poll_once(g.as_mut(), &wwaker).is_ready());
    }
    let msg = match detach(poll_once(f.as_mut(), &rwaker)) {
        Poll::Ready(Err(e)) => e.to_string(),
        other => panic!("expected WouldDeadlock, got {other:?}"),
    };
    assert!(!msg.contains("the pipe is full"), "{msg}");
    assert!(!msg.contains("all of it is examined"), "{msg}");
}
