//! Completing either side (the writer's completion commits and wakes the reader, the reader's
//! releases the writer, memory goes back only when both completed, the first completion wins),
//! completion futures, reset (only once both sides completed), and ringpipe's deadlock rule
//! (crate docs "Completion, cancellation, errors": `WouldDeadlock`).

mod support;

use ringpipe::{ReadError, ResetError, WriteError};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use support::*;

fn pipe() -> Pipe {
    plain_pipe(1024, 16)
}

// ---------------------------------------------------------------------------------------------
// Completion: the writer's completion commits its data and wakes the reader, the reader's
// releases the writer; memory is released only when both completed; the first completion
// wins; what still works after the other side completed
// ---------------------------------------------------------------------------------------------

#[test]
fn writer_complete_commits_unflushed() {
    // CompleteAfterAdvanceCommits.
    let (mut w, mut r, _pool) = pipe();
    put(&mut w, b"hello");
    assert!(r.try_read().unwrap().is_none());
    w.complete();
    assert!(w.is_completed());
    let g = must_read(&mut r);
    assert_eq!(g.bytes, b"hello");
    assert!(g.completed && !g.canceled);
}

#[test]
fn reader_drains_then_sees_completed() {
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"0123456789");
    w.complete();
    let g = read_advance(&mut r, 4, 4);
    assert_eq!(g.bytes, b"0123456789");
    assert!(g.completed);
    let g = read_advance(&mut r, 6, 6);
    assert_eq!(g.bytes, b"456789");
    assert!(g.completed);
    for _ in 0..3 {
        let g = must_read(&mut r);
        assert!(g.bytes.is_empty());
        assert!(g.completed && !g.canceled);
    }
    assert!(r.is_writer_completed());
}

#[test]
fn writer_complete_wakes_pending_read() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    let mut f = pin!(r.read());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    w.complete();
    assert_eq!(c.count(), 1);
    match detach(poll_once(f.as_mut(), &waker)) {
        Poll::Ready(Ok(g)) => assert!(g.completed && !g.canceled && g.bytes.is_empty()),
        other => panic!("expected completion, got {other:?}"),
    }
}

#[test]
fn dropping_the_writer_completes_it() {
    let (mut w, mut r, _pool) = pipe();
    put(&mut w, b"last");
    drop(w);
    let g = must_read(&mut r);
    assert_eq!(g.bytes, b"last");
    assert!(g.completed);
}

#[test]
fn reader_complete_without_advance() {
    // CompleteReaderAfterFlushWithoutAdvancingDoesNotThrow.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    assert_eq!(must_read(&mut r).bytes, b"abc");
    r.complete();
    assert!(r.is_completed());
    assert!(w.is_reader_completed());
    let f = w.flush_blocking().unwrap();
    assert!(f.is_completed() && !f.is_canceled());
}

#[test]
fn reader_error_releases_paused_writer() {
    let (mut w, mut r, _pool) = bp_pipe(1024, 16, 8, 4);
    put(&mut w, &[0; 8]);
    let (c, waker) = counting_waker();
    let mut f = pin!(w.flush());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    r.complete_with_error(TestError { id: 3 });
    assert_eq!(c.count(), 1);
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Err(WriteError::ReaderFailed(e))) => {
            assert_eq!(e.downcast_ref::<TestError>().unwrap().id, 3)
        }
        other => panic!("expected ReaderFailed, got {other:?}"),
    }
}

#[test]
fn reader_complete_releases_writer_waiting_for_room() {
    let (mut w, mut r, _pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"01234567");
    let (c, waker) = counting_waker();
    let mut f = pin!(w.get_memory(1));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    r.complete();
    assert_eq!(c.count(), 1);
    // GetMemory still works after the reader completed: scratch memory of max_memory bytes.
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Ok(m)) => assert_eq!(m.len(), 8),
        other => panic!("expected scratch memory, got {other:?}"),
    }
}

#[test]
fn dropping_the_reader_completes_it() {
    let (mut w, r, _pool) = pipe();
    drop(r);
    assert!(w.is_reader_completed());
    let f = w.write_all_blocking(b"ignored").unwrap();
    assert!(f.is_completed());
}

