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

/// R1, the held-chunk class: a chunk the reader consumed while the writer was still filling it,
/// and that the writer seals while the reader waits, is given back, so a writer that lacks only
/// its slot is neither told `WouldDeadlock` nor left waiting. Capacity 6 in chunks of 3 (a
/// 4-slot ring): chunk 0 holds `[1, 2, 3]`, consumed while open; the reader then waits for 4
/// bytes; the writer puts one byte in each of three fresh chunks (the first grant seals chunk 0)
/// and asks for 3 more bytes, which need chunk 0's slot. Whatever the interleaving of the seal
/// with the reader's wait, the reader must end up with `[4, 5, 6, 7]`.
fn held_chunk_model(try_writer: bool) {
    loom::model(move || {
        let (mut writer, mut reader, pool) = tiny_pipe(6, 3, 0, 0);
        loom_tests::put(&mut writer, &[1, 2, 3]);
        let got = loom_tests::read_all_blocking(&mut reader);
        assert_eq!(got.bytes, [1, 2, 3]);
        let producer = thread::spawn(move || {
            for byte in 4..=6 {
                let mem = writer
                    .try_get_memory(3)
                    .expect("a fresh chunk for one byte");
                mem[0] = byte;
                writer.advance(1);
                writer.commit();
            }
            let mem = if try_writer {
                loop {
                    match writer.try_get_memory(3) {
                        Ok(mem) => break mem,
                        Err(WriteError::Full { .. }) => thread::yield_now(),
                        Err(e) => panic!("try_get_memory: {e:?}"),
                    }
                }
            } else {
                writer
                    .get_memory_blocking(3)
                    .expect("the slot comes back: not a deadlock")
            };
            mem[0] = 7;
            writer.advance(1);
            writer.commit();
            writer
        });
        {
            let result = reader
                .read_at_least_blocking(4)
                .expect("the read can be satisfied");
            assert_eq!(result.buffer().to_vec(), [4, 5, 6, 7]);
        }
        // The writer is joined before the reader consumes: only the protocol can free the slot.
        let writer = producer.join().unwrap();
        let end = reader.try_read().unwrap().unwrap().buffer().end();
        reader.advance_to(end, end).unwrap();
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}

#[test]
fn a_writer_waiting_for_the_slot_of_a_chunk_consumed_while_open_gets_it() {
    held_chunk_model(false);
}

#[test]
fn a_try_get_memory_writer_gets_the_slot_of_a_chunk_consumed_while_open() {
    held_chunk_model(true);
}
