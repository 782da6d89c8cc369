//! A chunk the reader has wholly consumed is never held against the writer while the reader
//! waits.
//!
//! The reader gives chunks back in `advance_to` and just before it parks. A chunk can be
//! consumed to its last byte while the writer is still filling it (so it cannot go back yet);
//! when the writer seals it after the reader has parked, the writer must wake the reader to give
//! it back, and must not call its own wait for that chunk's slot a deadlock. Before the fix, a
//! writer waiting for room got a false `WouldDeadlock` (and so did the read), and a writer
//! polling `try_get_memory` got `Full` for ever while the reader stayed parked.

mod support;

use ringpipe::{PipeOptions, PipeReader, PipeWriter, SpinWait, WriteError};
use std::pin::pin;
use std::task::Poll;
use support::*;

/// A pipe over a private pool, no backpressure, no spinning (the scenarios run on one thread).
fn quiet_pipe(capacity: usize, chunk: usize) -> (PipeWriter, PipeReader, ringpipe::ChunkPool) {
    let pool = private_pool(chunk, 64);
    let opts = PipeOptions::builder()
        .capacity(capacity)
        .pool(pool.clone())
        .pause_writer_threshold(0)
        .spin_wait(SpinWait::Never)
        .build()
        .expect("valid options");
    let (w, r) = ringpipe::pipe(opts);
    (w, r, pool)
}

/// `try_get_memory(hint)`, one byte written and committed. Panics if there is no room.
fn one_byte_chunk(w: &mut PipeWriter, hint: usize, byte: u8) {
    let mem = w.try_get_memory(hint).expect("room for one byte");
    mem[0] = byte;
    w.advance(1);
    w.commit();
}

/// The shape found by hostile use, step by step, on one thread with counting wakers:
/// capacity 12, chunks of 4 (4 slots). The writer's wait for a slot is not a deadlock: the
/// reader holds a chunk it consumed, and polling the read once more gives it back.
#[test]
fn a_chunk_sealed_after_the_reader_parked_is_given_back_not_called_a_deadlock() {
    let (mut w, mut r, pool) = quiet_pipe(12, 4);
    put_commit(&mut w, b"abcd");
    read_advance(&mut r, 4, 4); // chunk 0 consumed, still open
    let (rc, rwaker) = counting_waker();
    let (wc, wwaker) = counting_waker();
    {
        let mut read = pin!(r.read_at_least(7));
        assert!(poll_once(read.as_mut(), &rwaker).is_pending());
        for byte in *b"efg" {
            one_byte_chunk(&mut w, 4, byte);
        }
        // The first of those grants sealed chunk 0 with the reader parked: it was woken to give
        // the chunk back (the commits of 1 byte each do not satisfy a read of 7).
        assert_eq!(rc.count(), 1, "the seal wakes the parked reader once");
        assert_eq!(pool.in_use(), 4, "chunk 0 is still held");
        {
            let mut mem = pin!(w.get_memory(4));
            match poll_once(mem.as_mut(), &wwaker) {
                Poll::Pending => {}
                other => panic!("the writer lacks only a slot the reader can free: {other:?}"),
            }
            // The reader, polled again, gives chunk 0 back and wakes the writer.
            assert!(poll_once(read.as_mut(), &rwaker).is_pending());
            assert_eq!(
                wc.count(),
                1,
                "giving the chunk back wakes the waiting writer"
            );
            match poll_once(mem.as_mut(), &wwaker) {
                Poll::Ready(Ok(mem)) => mem[..4].copy_from_slice(b"hijk"),
                other => panic!("the slot is free now: {other:?}"),
            }
        }
        w.advance(4);
        w.commit();
        match poll_once(read.as_mut(), &rwaker) {
            Poll::Ready(Ok(res)) => assert_eq!(res.buffer().to_vec(), b"efghijk"),
            other => panic!(
                "7 bytes are there: {:?}",
                other.map(|r| r.map(|r| r.buffer().len()))
            ),
        }
    }
    read_advance(&mut r, 7, 7);
    drop((w, r));
    assert_eq!(pool.in_use(), 0);
}

/// The same shape with two threads: the reader blocked in `read_at_least_blocking(7)`, the
/// writer polling `try_get_memory`. Before the fix the writer saw `Full` for ever (a hang that
/// nothing reported); the watchdog turns a hang into a failure.
#[test]
fn a_try_get_memory_writer_is_not_starved_by_a_parked_reader() {
    for _ in 0..if cfg!(miri) { 1 } else { 20 } {
        with_timeout(|| {
            let (mut w, mut r, pool) = quiet_pipe(12, 4);
            put_commit(&mut w, b"abcd");
            read_advance(&mut r, 4, 4);
            let writer = std::thread::spawn(move || {
                // Give the reader time to park first (not needed for correctness: any order
                // must work, and this is the one that used to hang).
                std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
                    0
                } else {
                    5
                }));
                for byte in *b"efg" {
                    one_byte_chunk(&mut w, 4, byte);
                }
                let mut full = 0u64;
                loop {
                    match w.try_get_memory(4) {
                        Ok(mem) => {
                            mem[..4].copy_from_slice(b"hijk");
                            break;
                        }
                        Err(WriteError::Full { .. }) => {
                            full += 1;
                            std::thread::yield_now();
                        }
                        Err(e) => panic!("try_get_memory: {e:?}"),
                    }
                }
                w.advance(4);
                w.commit();
                (w, full)
            });
            let got = r
                .read_at_least_blocking(7)
                .expect("the read can be satisfied")
                .buffer()
                .to_vec();
            assert_eq!(got, b"efghijk");
            let (w, _full) = writer.join().expect("writer");
            read_advance(&mut r, 7, 7);
            drop((w, r));
            assert_eq!(pool.in_use(), 0);
        });
    }
}