#[test]
fn memory_released_only_when_both_complete_reader_first() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"hello");
    assert_eq!(pool.in_use(), 1);
    r.complete();
    // ResetAfterCompleteReaderAndWriterWithoutAdvancingClearsEverything: the reader alone
    // keeps the memory.
    assert_eq!(pool.in_use(), 1);
    w.complete();
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.retained(), 1);
}

#[test]
fn memory_released_only_when_both_complete_writer_first() {
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"0123456789abcdefXYZ"); // 2 chunks
    assert_eq!(pool.in_use(), 2);
    w.complete();
    assert_eq!(pool.in_use(), 2);
    // Consuming releases the sealed chunk; the last one stays until the reader completes.
    read_advance(&mut r, 19, 19);
    assert_eq!(pool.in_use(), 1);
    drop(r);
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.retained(), 2);
}

#[test]
fn double_complete_releases_memory_once() {
    // MultipleCompleteReaderWriterCauseDisposeOnlyOnce.
    let (mut w, mut r, pool) = pipe();
    put_commit(&mut w, b"hello");
    w.complete();
    r.complete();
    w.complete();
    r.complete();
    w.complete_with_error("late");
    r.complete_with_error("late");
    drop((w, r));
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.retained(), 1);
    assert_eq!(pool.allocated(), 1);
}

#[test]
fn first_writer_completion_wins() {
    // Complete(); Complete(ex) → the reader sees IsCompleted.
    let (mut w, mut r, _pool) = pipe();
    w.complete();
    w.complete_with_error(TestError { id: 1 });
    let g = must_read(&mut r);
    assert!(g.completed);
    // Complete(ex1); Complete(ex2) → ex1.
    let (mut w, mut r, _pool) = pipe();
    w.complete_with_error(TestError { id: 1 });
    w.complete_with_error(TestError { id: 2 });
    w.complete();
    match r.try_read().unwrap_err() {
        ReadError::WriterFailed(e) => assert_eq!(e.downcast_ref::<TestError>().unwrap().id, 1),
        other => panic!("expected WriterFailed, got {other:?}"),
    }
}

#[test]
fn first_reader_completion_wins() {
    let (mut w, mut r, _pool) = pipe();
    r.complete();
    r.complete_with_error(TestError { id: 1 });
    assert!(w.flush_blocking().unwrap().is_completed());
    let (mut w, mut r, _pool) = pipe();
    r.complete_with_error(TestError { id: 1 });
    r.complete_with_error(TestError { id: 2 });
    r.complete();
    match w.flush_blocking().unwrap_err() {
        WriteError::ReaderFailed(e) => assert_eq!(e.downcast_ref::<TestError>().unwrap().id, 1),
        other => panic!("expected ReaderFailed, got {other:?}"),
    }
}

#[test]
fn operations_after_the_other_side_completed() {
    // Reader side works after the writer completed: reads and AdvanceTo.
    let (mut w, mut r, _pool) = pipe();
    put_commit(&mut w, b"abc");
    w.complete();
    let g = read_advance(&mut r, 3, 3);
    assert_eq!(g.bytes, b"abc");
    assert_eq!(r.consumed_bytes(), 3);
    // Cancel still works after completion (not checked in .NET either).
    let canceller = r.canceller();
    assert!(canceller.is_writer_completed());
    assert!(!canceller.is_reader_completed());
    canceller.cancel_pending_read();
    let g = must_read(&mut r);
    assert!(g.canceled && g.completed);
    canceller.cancel_pending_flush();
    r.complete();
    assert!(canceller.is_reader_completed());
    canceller.cancel_pending_read();
}

#[test]
#[should_panic(expected = "past the memory handed out")]
fn advance_after_own_completion_panics() {
    // .NET does not check Advance after the writer's own Complete; ringpipe drops the grant at
    // completion.
    let (mut w, _r, _pool) = pipe();
    w.try_get_memory(4).unwrap();
    w.complete();
    w.advance(1);
}

// ---------------------------------------------------------------------------------------------
// Completion notifications: futures instead of .NET's obsolete OnReaderCompleted and
// OnWriterCompleted callbacks
// ---------------------------------------------------------------------------------------------

#[test]
fn reader_completion_future_resolves_ok() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    let mut f = pin!(w.reader_completion());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    r.complete();
    assert_eq!(c.count(), 1);
    assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(()))));
}

