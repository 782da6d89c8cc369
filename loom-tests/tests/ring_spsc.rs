//! Publish/consume: bytes written on one thread arrive byte-exact and in order on the other,
//! across chunk boundaries and around the ring's wrap (a slot and a pooled chunk reused), and
//! the last half to drop gives every chunk back to the pool.
//!
//! What makes these fail: a missing Release/Acquire on `tail` (P1) makes loom report a
//! causality violation on a chunk's byte cells; a slot check that lets the writer refill a slot
//! before the reader has released it is a race on the slot's chunk cell; a wrong byte-room
//! check shows as a read holding more than the capacity; a lost wake-up is a loom deadlock; a
//! chunk leaked or given back twice breaks `in_use() == 0`. (P3's orderings themselves are
//! masked under loom by the free list's mutex: see README.md, "What the models catch".)
#![cfg(loom)]

use loom::thread;
use loom_tests::{drain_expect, put, read_all_blocking, tiny_pipe};

/// `write_all_blocking` of 3 bytes into 2-byte chunks (capacity 4: no waiting for room), then
/// the writer's drop (completion). The reader drains with `read_blocking` + `advance_to`: it
/// sees exactly 1, 2, 3 in order, across the chunk boundary, then the completion.
#[test]
fn write_all_across_chunks() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2, 3]).expect("write_all");
            assert!(!r.is_completed() && !r.is_canceled());
            // Dropping the writer completes it.
        });
        drain_expect(&mut reader, &[1, 2, 3]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
    });
}

/// A 1-byte ring: `write_all_blocking(&[1, 2])` must wait for the reader to consume byte 1
/// (P4 `head`, W1 writer side) before it may write byte 2 into a second chunk.
///
/// Also a regression model for a false `WouldDeadlock`: the reader, having consumed all, parks
/// for byte 2 while the writer parks for room it already has (see README.md, "Findings").
#[test]
fn write_all_waits_for_room() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(1, 1, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2]).expect("write_all");
            assert!(!r.is_completed() && !r.is_canceled());
        });
        drain_expect(&mut reader, &[1, 2]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
    });
}

/// The wrap: a 1-byte ring of 1-byte chunks has 2 slots, so chunk 2 goes into slot 0 again,
/// and takes the pooled chunk that held byte 1. Bytes 1 and 2 are written and byte 1 is
/// consumed before the writer thread starts (single-threaded prefix, so the model stays small);
/// then the writer's `get_memory_blocking` + `advance` + `commit` of byte 3 races with the
/// reader releasing chunk 0 (done by its next `advance_to`, or by a read before it parks),
/// consuming byte 2, and reading byte 3.
#[test]
fn get_memory_reuses_slot_after_release() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(1, 1, 0, 0);
        put(&mut writer, &[1]);
        assert_eq!(read_all_blocking(&mut reader).bytes, [1]);
        put(&mut writer, &[2]);
        assert_eq!(pool.in_use(), 2);
        let producer = thread::spawn(move || {
            put(&mut writer, &[3]);
            assert_eq!(writer.unflushed_bytes(), 0);
        });
        drain_expect(&mut reader, &[2, 3]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
        // Chunk 0 is reused for chunk 2: as slot 0's spare, or through the pool after the
        // reader gave the spare back before parking. Only if the reader took the spare back
        // while the writer looked for it (the chunk is then on its way to the pool) does the
        // writer allocate a third.
        assert!(pool.allocated() <= 3, "allocated {}", pool.allocated());
    });
}

