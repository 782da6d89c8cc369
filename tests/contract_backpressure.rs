//! Backpressure with hysteresis, counted on *examined* bytes (the .NET pipe's rules): a commit
//! pauses the writer when the unexamined bytes cross the pause threshold; an advance resumes it
//! when they drop strictly below the resume threshold; a paused writer is also released by the
//! reader's completion, for one flush by a cancel, and by a `read_at_least` that has to wait for
//! more; a pause threshold of 0 never pauses.

mod support;

use ringpipe::{FlushResult, WriteError};
use std::pin::pin;
use std::task::Poll;
use support::*;

/// pause 64, resume 32 (the .NET BackpressureTests settings), capacity 1024, 64-byte chunks.
fn pipe64() -> Pipe {
    bp_pipe(1024, 64, 64, 32)
}

fn plain(f: &FlushResult) -> bool {
    !f.is_canceled() && !f.is_completed()
}

fn ready_plain(p: Poll<Result<FlushResult, WriteError>>) {
    match p {
        Poll::Ready(Ok(f)) => assert!(plain(&f), "{f:?}"),
        other => panic!("expected a plain ready flush, got {other:?}"),
    }
}

#[test]
fn backpressure_counts_unexamined_not_unconsumed_bytes() {
    // LengthDoesNotChangeIfExamineDoesNotChange: AdvanceTo(Start) leaves all 10 bytes counted.
    let (mut w, mut r, _pool) = bp_pipe(1024, 64, 20, 10);
    put(&mut w, &[1; 10]);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
    read_advance(&mut r, 0, 0);
    put(&mut w, &[2; 10]);
    // 20 unexamined: paused.
    assert_eq!(w.try_flush().unwrap(), None);
    assert!(w.is_paused());

    // LengthChangesIfExaminedChanges: AdvanceTo(Start, End) counts 0, though 10 bytes are held.
    let (mut w, mut r, _pool) = bp_pipe(1024, 64, 20, 10);
    put(&mut w, &[1; 10]);
    w.try_flush().unwrap().unwrap();
    read_advance(&mut r, 0, 10);
    put(&mut w, &[2; 19]);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
    assert!(!w.is_paused());
    // 29 unconsumed, 19 unexamined; one more byte reaches 20.
    put(&mut w, &[3; 1]);
    assert_eq!(w.try_flush().unwrap(), None);
    assert_eq!(must_read(&mut r).bytes.len(), 30);
}

#[test]
fn flush_pending_when_commit_reaches_pause() {
    // FlushAsyncReturnsNonCompletedSizeWhenCommitOverTheLimit: 64 bytes with pause 64.
    let (mut w, _r, _pool) = pipe64();
    put(&mut w, &[0; 64]);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    assert_eq!(c.count(), 0);
    assert!(w.is_paused());
    assert_eq!(w.try_flush().unwrap(), None);
}

#[test]
fn flush_ready_when_below_pause() {
    // FlushAsyncReturnsCompletedTaskWhenSizeLessThenLimit: 32 < 64.
    let (mut w, _r, _pool) = pipe64();
    put(&mut w, &[0; 32]);
    let (_c, waker) = counting_waker();
    let mut f = pin!(w.flush());
    ready_plain(poll_once(f.as_mut(), &waker));
}

#[test]
fn pause_needs_a_crossing_of_the_threshold() {
    // 63 then 1: the second commit crosses 64 and pauses; 10 more while paused keep it paused.
    let (mut w, _r, _pool) = pipe64();
    put(&mut w, &[0; 63]);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
    put(&mut w, &[0; 1]);
    assert_eq!(w.try_flush().unwrap(), None);
    put(&mut w, &[0; 10]);
    assert_eq!(w.try_flush().unwrap(), None);
    assert!(w.is_paused());
}