#[test]
fn reader_completion_future_resolves_with_the_same_error() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    let a = {
        let mut f = pin!(w.reader_completion());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        r.complete_with_error(TestError { id: 9 });
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => e,
            other => panic!("expected the reader's error, got {other:?}"),
        }
    };
    assert_eq!(a.downcast_ref::<TestError>().unwrap().id, 9);
    let b = w.flush_blocking().unwrap_err();
    assert!(Arc::ptr_eq(&a, b.reader_error().unwrap()));
}

#[test]
fn writer_completion_future_resolves_ok_and_with_error() {
    let (mut w, mut r, _pool) = pipe();
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(r.writer_completion());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        w.complete();
        assert_eq!(c.count(), 1);
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(()))));
    }
    let (mut w, mut r, _pool) = pipe();
    let a = {
        let mut f = pin!(r.writer_completion());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        w.complete_with_error(TestError { id: 5 });
        assert_eq!(c.count(), 2);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Err(e)) => e,
            other => panic!("expected the writer's error, got {other:?}"),
        }
    };
    assert_eq!(a.to_string(), "test error #5");
    let b = r.try_read().unwrap_err();
    assert!(Arc::ptr_eq(&a, b.writer_error().unwrap()));
}

#[test]
fn completion_future_ready_at_once_if_already_completed() {
    // On*CompletedExecute*SchedulerIfCompleted.
    let (mut w, mut r, _pool) = pipe();
    r.complete();
    w.complete_with_error("gone");
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(w.reader_completion());
        assert!(matches!(poll_once(f.as_mut(), &waker), Poll::Ready(Ok(()))));
    }
    let mut f = pin!(r.writer_completion());
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Err(e)) => assert_eq!(e.to_string(), "gone"),
        other => panic!("expected the writer's error, got {other:?}"),
    }
}

#[test]
fn completion_futures_do_not_survive_reset() {
    // On*CompletedIsDetachedDuringReset: after a reset the futures wait again.
    let (mut w, mut r, _pool) = pipe();
    w.complete();
    r.complete();
    ringpipe::reset(&mut w, &mut r).unwrap();
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(w.reader_completion());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    let mut f = pin!(r.writer_completion());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
}

// ---------------------------------------------------------------------------------------------
// Reset: refused unless both sides completed; afterwards the pipe works as new
// ---------------------------------------------------------------------------------------------

#[test]
fn reset_refused_unless_both_completed() {
    let (mut w, mut r, _pool) = pipe();
    let e = ringpipe::reset(&mut w, &mut r).unwrap_err();
    assert_eq!(
        e,
        ResetError::NotCompleted {
            writer: false,
            reader: false
        }
    );
    assert_eq!(
        e.to_string(),
        "both reader and writer have to be completed to reset the pipe (writer completed: false, reader completed: false)"
    );
    w.complete();
    // ResetThrowsIfReaderNotCompleted.
    assert_eq!(
        ringpipe::reset(&mut w, &mut r).unwrap_err(),
        ResetError::NotCompleted {
            writer: true,
            reader: false
        }
    );
    // ResetThrowsIfWriterNotCompleted.
    let (mut w2, mut r2, _pool2) = pipe();
    r2.complete();
    assert_eq!(
        ringpipe::reset(&mut w2, &mut r2).unwrap_err(),
        ResetError::NotCompleted {
            writer: false,
            reader: true
        }
    );
    // Refused resets changed nothing.
    assert!(w.is_completed() && !r.is_completed());
    let g = must_read(&mut r);
    assert!(g.completed);
}

#[test]
fn reset_refuses_halves_of_different_pipes() {
    let (mut w1, mut r1, _p1) = pipe();
    let (mut w2, mut r2, _p2) = pipe();
    w1.complete();
    r1.complete();
    w2.complete();
    r2.complete();
    let e = ringpipe::reset(&mut w1, &mut r2).unwrap_err();
    assert_eq!(e, ResetError::DifferentPipes);
    assert_eq!(
        e.to_string(),
        "the writer and the reader belong to different pipes"
    );
}

