//! Pipe options (defaults and validation) and the writer: `get_memory`/`advance` (size hints,
//! reuse of the current chunk, after either side completed, when bytes become visible) and
//! `flush`/`write_all` (commit, when the reader is woken, results after the reader completed).

mod support;

use ringpipe::{
    ChunkPool, OptionsError, PipeOptions, WriteError, DEFAULT_CAPACITY, DEFAULT_CHUNK_SIZE,
    DEFAULT_PAUSE_THRESHOLD, MAX_CHUNK_SIZE, MAX_SLOTS,
};
use std::error::Error as _;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use support::*;

// ---------------------------------------------------------------------------------------------
// Options: defaults and validation
// ---------------------------------------------------------------------------------------------

#[test]
fn options_defaults() {
    let o = PipeOptions::default();
    assert_eq!(DEFAULT_CAPACITY, 1 << 20);
    assert_eq!(DEFAULT_CHUNK_SIZE, 16 << 10);
    assert_eq!(DEFAULT_PAUSE_THRESHOLD, 65536);
    assert_eq!(o.capacity(), 1 << 20);
    assert_eq!(o.chunk_size(), 16 << 10);
    // .NET PauseWriterThreshold 65536, ResumeWriterThreshold 32768.
    assert_eq!(o.pause_writer_threshold(), 65536);
    assert_eq!(o.resume_writer_threshold(), 32768);
    assert_eq!(o.spin_before_park(), 0);
    // Adaptive spinning up to 20 µs (never under Miri, whose clock is slow and virtual).
    let adaptive = ringpipe::SpinWait::Adaptive {
        max: std::time::Duration::from_micros(20),
    };
    let expect = if cfg!(miri) {
        ringpipe::SpinWait::Never
    } else {
        adaptive
    };
    assert_eq!(o.spin_wait(), expect);
    assert_eq!(ringpipe::DEFAULT_SPIN_WAIT, o.spin_wait());
    assert_eq!(ringpipe::SpinWait::default(), o.spin_wait());
    // ceil(1 MiB / 16 KiB) + 1 = 65 slots, rounded up to a power of two.
    assert_eq!(o.slots(), 128);
    // Default pool is the process-wide pool for the chunk size.
    assert!(o.pool().same_pool(&ChunkPool::global(16 << 10).unwrap()));
    let b = PipeOptions::builder().build().unwrap();
    assert_eq!(b.capacity(), o.capacity());
    assert_eq!(b.pause_writer_threshold(), o.pause_writer_threshold());
}

#[test]
fn options_pause_defaults_to_capacity_when_smaller_and_resume_to_half() {
    let o = PipeOptions::builder().capacity(1000).build().unwrap();
    assert_eq!(o.pause_writer_threshold(), 1000);
    assert_eq!(o.resume_writer_threshold(), 500);
    // Since .NET 9 a defaulted resume threshold may not exceed an explicit pause threshold
    // (the writer could never resume): an explicit pause with a defaulted resume gets pause/2,
    // never > pause.
    let o = PipeOptions::builder()
        .pause_writer_threshold(100)
        .build()
        .unwrap();
    assert_eq!(o.resume_writer_threshold(), 50);
    let o = PipeOptions::builder()
        .pause_writer_threshold(1)
        .build()
        .unwrap();
    assert_eq!(o.resume_writer_threshold(), 1);
}

#[test]
fn options_resume_zero_is_taken_as_one() {
    // .NET 9 normalises resume 0 to 1 (a resume of 0 could never be reached).
    let o = PipeOptions::builder()
        .pause_writer_threshold(10)
        .resume_writer_threshold(0)
        .build()
        .unwrap();
    assert_eq!(o.resume_writer_threshold(), 1);
}

#[test]
fn options_pause_zero_means_never_pause_and_resume_zero() {
    // Pause 0 = never pause; the resume threshold is then irrelevant and reported as 0.
    let o = PipeOptions::builder()
        .pause_writer_threshold(0)
        .resume_writer_threshold(77)
        .build()
        .unwrap();
    assert_eq!(o.pause_writer_threshold(), 0);
    assert_eq!(o.resume_writer_threshold(), 0);
}

