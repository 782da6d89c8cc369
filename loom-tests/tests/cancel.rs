//! `cancel_pending_read` from a third thread racing with data: every read returns data or is
//! canceled (with whatever data there is), the cancel is observed exactly once, and no byte is
//! lost.
#![cfg(loom)]

use loom::thread;
use loom_tests::tiny_pipe;

/// The writer commits `[1]` (and stays alive, so its completion cannot wake the reader); a
/// canceller thread cancels the pending read. The reader reads until it has the byte: a
/// canceled read may come with or without it, an uncanceled one must have it. Afterwards the
/// cancel has been observed exactly once: if no read saw it, the next `try_read` must, and
/// the one after must not.
#[test]
fn cancel_races_data() {
    loom::model(|| {
        let (mut writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let canceller = reader.canceller();
        let producer = thread::spawn(move || {
            let r = writer.write_all_blocking(&[1]).expect("write_all");
            assert!(!r.is_completed() && !r.is_canceled());
            writer
        });
        let cancelling = thread::spawn(move || canceller.cancel_pending_read());
        let mut cancels = 0;
        loop {
            let result = reader.read_blocking().expect("read_blocking");
            assert!(!result.is_completed());
            let buf = result.buffer();
            let bytes = buf.to_vec();
            if result.is_canceled() {
                cancels += 1;
            } else {
                assert_eq!(bytes, [1], "an uncanceled read returned without data");
            }
            assert!(bytes.is_empty() || bytes == [1], "got {bytes:?}");
            let (start, end) = (buf.start(), buf.end());
            if bytes == [1] {
                reader.advance_to(end, end).expect("advance_to");
                break;
            }
            reader.advance_to(start, end).expect("advance_to");
        }
        let writer = producer.join().unwrap();
        cancelling.join().unwrap();
        assert!(cancels <= 1, "the cancel was observed {cancels} times");
        if cancels == 0 {
            let result = reader.try_read().expect("try_read");
            let result = result.expect("the cancel was lost");
            assert!(result.is_canceled());
            assert!(result.buffer().is_empty());
        }
        assert!(
            reader.try_read().expect("try_read").is_none(),
            "the cancel was observed twice"
        );
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}

/// With no data coming (the writer stays alive and idle), a reader parked in `read_blocking`
/// must be woken by `cancel_pending_read` from another thread and return canceled and empty;
/// the cancel is then spent.
#[test]
fn cancel_wakes_parked_reader() {
    loom::model(|| {
        let (writer, mut reader, pool) = tiny_pipe(4, 2, 0, 0);
        let canceller = reader.canceller();
        let cancelling = thread::spawn(move || canceller.cancel_pending_read());
        {
            let result = reader.read_blocking().expect("read_blocking");
            assert!(result.is_canceled(), "woken without a cancel");
            assert!(!result.is_completed());
            assert!(result.buffer().is_empty());
        }
        cancelling.join().unwrap();
        assert!(
            reader.try_read().expect("try_read").is_none(),
            "the cancel was observed twice"
        );
        drop((writer, reader));
        assert_eq!(pool.in_use(), 0);
    });
}