#[test]
fn reset_makes_pipe_usable_without_allocating() {
    let (mut w, mut r, pool) = plain_pipe(64, 16);
    let data = pattern(40);
    put_commit(&mut w, &data);
    read_advance(&mut r, 40, 40);
    w.complete();
    r.complete();
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.allocated(), 3);
    ringpipe::reset(&mut w, &mut r).unwrap();
    // ResetResetsReaderAwaitable, LengthIsReseted.
    assert!(!w.is_completed() && !r.is_completed());
    assert!(!w.is_reader_completed() && !r.is_writer_completed());
    assert!(r.try_read().unwrap().is_none());
    assert_eq!(r.consumed_bytes(), 0);
    assert_eq!(w.unflushed_bytes(), 0);
    // ReadsAndWritesAfterReset.
    put_commit(&mut w, &data);
    let g = must_read(&mut r);
    assert_eq!(g.bytes, data);
    assert_eq!((g.start, g.end), (0, 40));
    assert!(!g.canceled && !g.completed);
    assert_eq!(pool.allocated(), 3);
}

#[test]
fn reset_clears_errors_cancels_and_pause() {
    let (mut w, mut r, _pool) = bp_pipe(1024, 16, 8, 4);
    put(&mut w, &[1; 8]);
    assert_eq!(w.try_flush().unwrap(), None);
    let canceller = w.canceller();
    canceller.cancel_pending_read();
    canceller.cancel_pending_flush();
    w.complete_with_error("w");
    r.complete_with_error("r");
    ringpipe::reset(&mut w, &mut r).unwrap();
    assert!(!w.is_paused());
    assert!(r.try_read().unwrap().is_none());
    put(&mut w, &[2; 4]);
    let f = w.try_flush().unwrap().unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
    let g = must_read(&mut r);
    assert_eq!(g.bytes, vec![2; 4]);
    assert!(!g.canceled && !g.completed);
    // Backpressure works again from zero.
    put(&mut w, &[3; 4]);
    assert_eq!(w.try_flush().unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// Deadlock rule (ringpipe only: .NET bounds no buffer size, so its pipe never fills up)
// ---------------------------------------------------------------------------------------------

/// Capacity 8, one 8-byte chunk, filled and wholly examined, nothing consumed.
fn full_examined() -> Pipe {
    let (mut w, mut r, pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"01234567");
    let g = read_advance(&mut r, 0, 8);
    assert_eq!(g.bytes, b"01234567");
    (w, r, pool)
}

#[test]
fn deadlock_full_ring_all_examined_read_errors() {
    let (_w, mut r, _pool) = full_examined();
    let e = r.try_read().unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::WouldDeadlock {
                buffered: 8,
                capacity: 8
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the read can never be satisfied: it waits for data the writer cannot add until the reader consumes some (8 unconsumed bytes, capacity 8)"
    );
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(r.read());
        assert!(matches!(
            detach(poll_once(f.as_mut(), &waker)),
            Poll::Ready(Err(ReadError::WouldDeadlock {
                buffered: 8,
                capacity: 8
            }))
        ));
    }
    assert!(matches!(
        r.read_blocking().unwrap_err(),
        ReadError::WouldDeadlock { .. }
    ));
}

#[test]
fn deadlock_parked_writer_gets_would_deadlock() {
    let (mut w, mut r, _pool) = full_examined();
    let (c, waker) = counting_waker();
    let mut g = pin!(w.get_memory(1));
    assert!(poll_once(g.as_mut(), &waker).is_pending());
    assert!(matches!(
        r.try_read().unwrap_err(),
        ReadError::WouldDeadlock {
            buffered: 8,
            capacity: 8
        }
    ));
    assert_eq!(c.count(), 1);
    match poll_once(g.as_mut(), &waker) {
        Poll::Ready(Err(e)) => {
            assert!(matches!(e, WriteError::WouldDeadlock), "{e:?}");
            assert_eq!(
                e.to_string(),
                "the pipe is full and the reader is waiting for more data than it holds: waiting would never end"
            );
        }
        other => panic!("expected WouldDeadlock, got {other:?}"),
    }
}

#[test]
fn deadlock_threaded_blocked_writer_and_reader_both_error() {
    let (read_err, write_err) = with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(8, 8);
        let writer = std::thread::spawn(move || {
            let out = w.write_all_blocking(&[7; 12]);
            (out.map(|_| ()), w)
        });
        let first = {
            let res = r.read_blocking().unwrap();
            let (g, start, end) = (got(&res), res.buffer().start(), res.buffer().end());
            r.advance_to(start, end).unwrap();
            g
        };
        assert_eq!(first.bytes, vec![7; 8]);
        let read_err = r.read_blocking().map(|x| got(&x)).unwrap_err();
        let (write_res, w) = writer.join().unwrap();
        drop(w);
        (read_err, write_res.unwrap_err())
    });
    assert!(
        matches!(
            read_err,
            ReadError::WouldDeadlock {
                buffered: 8,
                capacity: 8
            }
        ),
        "{read_err:?}"
    );
    assert!(
        matches!(write_err, WriteError::WouldDeadlock),
        "{write_err:?}"
    );
}