#[test]
fn options_explicit_values_are_kept() {
    let pool = private_pool(4096, 8);
    let o = PipeOptions::builder()
        .capacity(256 * 1024)
        .pool(pool.clone())
        .pause_writer_threshold(64 * 1024)
        .resume_writer_threshold(32 * 1024)
        .spin_before_park(7)
        .build()
        .unwrap();
    assert_eq!(o.capacity(), 256 * 1024);
    assert_eq!(o.chunk_size(), 4096);
    assert_eq!(o.pause_writer_threshold(), 64 * 1024);
    assert_eq!(o.resume_writer_threshold(), 32 * 1024);
    assert_eq!(o.spin_before_park(), 7);
    assert_eq!(o.spin_wait(), ringpipe::SpinWait::Fixed(7));
    // 0 spins: park at once; spin_wait replaces spin_before_park and back (the last one wins).
    let b = PipeOptions::builder().spin_before_park(0);
    assert_eq!(
        b.clone().build().unwrap().spin_wait(),
        ringpipe::SpinWait::Never
    );
    let b = b.spin_wait(adaptive_5us());
    assert_eq!(b.clone().build().unwrap().spin_wait(), adaptive_5us());
    assert_eq!(b.clone().build().unwrap().spin_before_park(), 0);
    let fixed = b.spin_before_park(3).build().unwrap();
    assert_eq!(fixed.spin_wait(), ringpipe::SpinWait::Fixed(3));
    assert!(o.pool().same_pool(&pool));
    // 256 KiB / 4 KiB + 1 = 65 → 128 slots.
    assert_eq!(o.slots(), 128);
}

#[test]
fn options_capacity_zero_rejected() {
    let e = PipeOptions::builder().capacity(0).build().unwrap_err();
    assert_eq!(e, OptionsError::Capacity { capacity: 0 });
    assert_eq!(
        e.to_string(),
        "capacity 0 is out of range: it must be at least 1 byte"
    );
}

#[test]
fn options_chunk_size_out_of_range_rejected() {
    let e = PipeOptions::builder().chunk_size(0).build().unwrap_err();
    assert_eq!(e, OptionsError::ChunkSize { chunk_size: 0 });
    assert_eq!(
        e.to_string(),
        format!("chunk size 0 is out of range: it must be between 1 and {MAX_CHUNK_SIZE} bytes")
    );
    let e = PipeOptions::builder()
        .chunk_size(MAX_CHUNK_SIZE + 1)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::ChunkSize {
            chunk_size: MAX_CHUNK_SIZE + 1
        }
    );
    assert_eq!(
        ChunkPool::new(0, 1).unwrap_err(),
        OptionsError::ChunkSize { chunk_size: 0 }
    );
    assert_eq!(
        ChunkPool::new(MAX_CHUNK_SIZE + 1, 1).unwrap_err(),
        OptionsError::ChunkSize {
            chunk_size: MAX_CHUNK_SIZE + 1
        }
    );
    assert!(ChunkPool::new(MAX_CHUNK_SIZE, 0).is_ok());
}

#[test]
fn options_too_many_chunks_rejected() {
    let pool = private_pool(1, 1);
    let e = PipeOptions::builder()
        .pool(pool.clone())
        .capacity(MAX_SLOTS)
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
        format!(
            "capacity / chunk size needs {} chunk slots, more than the {MAX_SLOTS} a ring may have: use bigger chunks",
            MAX_SLOTS + 1
        )
    );
    // One byte less fits exactly.
    let o = PipeOptions::builder()
        .pool(pool)
        .capacity(MAX_SLOTS - 1)
        .pause_writer_threshold(0)
        .build()
        .unwrap();
    assert_eq!(o.slots(), MAX_SLOTS);
}

#[test]
fn options_pause_above_capacity_rejected() {
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
    let o = PipeOptions::builder()
        .capacity(100)
        .pause_writer_threshold(100)
        .build()
        .unwrap();
    assert_eq!(o.pause_writer_threshold(), 100);
}

#[test]
fn options_resume_above_pause_rejected() {
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
    let o = PipeOptions::builder()
        .pause_writer_threshold(10)
        .resume_writer_threshold(10)
        .build()
        .unwrap();
    assert_eq!(o.resume_writer_threshold(), 10);
}

