//! Reads (when a read is ready at once, what a result holds, `try_read`, `read_at_least`),
//! `advance_to` (consumed and examined positions, which positions are refused, when the next
//! read waits, when chunks go back to the pool), and one-shot cancellation of a pending read or
//! flush.

mod support;

use ringpipe::{AdvanceError, ReadError};
use std::error::Error as _;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use support::*;

fn pipe() -> Pipe {
    plain_pipe(1024, 64)
}

// ---------------------------------------------------------------------------------------------
// Reads: refused after the reader's completion; ready at once while unexamined data, the
// writer's completion or a cancel is pending; a result holds every unconsumed byte; the
// writer's error is delivered instead of the data; try_read, read_at_least, and a dropped
// pending read
// ---------------------------------------------------------------------------------------------

#[test]
fn read_after_reader_complete_errors() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    r.complete();
    let e = r.try_read().unwrap_err();
    assert!(matches!(e, ReadError::ReaderCompleted), "{e:?}");
    assert_eq!(
        e.to_string(),
        "reading is not allowed after the reader was completed"
    );
    assert!(matches!(
        r.read_blocking().unwrap_err(),
        ReadError::ReaderCompleted
    ));
    assert!(matches!(
        r.read_at_least_blocking(1).unwrap_err(),
        ReadError::ReaderCompleted
    ));
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(matches!(
            detach(poll_once(f.as_mut(), &waker)),
            Poll::Ready(Err(ReadError::ReaderCompleted))
        ));
    }
    let mut f = pin!(r.read_at_least(2));
    assert!(matches!(
        detach(poll_once(f.as_mut(), &waker)),
        Poll::Ready(Err(ReadError::ReaderCompleted))
    ));
}

#[test]
fn read_ready_at_once_with_unexamined_data_pending_otherwise() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    put_commit(&mut w, b"abc");
    // The read future above was dropped: nobody is woken.
    assert_eq!(c.count(), 0);
    let mut f = pin!(r.read());
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes, b"abc");
            assert!(!g.canceled && !g.completed);
            assert_eq!((g.start, g.end), (0, 3));
        }
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn result_holds_all_unconsumed_bytes_including_examined() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 4);
    put_commit(&mut w, b"abc");
    // Consume 1, examine all.
    let g = read_advance(&mut r, 1, 3);
    assert_eq!(g.bytes, b"abc");
    put_commit(&mut w, b"defgh");
    let g = must_read(&mut r);
    assert_eq!(g.bytes, b"bcdefgh");
    assert_eq!((g.start, g.end), (1, 8));
    assert!(!g.canceled && !g.completed);
}

#[test]
fn writer_error_delivered_and_data_not_delivered() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"unread");
    w.complete_with_error(TestError { id: 7 });
    let e1 = r.try_read().unwrap_err();
    let a1 = e1.writer_error().expect("WriterFailed").clone();
    assert_eq!(a1.downcast_ref::<TestError>().unwrap().id, 7);
    assert_eq!(
        e1.to_string(),
        "the writer completed with an error: test error #7"
    );
    assert_eq!(format!("{e1:?}"), "WriterFailed(test error #7)");
    assert_eq!(e1.source().unwrap().to_string(), "test error #7");
    // Every call, the same Arc.
    for e in [
        r.try_read().unwrap_err(),
        r.read_blocking().unwrap_err(),
        r.read_at_least_blocking(3).unwrap_err(),
    ] {
        match e {
            ReadError::WriterFailed(a) => assert!(Arc::ptr_eq(&a, &a1)),
            other => panic!("expected WriterFailed, got {other:?}"),
        }
    }
}

#[test]
fn pending_read_woken_with_writer_error() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    w.complete_with_error("disk on fire");
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Err(ReadError::WriterFailed(e))) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("expected WriterFailed, got {other:?}"),
    }
}

#[test]
fn try_read_none_when_nothing_new() {
    let (mut w, mut r, _pool) = pipe();
    assert!(r.try_read().unwrap().is_none());
    // WhenTryReadReturnsFalseDontNeedToCallAdvance: just call again.
    assert!(r.try_read().unwrap().is_none());
    put_commit(&mut w, b"ab");
    read_advance(&mut r, 0, 2);
    // Everything examined, nothing consumed: nothing new.
    assert!(r.try_read().unwrap().is_none());
    put_commit(&mut w, b"c");
    assert_eq!(must_read(&mut r).bytes, b"abc");
}

