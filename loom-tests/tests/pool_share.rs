//! Two pipes sharing one chunk pool: a chunk that pipe A's reader gives back is taken by pipe
//! B's writer, on another thread, and filled with B's data while A's reader goes on reading.
//!
//! What makes this fail: a reader that gives a chunk back to the pool before it is done reading
//! it (or a pool hand-over without a happens-before edge) is a causality violation on the
//! chunk's byte cells, which B's writer then writes; a chunk given back twice, or never, breaks
//! the pool's counts at the end; bytes crossing pipes break the content checks.
#![cfg(loom)]

use loom::thread;
use loom_tests::{drain_expect, read_all_blocking};
use ringpipe::{ChunkPool, PipeOptions, PipeReader, PipeWriter};

/// A pipe of `capacity` bytes over `pool`.
fn pipe_on(pool: &ChunkPool, capacity: usize) -> (PipeWriter, PipeReader) {
    let opts = PipeOptions::builder()
        .capacity(capacity)
        .pool(pool.clone())
        .pause_writer_threshold(0)
        .build()
        .expect("valid options");
    ringpipe::pipe(opts)
}

/// Pool of 2-byte chunks. Pipe A holds bytes 1, 2 in one chunk (sealed: the writer moved on)
/// and byte 3 in a second one. Thread 1 is A's reader: it consumes byte 1 only (the chunk still
/// holds byte 2, so it must stay), then bytes 2 and 3 (now the first chunk goes back to the
/// pool). Thread 2 is B's writer: it writes 9, 9, taking a chunk from the pool: A's first chunk
/// if it is back already, else a new one. The main thread is B's reader. Every byte arrives
/// where it belongs (a chunk given back while byte 2 is unread would be overwritten with 9s:
/// a loom causality violation or a content failure), and at the end every chunk is back.
#[test]
fn released_chunk_is_reused_by_another_pipe() {
    loom::model(|| {
        let pool = ChunkPool::new(2, 4).expect("valid pool");
        let (mut wa, mut ra) = pipe_on(&pool, 4);
        let (mut wb, mut rb) = pipe_on(&pool, 4);
        wa.write_all_blocking(&[1, 2, 3]).expect("write A");
        assert_eq!(pool.allocated(), 2);
        drop(wa); // completes A's writer

        let a_reader = thread::spawn(move || {
            // Consume byte 1 only, examine everything.
            let (one, end) = {
                let res = ra.read_blocking().expect("read A");
                let buf = res.buffer();
                assert_eq!(buf.to_vec(), vec![1, 2, 3]);
                (buf.position(1), buf.end())
            };
            ra.advance_to(one, end).expect("advance A");
            // Then the rest, and the completion.
            let got = read_all_blocking(&mut ra);
            assert!(got.completed);
            assert_eq!(got.bytes, vec![2, 3], "pipe A lost or gained a byte");
        });
        let b_writer = thread::spawn(move || {
            let r = wb.write_all_blocking(&[9, 9]).expect("write B");
            assert!(!r.is_completed());
            wb
        });

        let wb = b_writer.join().unwrap();
        drop(wb);
        drain_expect(&mut rb, &[9, 9]);
        drop(rb);
        a_reader.join().unwrap();

        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
        let allocated = pool.allocated();
        assert!(
            allocated == 2 || allocated == 3,
            "B takes A's chunk or one new chunk: {allocated} allocated"
        );
        assert_eq!(
            pool.retained(),
            allocated,
            "every chunk is back in the pool"
        );
    });
}

/// Both pipes at once through one pool that keeps at most one idle chunk: thread 1 writes
/// byte 1 into A and drops its writer, thread 2 does the same with byte 7 into B, and the main
/// thread drains B, then A. Chunks go back and forth between the two pipes, the pool and the
/// allocator in every order loom can find.
#[test]
fn two_pipes_stream_through_one_pool() {
    loom::model(|| {
        let pool = ChunkPool::new(1, 1).expect("valid pool");
        let (mut wa, mut ra) = pipe_on(&pool, 1);
        let (mut wb, mut rb) = pipe_on(&pool, 1);
        let ta = thread::spawn(move || {
            wa.write_all_blocking(&[1]).expect("write A");
        });
        let tb = thread::spawn(move || {
            wb.write_all_blocking(&[7]).expect("write B");
        });
        drain_expect(&mut rb, &[7]);
        drop(rb);
        drain_expect(&mut ra, &[1]);
        drop(ra);
        ta.join().unwrap();
        tb.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
        assert!(
            pool.retained() <= 1,
            "the pool keeps at most one idle chunk"
        );
    });
}