#[test]
fn options_pool_chunk_size_mismatch_rejected() {
    let pool = private_pool(4096, 1);
    let e = PipeOptions::builder()
        .pool(pool.clone())
        .chunk_size(8192)
        .build()
        .unwrap_err();
    assert_eq!(
        e,
        OptionsError::PoolChunkSize {
            pool: 4096,
            requested: 8192
        }
    );
    assert_eq!(
        e.to_string(),
        "the pool's chunks are 4096 bytes but a chunk size of 8192 was asked for"
    );
    // The same chunk size is fine.
    let o = PipeOptions::builder()
        .pool(pool)
        .chunk_size(4096)
        .build()
        .unwrap();
    assert_eq!(o.chunk_size(), 4096);
}

// ---------------------------------------------------------------------------------------------
// Writer: get_memory and advance (size hints, reuse of the current chunk, after completion,
// visibility, unflushed bytes)
// ---------------------------------------------------------------------------------------------

#[test]
fn get_memory_zero_returns_non_empty() {
    // A fresh chunk, bounded by the room left in the ring.
    let (mut w, _r, _pool) = plain_pipe(100, 64);
    assert_eq!(w.max_memory(), 64);
    assert_eq!(w.try_get_memory(0).unwrap().len(), 64);
    w.advance(64);
    // Next chunk, but only 36 bytes of capacity left.
    assert_eq!(w.try_get_memory(0).unwrap().len(), 36);
    // Async and blocking forms agree.
    let (_c, waker) = counting_waker();
    let mut f = pin!(w.get_memory(0));
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Ok(m)) => assert_eq!(m.len(), 36),
        other => panic!("expected ready memory, got {other:?}"),
    }
}

#[test]
fn get_memory_returns_at_least_size_hint() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    for hint in [1usize, 10, 63, 64] {
        let m = w.try_get_memory(hint).unwrap();
        assert!(m.len() >= hint, "hint {hint} got {}", m.len());
    }
    assert_eq!(w.get_memory_blocking(64).unwrap().len(), 64);
    // No negative hints exist (usize): .NET's ArgumentOutOfRangeException for a negative size
    // hint cannot happen.
}

#[test]
fn try_get_memory_full_when_capacity_is_used() {
    // Capacity bound (ringpipe difference, crate docs "Capacity"): try_get_memory never waits.
    let (mut w, _r, _pool) = plain_pipe(10, 64);
    assert_eq!(w.max_memory(), 10);
    put(&mut w, b"12345678");
    let e = w.try_get_memory(3).unwrap_err();
    assert!(matches!(e, WriteError::Full { requested: 3 }), "{e:?}");
    assert_eq!(e.to_string(), "the pipe has no room for 3 bytes right now");
    // What is left is still available.
    assert_eq!(w.try_get_memory(2).unwrap().len(), 2);
}

#[test]
fn get_memory_waits_for_room_and_is_woken_once() {
    // Capacity bound (crate docs "Capacity"): the waiting forms wait for the reader.
    let (mut w, mut r, _pool) = plain_pipe(8, 8);
    put_commit(&mut w, b"01234567");
    let (c, waker) = counting_waker();
    let p2 = {
        let res = r.try_read().unwrap().unwrap();
        res.buffer().position(2)
    };
    let mut f = pin!(w.get_memory(2));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    // Consuming 1 byte is not enough for a hint of 2.
    let p1 = {
        let res = r.try_read().unwrap().unwrap();
        res.buffer().position(1)
    };
    r.advance_to_consumed(p1).unwrap();
    assert_eq!(c.count(), 0);
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    r.advance_to_consumed(p2).unwrap();
    assert_eq!(c.count(), 1);
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Ok(m)) => assert_eq!(m.len(), 2),
        other => panic!("expected 2 bytes, got {other:?}"),
    }
}