#[test]
fn try_read_returns_after_writer_complete() {
    // TryReadAfterWriterCompleteReturnsTrue, with an empty buffer.
    let (mut w, mut r, _pool) = pipe();
    w.complete();
    let g = must_read(&mut r);
    assert!(g.completed && !g.canceled);
    assert!(g.bytes.is_empty());
}

#[test]
fn try_read_returns_after_cancel_pending_read() {
    // TryReadAfterCancelPendingReadReturnsTrue.
    let (_w, mut r, _pool) = pipe();
    r.canceller().cancel_pending_read();
    let g = must_read(&mut r);
    assert!(g.canceled && !g.completed);
    assert!(g.bytes.is_empty());
    assert!(r.try_read().unwrap().is_none());
}

#[test]
fn read_at_least_counts_unconsumed_bytes() {
    // .NET's Pipe compares the minimum with *unexamined* bytes; ringpipe counts unconsumed bytes
    // (Buffer.Length), as documented in the crate's mapping table.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, &[1; 10]);
    read_advance(&mut r, 0, 10);
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(10));
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => assert_eq!(g.bytes.len(), 10),
        other => panic!("expected 10 bytes at once, got {other:?}"),
    }
}

#[test]
fn read_at_least_waits_for_the_minimum() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, &[1; 10]);
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(20));
    // Unexamined data is there, but fewer than 20 bytes: wait.
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    put_commit(&mut w, &[2; 9]);
    assert_eq!(c.count(), 0);
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    put_commit(&mut w, &[3; 5]);
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes.len(), 24);
            assert!(!g.canceled && !g.completed);
        }
        other => panic!("expected 24 bytes, got {other:?}"),
    }
}

#[test]
fn read_at_least_returns_on_writer_completion_with_fewer_bytes() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(100));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    w.complete();
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes, b"abc");
            assert!(g.completed && !g.canceled);
        }
        other => panic!("expected completion, got {other:?}"),
    }
}

#[test]
fn read_at_least_returns_on_cancel() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let canceller = r.canceller();
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(100));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    canceller.cancel_pending_read();
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes, b"abc");
            assert!(g.canceled && !g.completed);
        }
        other => panic!("expected a canceled read, got {other:?}"),
    }
}

#[test]
fn read_at_least_minimum_too_large() {
    // .NET's ReadAtLeastAsync has no upper bound; ringpipe refuses a minimum above the
    // capacity.
    let (_w, mut r, _pool) = plain_pipe(100, 64);
    let e = r.read_at_least_blocking(101).unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::MinimumTooLarge {
                minimum: 101,
                capacity: 100
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "read_at_least(101) can never be satisfied: the pipe holds at most 100 bytes"
    );
    // The capacity itself is fine (it waits).
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(100));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
}

#[test]
fn read_at_least_zero_is_a_plain_read() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    {
        // ReadAtLeastAsync(0) on an empty pipe waits for data (runtime#67155).
        let mut f = pin!(r.read_at_least(0));
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        put_commit(&mut w, b"x");
        assert_eq!(c.count(), 1);
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(_))));
    }
    // It also waits for *more* than what was examined.
    read_advance(&mut r, 0, 1);
    let mut f = pin!(r.read_at_least(0));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
}

#[test]
fn dropping_pending_read_keeps_pipe_usable() {
    // A read canceled by its token (.NET) ↔ a dropped read future: the pipe stays usable and
    // the next read gets the data.
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    put_commit(&mut w, b"after");
    assert_eq!(c.count(), 0);
    let g = must_read(&mut r);
    assert_eq!(g.bytes, b"after");
    assert!(!g.canceled && !g.completed);
}

// ---------------------------------------------------------------------------------------------
// advance_to(consumed, examined): examined may not precede consumed but may move back;
// positions from another pipe, from before a reset or already consumed are refused; examining
// to the end makes the next read wait; consumed chunks go back to the pool
// ---------------------------------------------------------------------------------------------

#[test]
fn advance_after_reader_complete_errors() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let end = r.try_read().unwrap().unwrap().buffer().end();
    r.complete();
    let e = r.advance_to(end, end).unwrap_err();
    assert_eq!(e, AdvanceError::ReaderCompleted);
    assert_eq!(
        e.to_string(),
        "reading is not allowed after the reader was completed"
    );
}

