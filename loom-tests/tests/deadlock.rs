//! Deadlock detection (D1): a read that can never be satisfied (the ring is full of bytes the
//! reader examined without consuming) returns `WouldDeadlock` instead of hanging, and so does
//! the writer waiting for room at that moment. The false-positive side (a writer and a reader
//! that both wait, but not for each other) is `ring_spsc::write_all_waits_for_room`.
#![cfg(loom)]

use loom::thread;
use loom_tests::tiny_pipe;
use ringpipe::{ReadError, WriteError};

/// A 2-byte ring: the writer's `write_all_blocking(&[1, 2, 3])` fills it and waits for room;
/// the reader reads `[1, 2]`, examines them without consuming and reads again. The read must
/// fail with `WouldDeadlock` (2 of 2 bytes buffered), and the writer, which the reader does not
/// help any more, must not hang: it gets `WouldDeadlock` too. A wake-up lost between the
/// reader's stall and the writer's park is a loom deadlock (the main thread joins the writer
/// before it consumes anything).
#[test]
fn full_ring_of_examined_bytes_fails_both_sides() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(2, 2, 0, 0);
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2, 3]);
            assert!(matches!(r, Err(WriteError::WouldDeadlock)), "writer: {r:?}");
            writer
        });
        let end = {
            let result = reader.read_blocking().expect("read_blocking");
            let buf = result.buffer();
            assert_eq!(buf.to_vec(), [1, 2]);
            let (start, end) = (buf.start(), buf.end());
            reader.advance_to(start, end).expect("advance_to");
            end
        };
        match reader.read_blocking() {
            Err(ReadError::WouldDeadlock { buffered, capacity }) => {
                assert_eq!((buffered, capacity), (2, 2));
            }
            other => panic!("reader: {:?}", other.map(|r| r.buffer().to_vec())),
        }
        let writer = producer.join().unwrap();
        // Consuming ends the stall: the bytes are still there and the writer can go on.
        reader.advance_to(end, end).expect("advance_to");
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}