#[test]
fn get_memory_waits_for_a_free_chunk_slot() {
    // capacity 8 / chunk 4 → 4 slots. Four 1-byte chunks (each hint 4 skips the rest of the
    // previous chunk) use every slot with only 4 bytes held.
    let (mut w, mut r, pool) = plain_pipe(8, 4);
    for b in b"abcd" {
        let m = w.try_get_memory(4).unwrap();
        assert_eq!(m.len(), 4);
        m[0] = *b;
        w.advance(1);
    }
    w.commit();
    assert_eq!(pool.in_use(), 4);
    assert!(matches!(
        w.try_get_memory(4).unwrap_err(),
        WriteError::Full { requested: 4 }
    ));
    let (c, waker) = counting_waker();
    let mut f = pin!(w.get_memory(4));
    assert!(poll_once(f.as_mut(), &waker).is_pending());
    let g = read_advance(&mut r, 1, 1);
    assert_eq!(g.bytes, b"abcd");
    // The released chunk waits in its slot as the writer's spare (not in the pool).
    assert_eq!((pool.in_use(), pool.retained()), (4, 0));
    assert_eq!(c.count(), 1);
    match poll_once(f.as_mut(), &waker) {
        Poll::Ready(Ok(m)) => assert_eq!(m.len(), 4),
        other => panic!("expected 4 bytes, got {other:?}"),
    }
    // The writer's new chunk is that spare: nothing allocated, nothing taken from the pool.
    assert_eq!((pool.in_use(), pool.allocated()), (4, 4));
}

#[test]
fn get_memory_reuses_head_after_partial_write() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    let first = w.try_get_memory(0).unwrap();
    let (p0, l0) = (first.as_ptr() as usize, first.len());
    first[..3].copy_from_slice(b"abc");
    w.advance(3);
    let second = w.try_get_memory(0).unwrap();
    // SlicesSpanAndAdvancesAfterWrite: GetSpan().Length == initial - 3, same memory.
    assert_eq!(second.len(), l0 - 3);
    assert_eq!(second.as_ptr() as usize, p0 + 3);
    w.advance(10);
    let third = w.try_get_memory(5).unwrap();
    assert_eq!(third.len(), l0 - 13);
    assert_eq!(third.as_ptr() as usize, p0 + 13);
    assert_eq!(w.granted_memory().len(), l0 - 13);
}

#[test]
fn hint_not_fitting_in_head_moves_to_fresh_chunk() {
    // ringpipe: the rest of the old chunk goes unused; readers never see empty chunks.
    let (mut w, mut r, pool) = plain_pipe(1024, 16);
    put(&mut w, b"0123456789");
    assert_eq!(pool.in_use(), 1);
    let m = w.try_get_memory(8).unwrap();
    assert_eq!(m.len(), 16);
    m[..8].copy_from_slice(b"abcdefgh");
    w.advance(8);
    assert_eq!(pool.in_use(), 2);
    w.flush_blocking().unwrap();
    let res = r.try_read().unwrap().unwrap();
    let lens: Vec<usize> = res.buffer().chunks().map(<[u8]>::len).collect();
    assert_eq!(lens, vec![10, 8]);
    assert_eq!(res.buffer().to_vec(), b"0123456789abcdefgh");
    assert!(!res.buffer().is_single_chunk());
}

#[test]
fn size_hint_above_max_memory_is_too_large() {
    // For a hint above the segment size .NET rents a bigger array; ringpipe hands out at most
    // max_memory() contiguous bytes.
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    let e = w.try_get_memory(65).unwrap_err();
    assert!(
        matches!(
            e,
            WriteError::TooLarge {
                requested: 65,
                max: 64
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "size hint 65 is larger than the largest contiguous memory the pipe hands out (64 bytes)"
    );
    // max_memory is min(chunk size, capacity).
    let (mut w, _r, _pool) = plain_pipe(10, 64);
    assert_eq!(w.max_memory(), 10);
    assert!(matches!(
        w.get_memory_blocking(11).unwrap_err(),
        WriteError::TooLarge {
            requested: 11,
            max: 10
        }
    ));
}

#[test]
fn chunks_have_the_pool_size_regardless_of_hint() {
    // .NET sizes a segment max(MinimumSegmentSize, hint); ringpipe chunks are fixed-size pool
    // chunks.
    let (mut w, _r, pool) = plain_pipe(1024, 32);
    assert_eq!(w.try_get_memory(1).unwrap().len(), 32);
    assert_eq!(pool.in_use(), 1);
    assert_eq!(pool.allocated(), 1);
}

#[test]
fn get_memory_after_writer_complete_errors() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    w.complete();
    let e = w.try_get_memory(0).unwrap_err();
    assert!(matches!(e, WriteError::WriterCompleted), "{e:?}");
    assert_eq!(
        e.to_string(),
        "writing is not allowed after the writer was completed"
    );
    assert!(matches!(
        w.get_memory_blocking(1).unwrap_err(),
        WriteError::WriterCompleted
    ));
}

#[test]
fn get_memory_after_reader_complete_still_works_and_drops_data() {
    let (mut w, mut r, pool) = plain_pipe(1024, 64);
    r.complete();
    for _ in 0..10_000 {
        let m = w.try_get_memory(0).unwrap();
        assert_eq!(m.len(), 64);
        m[..5].copy_from_slice(b"hello");
        w.advance(5);
        // Advance after the reader completed drops the data: UnflushedBytes stays 0.
        assert_eq!(w.unflushed_bytes(), 0);
        let f = w.flush_blocking().unwrap();
        assert!(f.is_completed() && !f.is_canceled());
    }
    // GetMemoryFlushWithACompletedReaderNoops: exactly one block rented, 0 after Complete.
    assert_eq!(pool.in_use(), 1);
    assert_eq!(pool.allocated(), 1);
    w.complete();
    assert_eq!(pool.in_use(), 0);
}

#[test]
#[should_panic(expected = "past the memory handed out")]
fn advance_past_grant_panics() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    let n = w.try_get_memory(0).unwrap().len();
    w.advance(n + 1);
}

