//! No lost wake-up across the switches between the two fence modes of an adaptive ring
//! (`WakeFences::Auto`, the default; `src/protocol/mod.rs`, "Fence modes").
//!
//! Under loom a ring switches back to asymmetric fences after 2 quiet publishes (not ~1000),
//! and the asymmetric halves are emulated by what `membarrier(2)` guarantees
//! (`src/sync/fences.rs`): a publisher that skipped its fence is safe only against a parker
//! that issued the heavy half, so a parker that wrongly trusted the symmetric mode parks for
//! ever (a loom deadlock). In these models every side parks several times with publishes in
//! between, so waits meet every mode and every switch: asymmetric (the first park), symmetric
//! (set by that park), and back (after the quiet publishes), in every interleaving the bound
//! allows. The side that is waited for is kept alive until the waiter is done, so that its
//! completion (which wakes everybody) cannot hide a lost wake-up.
#![cfg(loom)]

use loom::thread;
use loom_tests::{drain_expect, put, read_all_blocking, tiny_pipe};

/// The reader parks for each of four bytes the writer commits one by one: its parks switch
/// the ring to symmetric, the writer's commits (and the reader's advances) that find nobody
/// waiting switch it back, and the next park pays the heavy half again.
#[test]
fn reader_parks_across_mode_switches() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 4, 0, 0);
        let producer = thread::spawn(move || {
            for b in 1..=4u8 {
                put(&mut writer, &[b]);
            }
            writer
        });
        let mut seen = Vec::new();
        while seen.len() < 4 {
            let got = read_all_blocking(&mut reader);
            assert!(!got.bytes.is_empty(), "a read returned nothing: {got:?}");
            seen.extend_from_slice(&got.bytes);
        }
        assert_eq!(seen, [1, 2, 3, 4]);
        let writer = producer.join().unwrap();
        drop(writer);
        drop(reader);
        assert_eq!(pool.in_use(), 0);
    });
}

/// The writer parks for room in a 1-byte ring for each of three bytes while the reader polls
/// (`try_read`, never parking) and advances: the writer's parks switch the ring to symmetric,
/// the reader's quiet advances switch it back, and each advance must wake the parked writer
/// whatever mode it parked in.
#[test]
fn writer_parks_for_room_across_mode_switches() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(1, 1, 0, 0);
        let producer = thread::spawn(move || {
            for b in 1..=3u8 {
                put(&mut writer, &[b]);
            }
            writer
        });
        let mut seen = Vec::new();
        while seen.len() < 3 {
            match reader.try_read().expect("try_read") {
                Some(result) => {
                    let buf = result.buffer();
                    seen.extend_from_slice(&buf.to_vec());
                    let end = buf.end();
                    reader.advance_to(end, end).expect("advance_to");
                }
                None => thread::yield_now(),
            }
        }
        assert_eq!(seen, [1, 2, 3]);
        let writer = producer.join().unwrap();
        drop(writer);
        drop(reader);
        assert_eq!(pool.in_use(), 0);
    });
}

/// Both sides park: a 2-byte ring paused at 2 bytes (resume below 1), five bytes written one
/// at a time with flushes that wait for the reader, and a reader that parks for data. Parks of
/// either side switch the ring to symmetric, the other side's quiet publishes switch it back.
#[test]
fn both_sides_park_across_mode_switches() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(2, 2, 2, 1);
        let producer = thread::spawn(move || {
            for b in 1..=3u8 {
                writer.write_all_blocking(&[b]).expect("write_all");
            }
            writer.complete();
            writer
        });
        drain_expect(&mut reader, &[1, 2, 3]);
        let writer = producer.join().unwrap();
        drop(writer);
        drop(reader);
        assert_eq!(pool.in_use(), 0);
    });
}
