//! std's `Read`, `BufRead` and `Write` on the halves, against their contracts: partial reads
//! and writes, the end of the stream, zero-length buffers, `fill_buf`/`consume` with the
//! pipe's examined semantics, cancels as `Interrupted`, the reader gone as `BrokenPipe`, the
//! peer's error as the source, and streams between threads with every byte checked.

mod support;

use ringpipe::{ReadError, WriteError};
use std::error::Error as _;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::thread;
use support::{bp_pipe, must_read, pattern, plain_pipe, put_commit, with_timeout, TestError};

#[test]
fn read_into_a_small_buffer_consumes_exactly_what_it_copied() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(64, 16);
        put_commit(&mut w, b"hello world");
        let mut buf = [0u8; 4];
        assert_eq!(Read::read(&mut r, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"hell");
        // The rest is unconsumed and unexamined: a read returns it without waiting.
        assert_eq!(must_read(&mut r).bytes, b"o world");
        assert_eq!(Read::read(&mut r, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"o wo");
        assert_eq!(r.consumed_bytes(), 8);
        let mut rest = [0u8; 16];
        assert_eq!(Read::read(&mut r, &mut rest).unwrap(), 3);
        assert_eq!(&rest[..3], b"rld");
    });
}

#[test]
fn a_read_copies_across_chunks() {
    let (mut w, mut r, _pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"hello world");
    let mut buf = [0u8; 32];
    assert_eq!(Read::read(&mut r, &mut buf).unwrap(), 11);
    assert_eq!(&buf[..11], b"hello world");
}

#[test]
fn the_end_of_the_stream_is_ok_0_after_the_last_bytes() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    put_commit(&mut w, b"last");
    w.complete();
    let mut all = Vec::new();
    assert_eq!(r.read_to_end(&mut all).unwrap(), 4);
    assert_eq!(all, b"last");
    let mut buf = [0u8; 8];
    assert_eq!(Read::read(&mut r, &mut buf).unwrap(), 0);
    assert_eq!(
        Read::read(&mut r, &mut buf).unwrap(),
        0,
        "the end stays the end"
    );
}

#[test]
fn zero_length_buffers_return_at_once() {
    with_timeout(|| {
        // Empty and the writer alive: a read of a non-empty buffer would wait.
        let (mut w, mut r, _pool) = plain_pipe(16, 8);
        assert_eq!(Read::read(&mut r, &mut []).unwrap(), 0);
        // Full: a write of a non-empty buffer would wait.
        put_commit(&mut w, &[7; 16]);
        assert_eq!(w.write(&[]).unwrap(), 0);
        // The zero-length read consumed nothing.
        assert_eq!(must_read(&mut r).bytes, [7; 16]);
    });
}

#[test]
fn a_failed_writer_is_an_error_whose_source_is_its_error() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    put_commit(&mut w, b"unread");
    w.complete_with_error(TestError { id: 42 });
    let mut buf = [0u8; 8];
    let e = Read::read(&mut r, &mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Other);
    let source = e.source().expect("a source");
    assert_eq!(source.downcast_ref::<TestError>().unwrap().id, 42);
    let inner = e.get_ref().unwrap().downcast_ref::<ReadError>().unwrap();
    assert!(matches!(inner, ReadError::WriterFailed(_)));
    // fill_buf says the same.
    assert_eq!(r.fill_buf().unwrap_err().kind(), ErrorKind::Other);
}

#[test]
fn a_writers_io_error_keeps_its_kind() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    w.complete_with_error(io::Error::new(ErrorKind::ConnectionReset, "peer reset"));
    let e = Read::read(&mut r, &mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    assert_eq!(e.source().unwrap().to_string(), "peer reset");
}

