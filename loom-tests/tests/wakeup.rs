//! No lost wake-ups on the reader side (W1), and `examined` semantics: a reader that examined
//! everything waits for **more** data, so neither an empty flush nor its own un-consumed bytes
//! satisfy it.
//!
//! The writer is kept alive (handed back by `join`) while the reader waits, so its completion
//! cannot mask a lost wake-up: if the commit's wake were lost, the reader would park forever
//! and loom reports a deadlock. A read that returns with nothing new breaks an assertion.
#![cfg(loom)]

use loom::thread;
use loom_tests::{put, tiny_pipe};
use std::future::poll_fn;

/// The reader reads `[1]`, examines it without consuming it (`advance_to(start, end)`) and
/// reads again: it must park until byte 2 is committed, through an empty `flush_blocking` in
/// between that must not satisfy it, and the `commit` of byte 2 must wake it.
#[test]
fn examined_reader_is_woken_by_commit_not_by_empty_flush() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            writer.write_all_blocking(&[1]).expect("write_all");
            let empty = writer.flush_blocking().expect("empty flush");
            assert!(!empty.is_completed() && !empty.is_canceled());
            put(&mut writer, &[2]);
            writer
        });
        let mut examined = 0;
        loop {
            let result = reader.read_blocking().expect("read_blocking");
            assert!(!result.is_completed() && !result.is_canceled());
            let buf = result.buffer();
            let bytes = buf.to_vec();
            assert!(
                bytes.len() > examined,
                "read returned without new data: {bytes:?} (examined {examined})"
            );
            assert_eq!(bytes[..], [1, 2][..bytes.len()]);
            let (start, end) = (buf.start(), buf.end());
            reader.advance_to(start, end).expect("advance_to");
            examined = bytes.len();
            if examined == 2 {
                break;
            }
        }
        let writer = producer.join().unwrap();
        // Everything is examined and nothing new came: nothing to return.
        assert!(reader.try_read().expect("try_read").is_none());
        drop(writer);
        drop(reader);
        assert_eq!(pool.in_use(), 0);
    });
}

/// A reader that examined everything is not satisfied by an empty flush racing with its
/// `advance_to` and `try_read`: `try_read` returns `None` whatever the interleaving, and still
/// after the writer's thread has finished; only the writer's completion makes it return.
#[test]
fn empty_flush_does_not_satisfy_try_read() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            writer.write_all_blocking(&[1]).expect("write_all");
            let empty = writer.flush_blocking().expect("empty flush");
            assert!(!empty.is_completed() && !empty.is_canceled());
            writer
        });
        {
            let result = reader.read_blocking().expect("read_blocking");
            let buf = result.buffer();
            assert_eq!(buf.to_vec(), [1]);
            let (start, end) = (buf.start(), buf.end());
            reader.advance_to(start, end).expect("advance_to");
        }
        assert!(reader.try_read().expect("try_read").is_none());
        let writer = producer.join().unwrap();
        assert!(reader.try_read().expect("try_read").is_none());
        drop(writer);
        let result = reader.try_read().expect("try_read").expect("completion");
        assert!(result.is_completed());
        assert_eq!(result.buffer().to_vec(), [1], "unconsumed data lost");
        drop(reader);
        assert_eq!(pool.in_use(), 0);
    });
}

/// The async path: the reader polls a `read()` future and then `poll_read` (through
/// `loom::future::block_on`, which parks the model thread on `Pending`), the writer awaits
/// `flush()` the same way. Both reads must be woken by the writer's flushes.
#[test]
fn async_read_is_woken_by_flush() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let producer = thread::spawn(move || {
            for byte in [1u8, 2] {
                let mem = writer.try_get_memory(1).expect("room");
                mem[0] = byte;
                writer.advance(1);
                let r = loom::future::block_on(writer.flush()).expect("flush");
                assert!(!r.is_completed() && !r.is_canceled());
            }
            writer
        });
        let (bytes, end) = loom::future::block_on(async {
            let result = reader.read().await.expect("read");
            assert!(!result.is_completed() && !result.is_canceled());
            (result.buffer().to_vec(), result.buffer().end())
        });
        assert!(bytes == [1] || bytes == [1, 2], "got {bytes:?}");
        reader.advance_to(end, end).expect("advance_to");
        if bytes == [1] {
            let bytes = loom::future::block_on(poll_fn(|cx| {
                reader.poll_read(cx).map(|r| {
                    let r = r.expect("poll_read");
                    assert!(!r.is_completed() && !r.is_canceled());
                    r.buffer().to_vec()
                })
            }));
            assert_eq!(bytes, [2]);
        }
        let writer = producer.join().unwrap();
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}
