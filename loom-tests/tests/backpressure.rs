//! Backpressure (P4 `examined`, W1 writer side): the flush that brings the unexamined bytes
//! to the pause threshold waits until the reader's `advance_to` brings them below the resume
//! threshold, and the reader's advance must wake it.
//!
//! The reader is kept alive until the writer's thread has finished, so its completion (which
//! also releases a paused writer) cannot mask a lost wake-up: a lost wake is a loom deadlock.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::tiny_pipe;

/// Pause at 2 unexamined bytes, resume below 1. `write_all_blocking(&[1, 2])` pauses; it may
/// only return once the reader has examined both bytes: the reader raises a flag right before
/// its `advance_to(end, end)`, and the writer must see it when its flush returns (the writer
/// learns `examined` with an Acquire load of the reader's Release store, P4).
#[test]
fn paused_flush_released_by_advance_below_resume() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 2, 1);
        let advanced = Arc::new(AtomicBool::new(false));
        let advanced2 = advanced.clone();
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1, 2]).expect("write_all");
            assert!(!r.is_completed() && !r.is_canceled());
            assert!(!writer.is_paused());
            assert!(
                advanced2.load(Ordering::Relaxed),
                "the paused flush returned before the reader examined the bytes"
            );
            writer
        });
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let result = reader.read_blocking().expect("read_blocking");
            assert!(!result.is_completed() && !result.is_canceled());
            let buf = result.buffer();
            seen = buf.to_vec();
            assert_eq!(seen[..], [1, 2][..seen.len()]);
            let (start, end) = (buf.start(), buf.end());
            if seen.len() == 2 {
                advanced.store(true, Ordering::Relaxed);
            }
            // Examine without consuming: backpressure counts unexamined bytes.
            reader.advance_to(start, end).expect("advance_to");
        }
        let writer = producer.join().unwrap();
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}