/// What one scenario ended with: the writer's wait for memory and the read, each as its first
/// `Ready` (or `Pending` if it never was); a read's data only as "Ok".
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    get_memory: String,
    read: String,
}

/// Chunk 0 filled and consumed while open; the reader waits in `read_at_least(n)`; the writer
/// puts one byte in each of up to `k` fresh chunks, then waits for `hint` bytes (filling them
/// and committing when it gets them). `park_first`: the reader starts waiting before the
/// writer's one-byte chunks (so it is parked when chunk 0 is sealed) or after them (so it gives
/// chunk 0 back before it parks). Both sides are polled by turns until nothing changes.
fn scenario(cap: usize, cs: usize, k: usize, n: usize, hint: usize, park_first: bool) -> Outcome {
    let (mut w, mut r, _pool) = quiet_pipe(cap, cs);
    let first = cs.min(cap);
    put_commit(&mut w, &pattern(first));
    read_advance(&mut r, first, first);
    let (_, waker) = counting_waker();
    let mut read_out: Option<String> = None;
    let mut read = pin!(r.read_at_least(n));
    let mut poll_read = |read_out: &mut Option<String>| {
        if read_out.is_none() {
            if let Poll::Ready(res) = poll_once(read.as_mut(), &waker) {
                // How much data a read returns depends on when it was polled; whether it
                // returns data, and which error, must not.
                *read_out = Some(match res {
                    Ok(res) => {
                        assert!(res.buffer().len() >= n, "read_at_least({n}) returned less");
                        "Ok".to_string()
                    }
                    Err(e) => format!("{e:?}"),
                });
            }
        }
    };
    if park_first {
        poll_read(&mut read_out);
    }
    let max = w.max_memory();
    for i in 0..k {
        match w.try_get_memory(max) {
            Ok(mem) => {
                mem[0] = i as u8;
                w.advance(1);
                w.commit();
            }
            Err(_) => break,
        }
    }
    if !park_first {
        poll_read(&mut read_out);
    }
    // The poll form leaves the writer registered as waiting while the reader is polled, so the
    // reader's own deadlock verdict (it sees the writer waiting for room) is exercised too.
    let mut gm_out: Option<String> = None;
    let mut cx = std::task::Context::from_waker(&waker);
    for _ in 0..4 {
        if gm_out.is_none() {
            match w.poll_get_memory(&mut cx, hint) {
                Poll::Pending => {}
                Poll::Ready(Ok(_)) => {
                    let mem = w.granted_memory();
                    let len = hint.min(mem.len());
                    mem[..len].fill(0xee);
                    w.advance(len);
                    w.commit();
                    gm_out = Some(format!("Ok({len})"));
                }
                Poll::Ready(Err(e)) => gm_out = Some(format!("{e:?}")),
            }
        }
        poll_read(&mut read_out);
    }
    Outcome {
        get_memory: gm_out.unwrap_or_else(|| "Pending".into()),
        read: read_out.unwrap_or_else(|| "Pending".into()),
    }
}

/// Whether the reader parked before or after the writer sealed the chunk it had consumed must
/// not change what either side gets: every capacity 1–13 and chunk size 1–5, every count of
/// one-byte chunks up to the ring's slots, every read minimum and every size hint.
#[test]
fn when_the_reader_parked_does_not_change_any_verdict() {
    let (caps, chunks) = if cfg!(miri) {
        (4..=5, 2..=2)
    } else {
        (1..=13, 1..=5)
    };
    let mut cells = 0;
    for cap in caps {
        for cs in chunks.clone() {
            let slots = PipeOptions::builder()
                .capacity(cap)
                .chunk_size(cs)
                .build()
                .unwrap()
                .slots();
            let max = cs.min(cap);
            for k in 0..=slots {
                for n in 1..=cap {
                    for hint in 1..=max {
                        let parked = scenario(cap, cs, k, n, hint, true);
                        let later = scenario(cap, cs, k, n, hint, false);
                        assert_eq!(
                            parked, later,
                            "capacity {cap}, chunk {cs}, {k} one-byte chunks, read_at_least({n}), \
                             get_memory({hint}): reader parked before the seal vs after"
                        );
                        cells += 1;
                    }
                }
            }
        }
    }
    assert!(cells > 0);
}