#[test]
#[should_panic(expected = "past the memory handed out")]
fn advance_without_memory_panics() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    w.advance(1);
}

#[test]
#[should_panic(expected = "past the memory handed out")]
fn advance_past_what_is_left_after_partial_advances_panics() {
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    assert_eq!(w.try_get_memory(0).unwrap().len(), 64);
    w.advance(60);
    w.advance(4);
    w.advance(1);
}

#[test]
fn advance_zero_is_legal() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    // Even with no memory handed out.
    w.advance(0);
    w.try_get_memory(0).unwrap();
    w.advance(0);
    assert_eq!(w.unflushed_bytes(), 0);
    let f = w.flush_blocking().unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
    assert!(r.try_read().unwrap().is_none());
}

#[test]
fn advance_after_reader_complete_is_a_no_op() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"abc");
    assert_eq!(w.unflushed_bytes(), 3);
    r.complete();
    let m = w.try_get_memory(4).unwrap();
    assert!(m.len() >= 4);
    w.advance(4);
    // The 3 bytes advanced before the reader completed stay counted; the new 4 are dropped.
    assert_eq!(w.unflushed_bytes(), 3);
    let f = w.flush_blocking().unwrap();
    assert!(f.is_completed());
    // UnflushedBytes is 0 after a flush.
    // The flush folds the 3 bytes into the (dropped) stream (regression test: they
    // used to stay counted forever once the writer had switched to scratch memory).
    assert_eq!(w.unflushed_bytes(), 0);
}

#[test]
fn unflushed_bytes_invisible_until_flush() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"hello");
    assert!(r.try_read().unwrap().is_none());
    let (c, waker) = counting_waker();
    {
        let mut rf = pin!(r.read());
        assert!(poll_once(rf.as_mut(), &waker).is_pending());
        assert_eq!(c.count(), 0);
        let f = w.flush_blocking().unwrap();
        assert!(!f.is_canceled() && !f.is_completed());
        assert_eq!(c.count(), 1);
        match poll_once(rf.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => assert_eq!(res.buffer().to_vec(), b"hello"),
            other => panic!("expected data, got {:?}", other.map(|r| r.map(|x| got(&x)))),
        }
    }
}

#[test]
fn bytes_written_but_not_advanced_are_never_visible() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    let m = w.try_get_memory(5).unwrap();
    m[..5].copy_from_slice(b"abcde");
    w.advance(3);
    w.flush_blocking().unwrap();
    assert_eq!(must_read(&mut r).bytes, b"abc");
}