#[test]
fn fill_buf_then_a_partial_consume_returns_the_rest_without_waiting() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(64, 16);
        put_commit(&mut w, b"abcdef");
        assert_eq!(r.fill_buf().unwrap(), b"abcdef");
        r.consume(2);
        // The writer is alive and wrote nothing more: a wait here would hang.
        assert_eq!(r.fill_buf().unwrap(), b"cdef");
        r.consume(0);
        assert_eq!(r.fill_buf().unwrap(), b"cdef", "consume(0) changes nothing");
        r.consume(4);
        assert!(r.try_read().unwrap().is_none(), "all consumed: nothing new");
        assert_eq!(r.consumed_bytes(), 6);
    });
}

#[test]
fn fill_buf_hands_out_one_chunk_at_a_time() {
    let (mut w, mut r, _pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"0123456789");
    w.complete();
    let mut seen = Vec::new();
    loop {
        let chunk = r.fill_buf().unwrap().to_vec();
        if chunk.is_empty() {
            break;
        }
        assert!(chunk.len() <= 4, "one chunk: {chunk:?}");
        r.consume(chunk.len());
        seen.extend(chunk);
    }
    assert_eq!(seen, b"0123456789");
}

#[test]
#[should_panic(expected = "consume(9) refused")]
fn consuming_more_than_was_read_panics() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    put_commit(&mut w, b"abc");
    r.fill_buf().unwrap();
    r.consume(9);
}

#[test]
fn lines_from_a_writer_thread() {
    const LINES: usize = if cfg!(miri) { 50 } else { 20_000 };
    with_timeout(|| {
        let (mut w, r, _pool) = bp_pipe(1024, 64, 512, 256);
        let producer = thread::spawn(move || {
            for i in 0..LINES {
                writeln!(w, "line {i} {}", "x".repeat(i % 97)).unwrap();
            }
            Write::flush(&mut w).unwrap();
        });
        let mut n = 0;
        for line in BufReader::with_capacity(7, r).lines() {
            assert_eq!(line.unwrap(), format!("line {n} {}", "x".repeat(n % 97)));
            n += 1;
        }
        assert_eq!(n, LINES);
        producer.join().unwrap();
    });
}

#[test]
fn read_exact_in_odd_pieces_from_a_writer_thread() {
    const BYTES: usize = if cfg!(miri) { 4_000 } else { 1 << 20 };
    with_timeout(|| {
        let (mut w, mut r, _pool) = bp_pipe(4096, 256, 2048, 1024);
        let data = pattern(BYTES);
        let expected = data.clone();
        let producer = thread::spawn(move || {
            let mut rest = &data[..];
            let mut size = 1;
            while !rest.is_empty() {
                let n = w.write(&rest[..size.min(rest.len())]).unwrap();
                assert!(n > 0);
                rest = &rest[n..];
                size = size % 1000 + 37;
            }
        });
        let mut got = vec![0u8; BYTES];
        let mut at = 0;
        let mut size = 3;
        while at < BYTES {
            let n = size.min(BYTES - at);
            r.read_exact(&mut got[at..at + n]).unwrap();
            at += n;
            size = size % 777 + 11;
        }
        assert_eq!(got, expected);
        assert_eq!(Read::read(&mut r, &mut [0u8; 4]).unwrap(), 0);
        producer.join().unwrap();
    });
}

#[test]
fn a_write_copies_what_fits_and_is_visible_without_a_flush() {
    let (mut w, mut r, _pool) = plain_pipe(16, 8);
    let data = pattern(100);
    let n = w.write(&data).unwrap();
    assert!((1..=8).contains(&n), "at most the writer's memory: {n}");
    assert_eq!(w.unflushed_bytes(), 0, "committed");
    assert_eq!(must_read(&mut r).bytes, data[..n]);
}

#[test]
fn a_write_waits_for_room_and_the_rest_follows() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(16, 8);
        let data = pattern(1000);
        let expected = data.clone();
        let producer = thread::spawn(move || {
            Write::write_all(&mut w, &data).unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, expected);
        producer.join().unwrap();
    });
}