/// A size hint that does not fit in what is left of the current chunk: the writer leaves the
/// end of chunk 1 unused and opens chunk 2 in slot 0 (2 slots), which needs both byte room
/// (`head`, P4) and the release of chunk 0 (P3). The reader's `advance_to` that makes the room
/// stores `head` *before* it releases chunk 0, so a writer that trusted byte room alone would
/// refill slot 0 while the reader still takes chunk 0 out of it (a race on the slot cell).
/// Prefix (single-threaded): `[1, 2]` fill chunk 0, the reader consumes byte 1, `[3]` opens
/// chunk 1. Then the writer asks for 2 bytes and writes `[4, 5]` while the reader consumes
/// `[2, 3]` and drains.
#[test]
fn size_hint_skips_chunk_end_and_reuses_slot() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(2, 2, 0, 0);
        put(&mut writer, &[1, 2]);
        {
            let result = reader.try_read().expect("try_read").expect("data");
            let buf = result.buffer();
            assert_eq!(buf.to_vec(), [1, 2]);
            let (one, end) = (buf.position(1), buf.end());
            reader.advance_to(one, end).expect("advance_to");
        }
        put(&mut writer, &[3]);
        let producer = thread::spawn(move || {
            put(&mut writer, &[4, 5]);
        });
        drain_expect(&mut reader, &[2, 3, 4, 5]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
        // Chunk 0 is reused for chunk 2: as slot 0's spare, or through the pool after the
        // reader gave the spare back before parking. Only if the reader took the spare back
        // while the writer looked for it (the chunk is then on its way to the pool) does the
        // writer allocate a third.
        assert!(pool.allocated() <= 3, "allocated {}", pool.allocated());
    });
}

/// Partial consumption: the writer commits `[1, 2]` and `[3, 4]` in two chunks with
/// `get_memory_blocking` + `advance` + `commit`; the reader consumes one byte per read and
/// examines everything, so each read must bring more data, and chunk 0 is given back only once
/// both its bytes are consumed. Every read must start exactly at the first unconsumed byte.
#[test]
fn consume_one_byte_per_read() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            put(&mut writer, &[1, 2]);
            put(&mut writer, &[3, 4]);
        });
        let expected = [1u8, 2, 3, 4];
        let mut consumed = 0;
        let mut examined = 0;
        loop {
            let result = reader.read_blocking().expect("read_blocking");
            let buf = result.buffer();
            let bytes = buf.to_vec();
            let completed = result.is_completed();
            assert!(!result.is_canceled());
            assert!(
                consumed + bytes.len() > examined || completed,
                "a read returned nothing new: {bytes:?}"
            );
            assert_eq!(bytes[..], expected[consumed..consumed + bytes.len()]);
            let n = bytes.len().min(1);
            let (c, e) = (buf.position(n), buf.end());
            reader.advance_to(c, e).expect("advance_to");
            consumed += n;
            examined = consumed + bytes.len() - n;
            if completed && bytes.len() <= 1 {
                break;
            }
        }
        assert_eq!(consumed, 4);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
    });
}

/// The long form of the wrap, with nothing done single-threaded: `write_all_blocking` of 5
/// bytes into a 2-byte ring of 2-byte chunks (2 slots) waits for room twice, crosses two chunk
/// boundaries and reopens slot 0 for chunk 2, all racing with the reader's drain.
///
/// Exploring it fully takes more than 15 minutes at bound 2, so by default loom stops after
/// 30 seconds (`LOOM_MAX_DURATION`, in seconds, overrides it: a few hours for the full run).
/// A bounded run still fails on any schedule it reaches that breaks the protocol; it proves
/// nothing about the schedules it does not reach.
#[test]
fn write_all_wraps_the_ring_long() {
    let mut builder = loom::model::Builder::new();
    if builder.max_duration.is_none() {
        builder.max_duration = Some(std::time::Duration::from_secs(30));
    }
    builder.check(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(2, 2, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer
                .write_all_blocking(&[1, 2, 3, 4, 5])
                .expect("write_all");
            assert!(!r.is_completed() && !r.is_canceled());
        });
        drain_expect(&mut reader, &[1, 2, 3, 4, 5]);
        drop(reader);
        producer.join().unwrap();
        assert_eq!(pool.in_use(), 0, "a chunk was leaked or given back twice");
    });
}
