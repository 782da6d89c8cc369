//! tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` on the halves and duplex ends: a
//! duplex end as a drop-in for `tokio::io::DuplexStream` (tokio-util's `Framed` with
//! `LinesCodec` and `LengthDelimitedCodec`, `tokio::io::copy`, `BufReader::lines`), partial
//! reads, shutdown, `BrokenPipe`, zero-length buffers, and cancellation by dropping futures,
//! between tasks on a multi-thread runtime with every byte checked.
#![cfg(feature = "tokio")]

mod support;

use futures_util::{SinkExt, StreamExt};
use ringpipe::{duplex_pair, DuplexEnd, PipeOptions};
use std::io::ErrorKind;
use std::time::Duration;
use support::{pattern, plain_pipe, put_commit};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::bytes::Bytes;
use tokio_util::codec::{Framed, LengthDelimitedCodec, LinesCodec};

/// Small chunks and capacity, so that streams wrap, span chunks and wait for room.
fn small() -> PipeOptions {
    PipeOptions::builder()
        .chunk_size(64)
        .capacity(512)
        .pause_writer_threshold(256)
        .resume_writer_threshold(128)
        .build()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on a fresh multi-thread runtime, failing after 20 s (a hang guard).
fn run<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(20), tokio::spawn(f))
            .await
            .expect("hung")
            .unwrap();
    });
}

/// The same function over a tokio `DuplexStream` and a ringpipe duplex end: the drop-in claim.
async fn line_echo<S>(client: S, server: S, lines: usize)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let server = tokio::spawn(async move {
        let mut framed = Framed::new(server, LinesCodec::new());
        let mut n = 0;
        while let Some(line) = framed.next().await {
            framed.send(line.unwrap().to_uppercase()).await.unwrap();
            n += 1;
        }
        n
    });
    let (mut sink, mut stream) = Framed::new(client, LinesCodec::new()).split();
    let sender = tokio::spawn(async move {
        for i in 0..lines {
            sink.send(format!("line {i} {}", "x".repeat(i % 200)))
                .await
                .unwrap();
        }
        sink.close().await.unwrap(); // shuts the client's output down
    });
    let mut n = 0;
    while let Some(line) = stream.next().await {
        assert_eq!(line.unwrap(), format!("LINE {n} {}", "X".repeat(n % 200)));
        n += 1;
    }
    assert_eq!(n, lines);
    sender.await.unwrap();
    assert_eq!(server.await.unwrap(), lines);
}

#[test]
fn framed_lines_both_ways_as_with_tokio_duplex() {
    run(async {
        let (a, b) = tokio::io::duplex(512);
        line_echo(a, b, 2000).await;
        let (a, b) = duplex_pair(small());
        line_echo(a, b, 2000).await;
    });
}

#[test]
fn framed_length_delimited_frames_larger_than_the_pipe() {
    run(async {
        let (client, server) = duplex_pair(small());
        let frames: Vec<Vec<u8>> = (0..200).map(|i| pattern(i * 37 % 3000)).collect();
        let expected = frames.clone();
        let sender = tokio::spawn(async move {
            let mut framed = Framed::new(client, LengthDelimitedCodec::new());
            for f in frames {
                framed.send(Bytes::from(f)).await.unwrap();
            }
            SinkExt::<Bytes>::close(&mut framed).await.unwrap();
        });
        let mut framed = Framed::new(server, LengthDelimitedCodec::new());
        let mut n = 0;
        while let Some(frame) = framed.next().await {
            assert_eq!(frame.unwrap()[..], expected[n][..], "frame {n}");
            n += 1;
        }
        assert_eq!(n, expected.len());
        sender.await.unwrap();
    });
}

#[test]
fn tokio_io_copy_between_ends() {
    run(async {
        let (mut a, b) = duplex_pair(small());
        let (c, mut d) = duplex_pair(small());
        let data = pattern(200_000);
        let expected = data.clone();
        let writer = tokio::spawn(async move {
            a.write_all(&data).await.unwrap();
            a.shutdown().await.unwrap();
        });
        // b's input to c's output, as a proxy would: tokio::io::copy over the halves.
        let proxy = tokio::spawn(async move {
            let (mut b_in, _b_out) = b.into_parts();
            let (_c_in, mut c_out) = c.into_parts();
            let n = tokio::io::copy(&mut b_in, &mut c_out).await.unwrap();
            AsyncWriteExt::shutdown(&mut c_out).await.unwrap();
            n
        });
        let mut got = Vec::new();
        d.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, expected);
        writer.await.unwrap();
        assert_eq!(proxy.await.unwrap(), 200_000);
    });
}