#[test]
fn unflushed_bytes_counts_advanced_since_last_commit() {
    let (mut w, _r, _pool) = plain_pipe(1024, 4);
    assert_eq!(w.unflushed_bytes(), 0);
    w.try_get_memory(0).unwrap();
    w.advance(3);
    assert_eq!(w.unflushed_bytes(), 3);
    // Across a chunk boundary.
    w.try_get_memory(4).unwrap();
    w.advance(4);
    assert_eq!(w.unflushed_bytes(), 7);
    w.commit();
    assert_eq!(w.unflushed_bytes(), 0);
    put(&mut w, b"xy");
    assert_eq!(w.unflushed_bytes(), 2);
    w.flush_blocking().unwrap();
    assert_eq!(w.unflushed_bytes(), 0);
    put(&mut w, b"z");
    assert_eq!(w.unflushed_bytes(), 1);
    w.complete();
    assert_eq!(w.unflushed_bytes(), 0);
}

// ---------------------------------------------------------------------------------------------
// Writer: flush and write_all (a flush commits, wakes the reader only when it committed bytes,
// and reports the reader's completion or error; write_all copies across chunks, then flushes)
// ---------------------------------------------------------------------------------------------

#[test]
fn flush_commits_and_is_ready_without_backpressure() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"data");
    let (c, waker) = counting_waker();
    {
        let mut f = pin!(w.flush());
        // FlushAsyncWithoutBackpressureReturnsTaskWithValue: ready at the first poll.
        match poll_once(f.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => {
                assert!(!res.is_canceled());
                assert!(!res.is_completed());
                assert_eq!(res, ringpipe::FlushResult::default());
            }
            other => panic!("expected a ready flush, got {other:?}"),
        }
    }
    assert_eq!(c.count(), 0);
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(must_read(&mut r).bytes, b"data");
}

#[test]
fn commit_publishes_without_waiting() {
    let (mut w, mut r, _pool) = bp_pipe(1024, 64, 8, 4);
    put(&mut w, b"0123456789");
    // commit crosses the pause threshold but does not wait.
    w.commit();
    assert!(w.is_paused());
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(must_read(&mut r).bytes, b"0123456789");
}

#[test]
fn empty_flush_does_not_wake_parked_reader() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    let (c, waker) = counting_waker();
    {
        let mut rf = pin!(r.read());
        assert!(poll_once(rf.as_mut(), &waker).is_pending());
        // EmptyFlushAsyncDoesntWakeUpReader.
        let f = w.flush_blocking().unwrap();
        assert!(!f.is_canceled() && !f.is_completed());
        w.commit();
        assert_eq!(c.count(), 0);
        assert!(poll_once(rf.as_mut(), &waker).is_pending());
        // A flush with data wakes it exactly once.
        put(&mut w, b"x");
        w.flush_blocking().unwrap();
        assert_eq!(c.count(), 1);
        match poll_once(rf.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => assert_eq!(res.buffer().to_vec(), b"x"),
            other => panic!("expected data, got {:?}", other.map(|r| r.map(|x| got(&x)))),
        }
    }
}

#[test]
fn empty_flush_does_not_wake_reader_after_advance() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"abc");
    w.flush_blocking().unwrap();
    // EmptyFlushAsyncDoesntWakeUpReaderAfterAdvance: examine everything, then wait for more.
    read_advance(&mut r, 0, 3);
    let (c, waker) = counting_waker();
    {
        let mut rf = pin!(r.read());
        assert!(poll_once(rf.as_mut(), &waker).is_pending());
        w.flush_blocking().unwrap();
        assert_eq!(c.count(), 0);
        assert!(poll_once(rf.as_mut(), &waker).is_pending());
        put(&mut w, b"d");
        w.flush_blocking().unwrap();
        assert_eq!(c.count(), 1);
        match poll_once(rf.as_mut(), &waker) {
            Poll::Ready(Ok(res)) => {
                assert_eq!(res.buffer().to_vec(), b"abcd");
                assert!(!res.is_canceled() && !res.is_completed());
            }
            other => panic!("expected data, got {:?}", other.map(|r| r.map(|x| got(&x)))),
        }
    }
}

#[test]
fn flush_after_writer_complete_errors() {
    // .NET's FlushAsync does not check the writer's completion; ringpipe's flush documents
    // WriteError::WriterCompleted.
    let (mut w, _r, _pool) = plain_pipe(1024, 64);
    w.complete();
    assert!(matches!(
        w.flush_blocking().unwrap_err(),
        WriteError::WriterCompleted
    ));
    assert!(matches!(
        w.try_flush().unwrap_err(),
        WriteError::WriterCompleted
    ));
}