#[test]
fn advance_to_consumed_is_consumed_and_examined() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abcdef");
    let p2 = r.try_read().unwrap().unwrap().buffer().position(2);
    r.advance_to_consumed(p2).unwrap();
    assert_eq!(r.consumed_bytes(), 2);
    // examined == consumed < end: the next read returns at once.
    assert_eq!(must_read(&mut r).bytes, b"cdef");
}

#[test]
fn repeated_advance_with_valid_positions_is_accepted() {
    // .NET's AdvanceTo needs an outstanding read (else "No reading operation to complete");
    // ringpipe has no read-in-progress
    // state and accepts any position from a read since the last advance past it.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abcdef");
    let (p2, p4) = {
        let res = r.try_read().unwrap().unwrap();
        (res.buffer().position(2), res.buffer().position(4))
    };
    r.advance_to(p2, p2).unwrap();
    r.advance_to(p2, p4).unwrap();
    r.advance_to(p4, p4).unwrap();
    assert_eq!(r.consumed_bytes(), 4);
    assert_eq!(must_read(&mut r).bytes, b"ef");
}

#[test]
fn examined_before_consumed_errors_and_changes_nothing() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abcdef");
    let (p1, p3, end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.position(1), b.position(3), b.end())
    };
    let e = r.advance_to(p3, p1).unwrap_err();
    assert_eq!(
        e,
        AdvanceError::ExaminedBeforeConsumed {
            consumed: 3,
            examined: 1
        }
    );
    assert_eq!(
        e.to_string(),
        "the examined position must be greater than or equal to the consumed position (examined 1 < consumed 3)"
    );
    assert_eq!(r.consumed_bytes(), 0);
    // Nothing changed: the same positions are still valid.
    r.advance_to(p1, end).unwrap();
    assert_eq!(r.consumed_bytes(), 1);
}

#[test]
fn unexamining_is_allowed() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abcdef");
    let (start, p2, p5) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.start(), b.position(2), b.position(5))
    };
    r.advance_to(start, p5).unwrap();
    // Move examined back (runtime#107360): no error, and data past it counts as new again.
    r.advance_to(start, p2).unwrap();
    let g = must_read(&mut r);
    assert_eq!(g.bytes, b"abcdef");
}

#[test]
fn foreign_position_from_another_pipe() {
    let (mut w1, mut r1, _p1) = pipe();
    let (mut w2, mut r2, _p2) = pipe();
    put_commit(&mut w1, b"abc");
    put_commit(&mut w2, b"xyz");
    let other_end = r2.try_read().unwrap().unwrap().buffer().end();
    let own_end = r1.try_read().unwrap().unwrap().buffer().end();
    assert_eq!(other_end.offset(), own_end.offset());
    let e = r1.advance_to(other_end, other_end).unwrap_err();
    assert_eq!(e, AdvanceError::ForeignPosition);
    assert_eq!(
        e.to_string(),
        "the position does not belong to this pipe (another pipe, or before a reset)"
    );
    assert_eq!(
        r1.advance_to(own_end, other_end).unwrap_err(),
        AdvanceError::ForeignPosition
    );
    assert_eq!(r1.consumed_bytes(), 0);
    // .NET's default (null) positions have no counterpart: a Position can only come from a
    // Sequence.
}

#[test]
fn position_from_before_reset_is_foreign() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let old = r.try_read().unwrap().unwrap().buffer().position(1);
    w.complete();
    r.complete();
    ringpipe::reset(&mut w, &mut r).unwrap();
    put_commit(&mut w, b"defg");
    let new_end = r.try_read().unwrap().unwrap().buffer().end();
    assert_eq!(
        r.advance_to(old, new_end).unwrap_err(),
        AdvanceError::ForeignPosition
    );
    assert_eq!(
        r.advance_to_consumed(old).unwrap_err(),
        AdvanceError::ForeignPosition
    );
    r.advance_to_consumed(new_end).unwrap();
    assert_eq!(r.consumed_bytes(), 4);
}

#[test]
fn stale_position_already_consumed() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"0123456789");
    let (p2, p5) = {
        let res = r.try_read().unwrap().unwrap();
        (res.buffer().position(2), res.buffer().position(5))
    };
    r.advance_to_consumed(p5).unwrap();
    let e = r.advance_to(p2, p5).unwrap_err();
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
    assert_eq!(r.consumed_bytes(), 5);
    // AdvanceError::BeyondEnd is not reachable through the public API: every Position of this
    // pipe generation comes from a Sequence no longer than the last read (see report).
}