#[test]
fn can_buffer_past_pause_threshold_but_get_paused_each_time() {
    // CanBufferPastPauseThresholdButGetPausedEachTime: the reader examines without consuming;
    // each 64-byte flush pauses again, and the reader ends up with all 5 × 64 bytes.
    let (mut w, mut r, _pool) = pipe64();
    const LOOPS: usize = 5;
    for i in 0..LOOPS {
        put(&mut w, &[i as u8; 64]);
        let (c, waker) = counting_waker();
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending(), "loop {i}");
        let g = read_advance(&mut r, 0, 64 * (i + 1));
        assert_eq!(g.bytes.len(), 64 * (i + 1));
        assert!(!g.canceled && !g.completed);
        assert_eq!(c.count(), 1, "loop {i}");
        ready_plain(poll_once(f.as_mut(), &waker));
    }
    w.complete();
    let (bytes, completed, end) = {
        let res = r.try_read().unwrap().unwrap();
        (
            res.buffer().to_vec(),
            res.is_completed(),
            res.buffer().end(),
        )
    };
    assert!(completed);
    assert_eq!(bytes.len(), 64 * LOOPS);
    assert_eq!(&bytes[256..], &[4u8; 64][..]);
    r.advance_to(end, end).unwrap();
}

#[test]
fn resume_strictly_below_threshold() {
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[7; 64]);
    let (c, waker) = counting_waker();
    assert!(r.try_read().unwrap().is_none(), "nothing committed yet");
    let (p32, p33) = {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        let (p32, p33) = {
            let res = r.try_read().unwrap().unwrap();
            (res.buffer().position(32), res.buffer().position(33))
        };
        // FlushAsyncAwaitableDoesNotCompletesWhenReaderAdvancesUnderHight: 32 left → paused.
        r.advance_to(p32, p32).unwrap();
        assert_eq!(c.count(), 0);
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        // FlushAsyncAwaitableCompletesWhenReaderAdvancesUnderLow: 31 left → resumed, one wake.
        r.advance_to(p33, p33).unwrap();
        assert_eq!(c.count(), 1);
        ready_plain(poll_once(f.as_mut(), &waker));
        (p32, p33)
    };
    assert!(!w.is_paused());
    assert_eq!(p32.offset(), 32);
    assert_eq!(p33.offset(), 33);
}

#[test]
fn examining_without_consuming_resumes() {
    // FlushAsyncAwaitableCompletesWhenReaderAdvancesExaminedUnderLow: nothing consumed.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[7; 64]);
    let (c, waker) = counting_waker();
    let mut f = pin!(w.flush());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    let (start, p33) = {
        let res = r.try_read().unwrap().unwrap();
        (res.buffer().start(), res.buffer().position(33))
    };
    r.advance_to(start, p33).unwrap();
    assert_eq!(r.consumed_bytes(), 0);
    assert_eq!(c.count(), 1);
    ready_plain(poll_once(f.as_mut(), &waker));
}

#[test]
fn pause_resets_on_commit() {
    // FlushAsyncAwaitableResetsOnCommit: after resuming, the next 64-byte write pauses again.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[1; 64]);
    assert_eq!(w.try_flush().unwrap(), None);
    read_advance(&mut r, 33, 33);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
    put(&mut w, &[2; 64]);
    let (_c, waker) = counting_waker();
    let mut f = pin!(w.flush());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
}

#[test]
fn blocking_flush_resumes_when_reader_examines() {
    let got = with_timeout(|| {
        let (mut w, mut r, _pool) = pipe64();
        let writer = std::thread::spawn(move || {
            put(&mut w, &[9; 64]);
            let f = w.flush_blocking().unwrap();
            (f.is_canceled(), f.is_completed(), w.is_paused())
        });
        let g = {
            let res = r.read_blocking().unwrap();
            let g = got(&res);
            let end = res.buffer().end();
            r.advance_to(end, end).unwrap();
            g
        };
        let out = writer.join().unwrap();
        (g.bytes.len(), out)
    });
    assert_eq!(got, (64, (false, false, false)));
}

