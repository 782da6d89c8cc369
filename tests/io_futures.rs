//! futures-io's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` on the halves and duplex ends, on
//! this crate's own minimal executors (no runtime): partial reads, lines, close as the end of
//! the stream, `BrokenPipe`, zero-length buffers, and a dropped read that leaves the pipe usable.
#![cfg(feature = "futures-io")]

mod support;

use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use ringpipe::{duplex_pair, PipeOptions};
use std::io::ErrorKind;
use support::exec::{block_on, block_on_both, poll_noop};
use support::{pattern, plain_pipe, put_commit, with_timeout};

fn small() -> PipeOptions {
    PipeOptions::builder()
        .chunk_size(32)
        .capacity(128)
        .build()
        .unwrap()
}

#[test]
fn a_stream_between_two_tasks_in_odd_pieces() {
    const BYTES: usize = if cfg!(miri) { 2_000 } else { 300_000 };
    with_timeout(|| {
        let (mut a, mut b) = duplex_pair(small());
        let data = pattern(BYTES);
        let (sent, got) = block_on_both(
            async {
                let mut rest = &data[..];
                let mut size = 1;
                while !rest.is_empty() {
                    let n = a.write(&rest[..size.min(rest.len())]).await.unwrap();
                    rest = &rest[n..];
                    size = size % 300 + 7;
                }
                a.close().await.unwrap();
                BYTES
            },
            async {
                let mut got = Vec::new();
                let mut buf = [0u8; 13];
                loop {
                    let n = b.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break got;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            },
        );
        assert_eq!(sent, BYTES);
        assert_eq!(got, data);
    });
}

#[test]
fn lines_over_a_reader_on_another_thread() {
    with_timeout(|| {
        let (mut w, r) = ringpipe::pipe(small());
        let writer = std::thread::spawn(move || {
            block_on(async {
                for i in 0..2000 {
                    AsyncWriteExt::write_all(&mut w, format!("{i}\n").as_bytes())
                        .await
                        .unwrap();
                }
                AsyncWriteExt::close(&mut w).await.unwrap();
            })
        });
        let n = block_on(async {
            let mut lines = r.lines();
            let mut n = 0;
            while let Some(line) = futures_util::StreamExt::next(&mut lines).await {
                assert_eq!(line.unwrap(), n.to_string());
                n += 1;
            }
            n
        });
        assert_eq!(n, 2000);
        writer.join().unwrap();
    });
}

#[test]
fn fill_buf_and_consume() {
    let (mut w, mut r, _pool) = plain_pipe(64, 4);
    put_commit(&mut w, b"abcdef");
    block_on(async {
        assert_eq!(r.fill_buf().await.unwrap(), b"abcd", "one chunk");
        r.consume_unpin(3);
        assert_eq!(r.fill_buf().await.unwrap(), b"d", "the rest of it, at once");
        r.consume_unpin(1);
        assert_eq!(r.fill_buf().await.unwrap(), b"ef");
    });
}

#[test]
fn close_broken_pipe_and_zero_length() {
    block_on(async {
        let (mut a, mut b) = duplex_pair(small());
        assert_eq!(
            a.read(&mut []).await.unwrap(),
            0,
            "an empty buffer: at once"
        );
        assert_eq!(a.write(&[]).await.unwrap(), 0);
        a.write_all(b"last").await.unwrap();
        a.close().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last");
        drop(b);
        assert_eq!(
            a.write(b"x").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn a_dropped_read_leaves_the_pipe_usable() {
    let (mut a, mut b) = duplex_pair(small());
    let mut buf = [0u8; 4];
    assert!(poll_noop(b.read(&mut buf)).is_none(), "no data: pending");
    block_on(async {
        a.write_all(b"data").await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
    });
    assert_eq!(&buf, b"data");
}