#[test]
fn reader_completion_makes_flush_completed() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"abc");
    r.complete();
    for _ in 0..3 {
        let f = w.flush_blocking().unwrap();
        assert!(f.is_completed());
        assert!(!f.is_canceled());
    }
    let f = w.try_flush().unwrap().unwrap();
    assert!(f.is_completed());
    let f = w.write_all_blocking(b"more").unwrap();
    assert!(f.is_completed());
}

#[test]
fn reader_error_is_the_same_arc_on_every_call() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    r.complete_with_error(TestError { id: 42 });
    let e1 = w.flush_blocking().unwrap_err();
    let e2 = w.write_all_blocking(b"x").unwrap_err();
    let e3 = w.try_flush().unwrap_err();
    let a1 = match &e1 {
        WriteError::ReaderFailed(a) => a.clone(),
        other => panic!("expected ReaderFailed, got {other:?}"),
    };
    for e in [&e2, &e3] {
        let a = e.reader_error().expect("ReaderFailed");
        assert!(Arc::ptr_eq(&a1, a));
    }
    assert_eq!(a1.downcast_ref::<TestError>().unwrap().id, 42);
    assert_eq!(
        e1.to_string(),
        "the reader completed with an error: test error #42"
    );
    assert_eq!(format!("{e1:?}"), "ReaderFailed(test error #42)");
    assert_eq!(e1.source().unwrap().to_string(), "test error #42");
}

#[test]
fn write_all_across_many_tiny_chunks() {
    let (mut w, mut r, pool) = plain_pipe(64, 3);
    let data = pattern(50);
    let f = w.write_all_blocking(&data).unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
    assert_eq!(w.unflushed_bytes(), 0);
    assert_eq!(pool.in_use(), 17);
    let res = r.try_read().unwrap().unwrap();
    let buf = res.buffer();
    assert_eq!(buf.len(), 50);
    assert_eq!(buf.to_vec(), data);
    let lens: Vec<usize> = buf.chunks().map(<[u8]>::len).collect();
    let mut expected = vec![3; 16];
    expected.push(2);
    assert_eq!(lens, expected);
}

#[test]
fn write_all_larger_than_capacity_with_concurrent_reader() {
    const N: usize = if cfg!(miri) { 3_000 } else { 100_000 };
    let total = with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(1000, 7);
        let data = pattern(N);
        let expected = data.clone();
        let producer = std::thread::spawn(move || {
            let f = w.write_all_blocking(&data).unwrap();
            assert!(!f.is_canceled() && !f.is_completed());
        });
        let mut out = Vec::new();
        loop {
            let res = r.read_blocking().unwrap();
            let buf = res.buffer();
            out.extend_from_slice(&buf.to_vec());
            let (end, done) = (buf.end(), res.is_completed());
            r.advance_to(end, end).unwrap();
            if done {
                break;
            }
        }
        producer.join().unwrap();
        assert_eq!(out, expected);
        out.len()
    });
    assert_eq!(total, N);
}

#[test]
fn write_all_after_writer_complete_errors() {
    let (mut w, _r, pool) = plain_pipe(1024, 64);
    w.complete();
    assert!(matches!(
        w.write_all_blocking(b"abc").unwrap_err(),
        WriteError::WriterCompleted
    ));
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn write_all_after_reader_complete_copies_nothing() {
    // WriteAsyncWithACompletedReaderNoops: completed result, 0 blocks rented.
    let (mut w, mut r, pool) = plain_pipe(1024, 64);
    r.complete();
    let f = w.write_all_blocking(&pattern(500)).unwrap();
    assert!(f.is_completed());
    assert!(!f.is_canceled());
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.allocated(), 0);
    assert_eq!(w.unflushed_bytes(), 0);
}

#[test]
fn write_all_empty_is_a_plain_flush() {
    let (mut w, mut r, _pool) = plain_pipe(1024, 64);
    put(&mut w, b"pending");
    let f = w.write_all_blocking(b"").unwrap();
    assert!(!f.is_canceled() && !f.is_completed());
    assert_eq!(must_read(&mut r).bytes, b"pending");
}

fn adaptive_5us() -> ringpipe::SpinWait {
    ringpipe::SpinWait::Adaptive {
        max: std::time::Duration::from_micros(5),
    }
}