#[test]
fn unexamining_keeps_writer_paused() {
    // FlushAsyncAwaitableDoesNotCompleteWhenReaderUnexamines (moving examined back is allowed
    // since runtime#107360).
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[5; 64]);
    let (c, waker) = counting_waker();
    let mut f = pin!(w.flush());
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    read_advance(&mut r, 0, 2);
    // examined < end: the next read returns at once.
    let g = read_advance(&mut r, 0, 1);
    assert_eq!(g.bytes.len(), 64);
    assert_eq!(c.count(), 0);
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    read_advance(&mut r, 33, 33);
    assert_eq!(c.count(), 1);
    ready_plain(poll_once(f.as_mut(), &waker));
}

#[test]
fn cancel_pending_flush_is_one_shot_and_keeps_paused() {
    // FlushAsyncNotCompletedAfterCancellation.
    let (mut w, mut r, _pool) = pipe64();
    let canceller = w.canceller();
    put(&mut w, &[5; 64]);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        canceller.cancel_pending_flush();
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => {
                assert!(res.is_canceled());
                assert!(!res.is_completed());
            }
            other => panic!("expected a canceled flush, got {other:?}"),
        }
    }
    assert!(w.is_paused());
    // The data was committed all the same.
    assert_eq!(must_read(&mut r).bytes.len(), 64);
    // One-shot: the next flush is pending again.
    let (c2, waker2) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker2).is_pending());
    }
    assert_eq!(c2.count(), 0);
    assert_eq!(w.try_flush().unwrap(), None);
}

#[test]
fn reader_complete_releases_paused_flush() {
    // FlushAsyncReturnsCompletedIfReaderCompletes: now and for every later flush.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[5; 64]);
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
        r.complete();
        assert_eq!(c.count(), 1);
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => assert!(res.is_completed() && !res.is_canceled()),
            other => panic!("expected a completed flush, got {other:?}"),
        }
    }
    // No backpressure ever applies again.
    for _ in 0..3 {
        put(&mut w, &[6; 64]);
        let f = w.try_flush().unwrap().unwrap();
        assert!(f.is_completed());
    }
}

#[test]
fn dropping_pending_flush_keeps_data_and_pause() {
    // A flush canceled by its token (.NET) ↔ a dropped flush future: the data stays committed
    // and the next flush is still pending.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[5; 64]);
    let (_c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &waker).is_pending());
    }
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(w.try_flush().unwrap(), None);
    let g = read_advance(&mut r, 64, 64);
    assert_eq!(g.bytes, vec![5; 64]);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
}

#[test]
fn read_at_least_overrides_pause() {
    // ReadAtLeastAsyncUnblocksWriterIfMinimumlowerThanResumeThreshold.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[1; 64]);
    let (wc, wwaker) = counting_waker();
    let (rc, rwaker) = counting_waker();
    let mut rf = pin!(r.read_at_least(192));
    {
        let mut f = pin!(w.flush());
        assert!(poll_once(f.as_mut(), &wwaker).is_pending());
        assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
        // The waiting read lets the paused writer through.
        assert_eq!(wc.count(), 1);
        ready_plain(poll_once(f.as_mut(), &wwaker));
    }
    // Two more 64-byte flushes complete at once; neither wakes the reader until 192.
    put(&mut w, &[2; 64]);
    {
        let mut f = pin!(w.flush());
        ready_plain(poll_once(f.as_mut(), &wwaker));
    }
    assert_eq!(rc.count(), 0);
    assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
    put(&mut w, &[3; 64]);
    {
        let mut f = pin!(w.flush());
        ready_plain(poll_once(f.as_mut(), &wwaker));
    }
    assert_eq!(rc.count(), 1);
    match poll_once(rf.as_mut(), &rwaker) {
        Poll::Ready(Ok(res)) => {
            assert_eq!(res.buffer().len(), 192);
            assert!(!res.is_canceled() && !res.is_completed());
        }
        other => panic!(
            "expected 192 bytes, got {:?}",
            other.map(|r| r.map(|x| got(&x)))
        ),
    }
}