#[test]
fn examined_at_end_makes_next_read_wait() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    read_advance(&mut r, 1, 3);
    assert!(r.try_read().unwrap().is_none());
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    put_commit(&mut w, b"d");
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => assert_eq!(g.bytes, b"bcd"),
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn examined_before_end_next_read_returns_at_once() {
    // SyncReadThenAsyncRead.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abcdef");
    read_advance(&mut r, 1, 4);
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read());
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes, b"bcdef");
            assert_eq!((g.start, g.end), (1, 6));
        }
        other => panic!("expected data at once, got {other:?}"),
    }
}

#[test]
fn completed_writer_every_read_returns_at_once() {
    // ReadAtLeastReturnsIfCompleted loops 3 times.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    w.complete();
    for _ in 0..3 {
        let g = read_advance(&mut r, 0, 3);
        assert_eq!(g.bytes, b"abc");
        assert!(g.completed && !g.canceled);
    }
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read_at_least(10));
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => assert!(g.completed && g.bytes == b"abc"),
        other => panic!("expected completion, got {other:?}"),
    }
}

#[test]
fn chunks_returned_to_pool_when_consumed() {
    let (mut w, mut r, pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"abcdefghij");
    assert_eq!(pool.in_use(), 3);
    assert_eq!(pool.allocated(), 3);
    let (p3, p4, p8, end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        let lens: Vec<usize> = b.chunks().map(<[u8]>::len).collect();
        assert_eq!(lens, vec![4, 4, 2]);
        (b.position(3), b.position(4), b.position(8), b.end())
    };
    r.advance_to_consumed(p3).unwrap();
    assert_eq!(pool.in_use(), 3);
    // Consumed at the end of a chunk: that chunk is released, and waits in its slot for the
    // writer's next use of the slot (a spare, `chunks.rs`) rather than in the pool.
    r.advance_to_consumed(p4).unwrap();
    assert_eq!((pool.in_use(), pool.retained()), (3, 0));
    r.advance_to_consumed(p8).unwrap();
    assert_eq!((pool.in_use(), pool.retained()), (3, 0));
    // The writer's current chunk is never returned while the writer holds it
    // (AdvanceToEndReturnsAllButOneBlockIfWritingBeforeAdvance; ringpipe keeps it always).
    r.advance_to_consumed(end).unwrap();
    assert_eq!(pool.in_use(), 3);
    // A reader about to wait for data gives the spares back: an idle pipe holds its data and
    // the writer's current chunk, as without spares.
    assert!(support::exec::poll_noop(r.read()).is_none());
    assert_eq!((pool.in_use(), pool.retained()), (1, 2));
}

#[test]
fn released_chunks_wait_in_their_slots_for_the_writer() {
    // 4 slots of 4 bytes: each round fills one chunk and the reader consumes it.
    let (mut w, mut r, pool) = plain_pipe(8, 4);
    for round in 0..100u8 {
        put_commit(&mut w, &[round; 4]);
        let res = r.try_read().unwrap().unwrap();
        assert_eq!(res.buffer().to_vec(), [round; 4]);
        let end = res.buffer().end();
        r.advance_to(end, end).unwrap();
        // Every chunk went from the reader back to the writer through its slot: none through
        // the pool, and only the first use of each slot allocated.
        assert_eq!(pool.retained(), 0, "round {round}");
    }
    assert!(pool.allocated() <= 4, "allocated {}", pool.allocated());
    // Idle polls without data: after a while the spares go back (a busy-polling reader on an
    // idle pipe holds what a waiting one does).
    let held = pool.in_use();
    for _ in 0..1023 {
        assert!(r.try_read().unwrap().is_none());
    }
    assert_eq!(pool.in_use(), held, "not yet");
    assert!(r.try_read().unwrap().is_none());
    assert_eq!(pool.in_use(), 1, "only the writer's current chunk");
    assert_eq!(pool.retained(), pool.allocated() - 1);
}

#[test]
fn steady_state_streaming_allocates_nothing() {
    let (mut w, mut r, pool) = plain_pipe(64, 4);
    let slots = 32; // 64 / 4 + 1, rounded up to a power of two
    put_commit(&mut w, b"abcdefghij");
    read_advance(&mut r, 10, 10);
    assert_eq!(pool.allocated(), 3);
    // The first lap gives each slot a chunk (released chunks wait in their slots for the
    // writer's next use of them); after that, nothing is allocated.
    for i in 0..200u8 {
        if i == 100 {
            assert!(pool.allocated() <= slots, "allocated {}", pool.allocated());
        }
        let before = pool.allocated();
        put_commit(&mut w, &[i; 7]);
        let g = read_advance(&mut r, 7, 7);
        assert_eq!(g.bytes, vec![i; 7]);
        assert!(pool.in_use() <= slots, "in use {}", pool.in_use());
        if i >= 100 {
            assert_eq!(pool.allocated(), before, "round {i}");
        }
    }
    let allocated = pool.allocated();
    drop((w, r));
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.retained(), allocated);
}