#[test]
fn buf_reader_lines_over_a_reader() {
    run(async {
        let (mut w, r) = ringpipe::pipe(small());
        let writer = tokio::spawn(async move {
            for i in 0..3000 {
                w.write_all(format!("{i}\n").as_bytes()).await.unwrap();
            }
        });
        // BufReader over the reader, and lines() straight on the reader (it is AsyncBufRead).
        let mut lines = BufReader::with_capacity(5, r).lines();
        let mut n = 0;
        while let Some(line) = lines.next_line().await.unwrap() {
            assert_eq!(line, n.to_string());
            n += 1;
        }
        assert_eq!(n, 3000);
        writer.await.unwrap();

        let (mut w, r) = ringpipe::pipe(small());
        w.write_all(b"one\ntwo\nthree").await.unwrap();
        drop(w);
        let mut lines = r.lines();
        for want in ["one", "two", "three"] {
            assert_eq!(lines.next_line().await.unwrap().unwrap(), want);
        }
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn small_reads_consume_exactly_what_they_copied() {
    run(async {
        let (mut w, mut r, _pool) = plain_pipe(64, 8);
        put_commit(&mut w, b"0123456789abcdef");
        let mut buf = [0u8; 3];
        let mut got = Vec::new();
        for _ in 0..5 {
            let n = AsyncReadExt::read(&mut r, &mut buf).await.unwrap();
            assert_eq!(n, 3);
            got.extend_from_slice(&buf);
        }
        assert_eq!(got, b"0123456789abcde");
        assert_eq!(r.consumed_bytes(), 15);
        drop(w);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"f");
    });
}

#[test]
fn fill_buf_after_a_partial_consume_does_not_wait() {
    run(async {
        let (mut w, mut r, _pool) = plain_pipe(64, 16);
        put_commit(&mut w, b"abcdef");
        assert_eq!(r.fill_buf().await.unwrap(), b"abcdef");
        std::pin::Pin::new(&mut r).consume(4);
        // The writer is alive and wrote nothing more; a wait would hit the hang guard.
        assert_eq!(r.fill_buf().await.unwrap(), b"ef");
        drop(w);
    });
}

#[test]
fn zero_length_reads_and_writes_return_at_once() {
    run(async {
        let (mut a, _b) = duplex_pair(small());
        assert_eq!(a.read(&mut []).await.unwrap(), 0);
        assert_eq!(a.write(&[]).await.unwrap(), 0);
        let mut empty = tokio::io::ReadBuf::new(&mut []);
        std::future::poll_fn(|cx| {
            tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut a), cx, &mut empty)
        })
        .await
        .unwrap();
    });
}

#[test]
fn shutdown_is_the_end_of_the_stream_for_the_peer() {
    run(async {
        let (mut a, mut b) = duplex_pair(small());
        a.write_all(b"bye").await.unwrap();
        a.shutdown().await.unwrap();
        a.shutdown().await.unwrap(); // idempotent
        assert_eq!(
            a.write(b"more").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        // The other direction still works after a's output shut down.
        b.write_all(b"reply").await.unwrap();
        let mut buf = [0u8; 5];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"reply");
    });
}

#[test]
fn writes_to_a_dropped_end_are_broken_pipe() {
    run(async {
        let (mut a, b) = duplex_pair(small());
        drop(b);
        assert_eq!(
            a.write_all(b"x").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        assert_eq!(a.read(&mut [0u8; 1]).await.unwrap(), 0, "and reads end");
        // Shutting down with nobody left is fine.
        a.shutdown().await.unwrap();
    });
}

#[test]
fn a_dropped_read_leaves_the_pipe_usable() {
    run(async {
        let (mut a, mut b) = duplex_pair(small());
        let mut buf = [0u8; 8];
        // Nothing to read: the read future is dropped by the timeout (cancelled).
        let r = tokio::time::timeout(Duration::from_millis(20), b.read(&mut buf)).await;
        assert!(r.is_err(), "no data: the read must wait");
        a.write_all(b"after").await.unwrap();
        b.read_exact(&mut buf[..5]).await.unwrap();
        assert_eq!(&buf[..5], b"after");
    });
}

#[test]
fn a_dropped_write_leaves_the_pipe_usable_and_loses_nothing_it_reported() {
    run(async {
        let (mut a, mut b) = duplex_pair(small());
        let data = pattern(2000);
        // The pipe holds 512 bytes: write_all waits for room and is dropped by the timeout.
        let r = tokio::time::timeout(Duration::from_millis(20), a.write_all(&data)).await;
        assert!(r.is_err(), "no reader: the write must wait for room");
        // What went in before the cancel is whole and in order; the rest follows.
        let mut first = vec![0u8; 512];
        let n = b.read(&mut first).await.unwrap();
        assert!(n > 0);
        assert_eq!(first[..n], data[..n]);
        let rest = data[n..].to_vec();
        // The dropped write_all may have copied more (into room the read made, on its last
        // poll): whatever it copied follows in order. Read it, then write what is missing.
        let mut pending = Vec::new();
        while let Ok(Ok(k)) =
            tokio::time::timeout(Duration::from_millis(20), b.read(&mut first)).await
        {
            pending.extend_from_slice(&first[..k]);
        }
        assert_eq!(pending[..], rest[..pending.len()]);
        let missing = rest[pending.len()..].to_vec();
        let writer = tokio::spawn(async move {
            a.write_all(&missing).await.unwrap();
            a.shutdown().await.unwrap();
        });
        b.read_to_end(&mut pending).await.unwrap();
        assert_eq!(pending, rest);
        writer.await.unwrap();
    });
}

#[test]
fn a_cancel_is_interrupted() {
    run(async {
        let (_a, mut b): (DuplexEnd, DuplexEnd) = duplex_pair(small());
        b.input().canceller().cancel_pending_read();
        let e = b.read(&mut [0u8; 4]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Interrupted);
    });
}