#[test]
fn deadlock_writer_waiting_for_room_while_reader_waits_for_more() {
    // Not full in bytes: 6 of 8, but the writer asks for 4 contiguous bytes.
    let (mut w, mut r, _pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"abcdef");
    read_advance(&mut r, 0, 6);
    let (rc, rwaker) = counting_waker();
    let (_wc, wwaker) = counting_waker();
    let mut rf = pin!(r.read());
    assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
    {
        let mut g = pin!(w.get_memory(4));
        assert!(matches!(
            poll_once(g.as_mut(), &wwaker),
            Poll::Ready(Err(WriteError::WouldDeadlock))
        ));
    }
    assert_eq!(rc.count(), 1);
    assert!(matches!(
        detach(poll_once(rf.as_mut(), &rwaker)),
        Poll::Ready(Err(ReadError::WouldDeadlock {
            buffered: 6,
            capacity: 8
        }))
    ));
}

#[test]
fn deadlock_cleared_when_reader_consumes() {
    let (mut w, mut r, _pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"01234567");
    let (start, p1, end) = {
        let res = r.try_read().unwrap().unwrap();
        let b = res.buffer();
        (b.start(), b.position(1), b.end())
    };
    r.advance_to(start, end).unwrap();
    assert!(matches!(
        r.try_read().map(|x| x.is_some()),
        Err(ReadError::WouldDeadlock { .. })
    ));
    // Consume one byte: the writer gets exactly that byte of room, the reader waits again.
    r.advance_to(p1, end).unwrap();
    assert!(r.try_read().unwrap().is_none());
    let m = w.try_get_memory(1).unwrap();
    assert_eq!(m.len(), 1);
    m[0] = b'8';
    w.advance(1);
    w.commit();
    assert_eq!(must_read(&mut r).bytes, b"12345678");
}

#[test]
fn deadlock_not_reported_after_writer_recovers() {
    // The writer's wait for 4 bytes is reported as a deadlock; it then writes 1 byte instead.
    let (mut w, mut r, _pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"abcdef");
    read_advance(&mut r, 0, 6);
    let (_rc, rwaker) = counting_waker();
    let (_wc, wwaker) = counting_waker();
    {
        let mut rf = pin!(r.read());
        assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
        let mut g = pin!(w.get_memory(4));
        assert!(matches!(
            poll_once(g.as_mut(), &wwaker),
            Poll::Ready(Err(WriteError::WouldDeadlock))
        ));
        assert!(matches!(
            detach(poll_once(rf.as_mut(), &rwaker)),
            Poll::Ready(Err(ReadError::WouldDeadlock { .. }))
        ));
    }
    put_commit(&mut w, b"g");
    let g = read_advance(&mut r, 0, 7);
    assert_eq!(g.bytes, b"abcdefg");
    // 7 of 8 bytes, nobody waits for room: the writer can still add a byte, so this read can
    // be satisfied and must not report a deadlock.
    // The stall ended with the read that returned the new byte (regression test: a stale
    // stall used to report Err(WouldDeadlock { buffered: 7, capacity: 8 }) here).
    let res = r.try_read().map(|x| x.map(|y| got(&y)));
    assert!(matches!(res, Ok(None)), "{res:?}");
    put_commit(&mut w, b"h");
    assert_eq!(must_read(&mut r).bytes, b"abcdefgh");
}