#[test]
fn read_at_least_waiting_before_the_flush_lets_it_through() {
    // The same override when the read waits first and the crossing flush comes second.
    let (mut w, mut r, _pool) = pipe64();
    let (rc, rwaker) = counting_waker();
    let mut rf = pin!(r.read_at_least(192));
    assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
    put(&mut w, &[1; 64]);
    let (_wc, wwaker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        ready_plain(poll_once(f.as_mut(), &wwaker));
    }
    assert_eq!(rc.count(), 0);
    assert!(poll_once(rf.as_mut(), &rwaker).is_pending());
}

#[test]
fn no_pause_after_reader_completed() {
    // A commit pauses the writer only while the reader has not completed; once it has, no
    // backpressure is ever applied.
    let (mut w, mut r, _pool) = pipe64();
    put(&mut w, &[1; 64]);
    r.complete();
    let f = w.try_flush().unwrap().unwrap();
    assert!(f.is_completed() && !f.is_canceled());
    // The flush that observes the reader's completion lifts the pause (regression test).
    assert!(!w.is_paused());
}

#[test]
fn capacity_bounds_examined_but_unconsumed_bytes() {
    // .NET enforces no maximum buffer size (backpressure counts only unexamined bytes);
    // ringpipe's capacity is a hard bound
    // (crate docs "Capacity") even when everything is examined and backpressure is released.
    let (mut w, mut r, _pool) = bp_pipe(128, 64, 64, 32);
    put(&mut w, &[1; 64]);
    assert_eq!(w.try_flush().unwrap(), None);
    read_advance(&mut r, 0, 64);
    put(&mut w, &[2; 64]);
    // 128 held, 64 unexamined: paused again, and no room at all.
    assert_eq!(w.try_flush().unwrap(), None);
    read_advance(&mut r, 0, 128);
    assert!(plain(&w.try_flush().unwrap().unwrap()));
    assert!(matches!(
        w.try_get_memory(1).unwrap_err(),
        WriteError::Full { requested: 1 }
    ));
}

#[test]
fn pause_zero_never_pauses() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    for _ in 0..16 {
        put(&mut w, &[0; 64]);
        assert!(plain(&w.try_flush().unwrap().unwrap()));
        assert!(!w.is_paused());
    }
    assert_eq!(must_read(&mut r).bytes.len(), 1024);
}

#[test]
fn threaded_backpressure_delivers_everything_in_order() {
    // Pause/resume under real threads: the reader alternates between consuming everything,
    // consuming half, and examining without consuming; every byte arrives once, in order, and
    // no wake-up is lost (a hang fails the guard).
    let (received, expected) = with_timeout(|| {
        let (mut w, mut r, _pool) = bp_pipe(256, 16, 64, 32);
        let mut expected = Vec::new();
        let mut msgs = Vec::new();
        let n = if cfg!(miri) { 100 } else { 2000 };
        for i in 0..n {
            let len = 1 + (i * 37) % 50;
            let m: Vec<u8> = (0..len).map(|j| ((i + j) % 251) as u8).collect();
            expected.extend_from_slice(&m);
            msgs.push(m);
        }
        let producer = std::thread::spawn(move || {
            for m in &msgs {
                let f = w.write_all_blocking(m).unwrap();
                assert!(!f.is_canceled() && !f.is_completed());
            }
        });
        let mut out = Vec::new();
        let mut round = 0usize;
        loop {
            let res = r.read_blocking().unwrap();
            let buf = res.buffer();
            let done = res.is_completed();
            let n = match round % 3 {
                _ if done => buf.len(),
                0 => buf.len(),
                1 => buf.len() / 2,
                _ if buf.len() >= 128 => buf.len(),
                _ => 0,
            };
            out.extend_from_slice(&buf.slice(..n).to_vec());
            let (c, e) = (buf.position(n), buf.end());
            r.advance_to(c, e).unwrap();
            round += 1;
            if done {
                break;
            }
        }
        producer.join().unwrap();
        (out, expected)
    });
    assert_eq!(received.len(), expected.len());
    assert!(received == expected);
}
