//! Completion (C1, invariant 5): either side's completion, with or without an error, racing
//! with the other side's reads or writes; the drop of the halves in either order; and the side
//! that completes second giving every chunk back to the pool exactly once.
//!
//! What makes these fail: a completion bit set without AcqRel (C1) makes the error cell and
//! the `opened` count race (loom causality/race report); a completion that does not wake the
//! other side is a loom deadlock; both sides running `free_all` is a race on the slot cells, and
//! a chunk given back twice or never makes `in_use()` non-zero at the end.
#![cfg(loom)]

use loom::thread;
use loom_tests::{drain_expect, put, tiny_pipe};
use ringpipe::{ReadError, WriteError};

/// The writer commits `[1, 2]` and completes while the reader drains: the reader gets exactly
/// `[1, 2]` and then (or with them) the completion; the reader drops first or last.
#[test]
fn writer_complete_races_read() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            put(&mut writer, &[1, 2]);
            writer.complete();
            assert!(writer.is_completed());
            // A completed writer refuses more work.
            assert!(matches!(
                writer.try_get_memory(1),
                Err(WriteError::WriterCompleted)
            ));
        });
        drain_expect(&mut reader, &[1, 2]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
    });
}

/// The writer commits `[1]` and completes with an error while the reader reads: the reader
/// may get `[1]` first, but it must end with `WriterFailed` carrying that very error, and
/// never see a plain completion.
#[test]
fn writer_complete_with_error_races_read() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            put(&mut writer, &[1]);
            writer.complete_with_error("boom");
        });
        let mut reads = 0;
        loop {
            reads += 1;
            match reader.read_blocking() {
                Ok(result) => {
                    assert!(!result.is_completed(), "a failed writer completed cleanly");
                    let buf = result.buffer();
                    assert_eq!(buf.to_vec(), [1]);
                    let end = buf.end();
                    reader.advance_to(end, end).expect("advance_to");
                }
                Err(ReadError::WriterFailed(e)) => {
                    assert_eq!(e.to_string(), "boom");
                    break;
                }
                Err(e) => panic!("unexpected read error {e:?}"),
            }
            assert!(reads < 2, "read returned twice without the error");
        }
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
    });
}

/// A 1-byte ring: the writer's `write_all_blocking(&[1, 2])` waits for room while the reader
/// completes without reading. The completion must release the waiting writer (a lost wake is
/// a loom deadlock), which then reports `is_completed`, and later writes are dropped.
#[test]
fn reader_complete_releases_writer_waiting_for_room() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(1, 1, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2]).expect("write_all");
            assert!(
                r.is_completed(),
                "2 bytes cannot fit before the reader completes"
            );
            let r = writer
                .write_all_blocking(&[3])
                .expect("write_all after completion");
            assert!(r.is_completed());
            assert!(writer.is_reader_completed());
        });
        reader.complete();
        producer.join().unwrap();
        drop(reader);
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
    });
}

/// The reader completes with an error while the writer flushes: the flush either went
/// through before (not completed) or returns `ReaderFailed` with that very error, and the
/// writer's `reader_completion()` future (polled with `loom::future::block_on`) is woken with
/// it.
#[test]
fn reader_complete_with_error_races_flush() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            match writer.write_all_blocking(&[1]) {
                Ok(r) => assert!(!r.is_completed() && !r.is_canceled()),
                Err(WriteError::ReaderFailed(e)) => assert_eq!(e.to_string(), "nope"),
                Err(e) => panic!("unexpected write error {e:?}"),
            }
            let e = loom::future::block_on(writer.reader_completion()).expect_err("failed");
            assert_eq!(e.to_string(), "nope");
            match writer.flush_blocking() {
                Err(WriteError::ReaderFailed(e)) => assert_eq!(e.to_string(), "nope"),
                other => panic!("flush after the reader failed: {other:?}"),
            }
        });
        reader.complete_with_error("nope");
        producer.join().unwrap();
        drop(reader);
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
    });
}

/// The reader reads `[1]` from the writer's current chunk and completes while the writer
/// writes on: once the writer sees the completion (C1, Acquire) it hands out the current chunk
/// again as scratch memory (from offset 0, where byte 1 was read) and drops what is advanced
/// into it; its flush reports `is_completed` with nothing left unflushed.
#[test]
fn writer_keeps_writing_after_reader_complete() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        put(&mut writer, &[1]);
        let producer = thread::spawn(move || {
            let mem = writer.get_memory_blocking(1).expect("get_memory");
            mem[0] = 2;
            writer.advance(1);
            let r = writer.flush_blocking().expect("flush");
            assert!(!r.is_canceled());
            if r.is_completed() {
                assert!(writer.is_reader_completed());
                assert_eq!(writer.unflushed_bytes(), 0);
                let r = writer.write_all_blocking(&[3]).expect("write_all");
                assert!(r.is_completed());
            }
        });
        {
            let result = reader.read_blocking().expect("read_blocking");
            let bytes = result.buffer().to_vec();
            assert!(bytes == [1] || bytes == [1, 2], "got {bytes:?}");
        }
        reader.complete();
        producer.join().unwrap();
        drop(reader);
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
    });
}

/// Both halves dropped concurrently with data in flight: the writer writes `[1, 2, 3]` (two
/// chunks) and drops; the reader reads once, consumes one byte and drops. Whichever drop
/// completes second frees the slots; both doing it would race on the slot cells, and a chunk
/// freed twice or never breaks `in_use() == 0`.
#[test]
fn drop_halves_concurrently_frees_once() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2, 3]).expect("write_all");
            assert!(!r.is_canceled());
            drop(writer);
        });
        {
            let result = reader.read_blocking().expect("read_blocking");
            let buf = result.buffer();
            let bytes = buf.to_vec();
            assert!(!bytes.is_empty() && bytes[..] == [1, 2, 3][..bytes.len()]);
            let (one, end) = (buf.position(1), buf.end());
            reader.advance_to(one, end).expect("advance_to");
        }
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "chunks not given back exactly once");
        assert!(pool.retained() <= pool.allocated());
    });
}