#[test]
fn writes_after_the_reader_left_are_broken_pipe() {
    let (mut w, r, _pool) = plain_pipe(64, 16);
    drop(r);
    let e = w.write(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    assert_eq!(
        Write::flush(&mut w).unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}

#[test]
fn writes_after_the_reader_failed_are_broken_pipe_with_its_error() {
    let (mut w, mut r, _pool) = plain_pipe(64, 16);
    r.complete_with_error(TestError { id: 7 });
    let e = w.write(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    assert_eq!(
        e.source().unwrap().downcast_ref::<TestError>().unwrap().id,
        7
    );
}

#[test]
fn writes_after_the_writer_completed_are_broken_pipe() {
    let (mut w, _r, _pool) = plain_pipe(64, 16);
    w.complete();
    let e = w.write(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    let inner = e.get_ref().unwrap().downcast_ref::<WriteError>().unwrap();
    assert!(matches!(inner, WriteError::WriterCompleted));
}

#[test]
fn flush_waits_while_backpressure_holds() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = bp_pipe(64, 16, 8, 4);
        Write::write_all(&mut w, &pattern(10)).unwrap();
        let flusher = thread::spawn(move || {
            Write::flush(&mut w).unwrap();
            w
        });
        // The flush waits for the reader to examine the bytes.
        let mut got = [0u8; 10];
        r.read_exact(&mut got).unwrap();
        assert_eq!(got[..], pattern(10)[..]);
        let _w = flusher.join().unwrap();
    });
}

#[test]
fn a_canceled_read_is_interrupted_and_the_pipe_stays_usable() {
    with_timeout(|| {
        let (mut w, mut r, _pool) = plain_pipe(64, 16);
        let canceller = r.canceller();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = thread::spawn(move || {
            // The cancel ends this read whether it comes before the read or during it.
            let e = Read::read(&mut r, &mut [0u8; 4]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Interrupted);
            tx.send(()).unwrap();
            let mut buf = [0u8; 4];
            r.read_exact(&mut buf).unwrap();
            buf
        });
        canceller.cancel_pending_read();
        rx.recv().unwrap();
        Write::write_all(&mut w, b"more").unwrap();
        assert_eq!(&reader.join().unwrap(), b"more");
    });
}

#[test]
fn a_canceled_flush_is_interrupted() {
    let (mut w, _r, _pool) = bp_pipe(64, 16, 8, 4);
    Write::write_all(&mut w, &pattern(10)).unwrap();
    w.canceller().cancel_pending_flush();
    assert_eq!(
        Write::flush(&mut w).unwrap_err().kind(),
        ErrorKind::Interrupted
    );
}

#[test]
fn error_kinds_follow_the_table() {
    use ErrorKind::*;
    let peer: ringpipe::CompletionError = std::sync::Arc::new(TestError { id: 1 });
    let reads = [
        (ReadError::ReaderCompleted, NotConnected),
        (ReadError::WriterFailed(peer.clone()), Other),
        (
            ReadError::WouldDeadlock {
                buffered: 1,
                capacity: 1,
            },
            Other,
        ),
        (
            ReadError::MinimumTooLarge {
                minimum: 2,
                capacity: 1,
            },
            InvalidInput,
        ),
    ];
    for (e, kind) in reads {
        assert_eq!(e.io_kind(), kind, "{e:?}");
        assert_eq!(io::Error::from(e).kind(), kind);
    }
    let writes = [
        (WriteError::WriterCompleted, BrokenPipe),
        (WriteError::ReaderFailed(peer), BrokenPipe),
        (
            WriteError::TooLarge {
                requested: 2,
                max: 1,
            },
            InvalidInput,
        ),
        (WriteError::Full { requested: 1 }, WouldBlock),
        (WriteError::WouldDeadlock, Other),
        (WriteError::Canceled, Interrupted),
    ];
    for (e, kind) in writes {
        assert_eq!(e.io_kind(), kind, "{e:?}");
        assert_eq!(io::Error::from(e).kind(), kind);
    }
}

#[test]
fn reading_after_the_reader_completed_is_not_connected() {
    let (_w, mut r, _pool) = plain_pipe(64, 16);
    r.complete();
    assert_eq!(
        Read::read(&mut r, &mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::NotConnected
    );
}
