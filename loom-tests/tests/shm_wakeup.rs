//! The shared-memory wake-up (`src/bell.rs`, used by `ringpipe::shm`): the same protocol, with
//! each side a "process" of its own (two rings over one storage, each with its own wake-up),
//! and its two ways to wake a side: an async waiter by its bell (the other side rings it, and
//! a watcher thread in the waiting "process" drains the bell and then wakes the waker in the
//! side's slot), a blocking call on its futex word (the other side bumps the word and wakes
//! it). Loom's mutex and condition variable stand in for the socket and the futex calls
//! (`ringpipe::loom_shm`). The first model's reader waits async (the bell); the second's
//! halves both block (the futex words); the last two block on the futex word and are woken
//! by an event: the other side's completion (a ring, then the watcher through the blocking
//! call's waker) and a cancel from a thread of the same "process" (the waker directly).
//!
//! Threads: the main one (reader), the writer (or a canceller) and one watcher per side: loom's
//! limit.
//! A lost ring (a bell rung before the waker was there, or drained after a wake was missed) is
//! a loom deadlock; each waiting side's counterpart is kept alive (handed back by `join`)
//! until the waiting side has finished, so that its completion cannot mask one. (A completion
//! or a cancel rings the other side's bell the same way as a commit: `BellWakeup::ring`.)
//!
//! Mutation checks: a watcher that wakes before it drains (a ring that lands between the two
//! is lost) deadlocks `reader_woken_by_the_writer_ringing_its_bell` at bound 3 within a second;
//! at bound 2, which CI runs, the schedule is out of reach (it needs the watcher preempted
//! between its wake and its drain, and the writer between its two commits, and the reader's
//! run in between); the whole model at bound 3 takes over 10 minutes. A blocking call that
//! reads its futex word after its poll instead of before (a bump between the two is lost)
//! deadlocks `paused_writer_woken_on_its_futex_word` at bound 2 within 5 s. A blocking call's
//! waker that wakes the futex without bumping the word deadlocks each of the last two at once.
//!
//! Run time at bound 2: 83 s for the first two (run side by side, 2 CPUs), under a second for
//! the last two.
#![cfg(loom)]

use loom::thread;
use ringpipe::{ChunkPool, PipeOptions};

fn options(capacity: usize, pause: usize, resume: usize) -> PipeOptions {
    let pool = ChunkPool::new(2, 4).expect("valid pool");
    let mut b = PipeOptions::builder()
        .capacity(capacity)
        .chunk_size(2)
        .pool(pool)
        .pause_writer_threshold(pause);
    if pause != 0 {
        b = b.resume_writer_threshold(resume);
    }
    b.build().expect("valid options")
}

/// P1 + W1 across "processes": the reader waits for data, async; each of the writer's two
/// commits must reach it through its bell (the second while the reader may be between its
/// drain and its next wait).
#[test]
fn reader_woken_by_the_writer_ringing_its_bell() {
    loom::model(|| {
        let (mut writer, mut reader) = ringpipe::loom_shm::pipe(options(4, 0, 0));
        let producer = thread::spawn(move || {
            writer.write_all_blocking(&[1]).expect("write");
            writer.write_all_blocking(&[2]).expect("write");
            writer
        });
        let mut got = Vec::new();
        while got.len() < 2 {
            let res = loom::future::block_on(reader.read()).expect("read");
            let bytes = res.buffer().to_vec();
            assert!(!bytes.is_empty() && !res.is_completed());
            got.extend_from_slice(&bytes);
            let end = res.buffer().end();
            reader.advance_to(end, end).expect("advance");
        }
        assert_eq!(got, [1, 2]);
        drop(producer.join().unwrap());
    });
}

/// Backpressure (P4) across "processes", both halves blocking: the writer's flush pauses at 2
/// unexamined bytes, and the reader's advance below the resume threshold must wake it on its
/// futex word; the reader waits for the data on its own.
#[test]
fn paused_writer_woken_on_its_futex_word() {
    loom::model(|| {
        let (mut writer, mut reader) = ringpipe::loom_shm::pipe(options(4, 2, 1));
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2]).expect("write");
            assert!(!r.is_completed() && !writer.is_paused());
            writer
        });
        let mut seen = 0;
        while seen < 2 {
            let res = reader.read_blocking().expect("read");
            seen = res.buffer().len();
            let end = res.buffer().end();
            reader.advance_to(end, end).expect("advance");
        }
        drop(producer.join().unwrap());
    });
}

/// C1 across "processes": the reader blocks (its futex word) with nothing to read; the
/// writer's completion rings the reader's bell (a completion always does), and the reader's
/// watcher must reach the blocking call through its waker, which bumps the futex word.
#[test]
fn blocking_reader_woken_by_the_writers_completion() {
    loom::model(|| {
        let (mut writer, mut reader) = ringpipe::loom_shm::pipe(options(4, 0, 0));
        let producer = thread::spawn(move || {
            writer.complete();
            writer
        });
        loop {
            let res = reader.read_blocking().expect("read");
            assert!(res.buffer().is_empty());
            if res.is_completed() {
                break;
            }
        }
        drop(producer.join().unwrap());
    });
}

/// Cancel within a "process": a canceller thread of the reader's process cancels its blocking
/// read (parked on its futex word); the wake goes to the local waker, which bumps the word.
#[test]
fn blocking_read_ended_by_a_cancel() {
    loom::model(|| {
        let (writer, mut reader) = ringpipe::loom_shm::pipe(options(4, 0, 0));
        let canceller = reader.canceller();
        let t = thread::spawn(move || canceller.cancel_pending_read());
        let res = reader.read_blocking().expect("read");
        assert!(res.is_canceled() && res.buffer().is_empty());
        t.join().unwrap();
        drop(writer);
    });
}