// ---------------------------------------------------------------------------------------------
// Cancellation: cancel_pending_read and cancel_pending_flush are one-shot; the pending call,
// or the next one, returns canceled; a canceled flush still commits its data
// ---------------------------------------------------------------------------------------------

#[test]
fn cancel_read_before_read_returns_canceled_with_data() {
    // WriteAndCancellingPendingReadBeforeReadAsync: 11 bytes and IsCanceled.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"Hello World");
    r.canceller().cancel_pending_read();
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read());
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert_eq!(g.bytes, b"Hello World");
            assert!(g.canceled && !g.completed);
        }
        other => panic!("expected a canceled read, got {other:?}"),
    }
}

#[test]
fn cancel_read_is_one_shot() {
    // ReadAsyncNotCompletedAfterCancellation.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let canceller = r.canceller();
    canceller.cancel_pending_read();
    canceller.cancel_pending_read();
    let g = read_advance(&mut r, 0, 3);
    assert!(g.canceled);
    assert!(r.try_read().unwrap().is_none());
    let (_c, waker) = counting_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
}

#[test]
fn canceled_result_then_read_again_without_advance() {
    // ReadAsyncCompletedAfterPreCancellation: the next read gets the data, not canceled.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    r.canceller().cancel_pending_read();
    let g = must_read(&mut r);
    assert!(g.canceled);
    let g = must_read(&mut r);
    assert!(!g.canceled && !g.completed);
    assert_eq!(g.bytes, b"abc");
}

#[test]
fn cancel_read_wakes_pending_read() {
    let (_w, mut r, _pool) = pipe();
    let canceller = r.canceller();
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    canceller.cancel_pending_read();
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => {
            assert!(g.canceled && !g.completed);
            assert!(g.bytes.is_empty());
        }
        other => panic!("expected a canceled read, got {other:?}"),
    }
}

#[test]
fn cancel_read_survives_advance_to() {
    // CancellingBeforeAdvance.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    let end = r.try_read().unwrap().unwrap().buffer().end();
    r.canceller().cancel_pending_read();
    r.advance_to(end, end).unwrap();
    let g = must_read(&mut r);
    assert!(g.canceled && !g.completed);
    assert!(g.bytes.is_empty());
}

#[test]
fn cancel_read_from_another_thread_unblocks_blocking_read() {
    let g = with_timeout(|| {
        let (w, mut r, _pool) = pipe();
        let canceller = w.canceller();
        let t = std::thread::spawn(move || {
            // Whether it lands before or during the read, the read returns canceled.
            canceller.cancel_pending_read();
            w
        });
        let g = got(&r.read_blocking().unwrap());
        drop(t.join().unwrap());
        g
    });
    assert!(g.canceled && !g.completed);
    assert!(g.bytes.is_empty());
}

#[test]
fn cancel_flush_before_flush_returns_canceled_and_commits() {
    // FlushAsyncReturnsCanceledIfCanceledBeforeFlush, FlushAsyncCompletedAfterPreCancellation.
    let (mut w, mut r, _pool) = pipe();
    r.canceller().cancel_pending_flush();
    put(&mut w, b"abc");
    let f = w.flush_blocking().unwrap();
    assert!(f.is_canceled() && !f.is_completed());
    assert_eq!(must_read(&mut r).bytes, b"abc");
    // One-shot.
    let f = w.flush_blocking().unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
}

#[test]
fn cancel_blocking_flush_from_another_thread() {
    let (canceled, completed, paused) = with_timeout(|| {
        let (mut w, r, _pool) = bp_pipe(1024, 64, 8, 4);
        let canceller = r.canceller();
        let t = std::thread::spawn(move || {
            canceller.cancel_pending_flush();
            r
        });
        put(&mut w, &[0; 8]);
        let f = w.flush_blocking().unwrap();
        let out = (f.is_canceled(), f.is_completed(), w.is_paused());
        drop(t.join().unwrap());
        out
    });
    assert!(canceled && !completed && paused);
}
