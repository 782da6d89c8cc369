//! The tokio socket transport over real sockets (loopback TCP and Unix stream sockets), on
//! both runtime flavours: streams both ways with every byte checked by position, the peer
//! closing and resetting, the application completing first, dropping its end, aborting,
//! backpressure both ways, vectored sends, and many connections at once.
#![cfg(feature = "tokio")]

mod support;

use ringpipe::{PipeOptions, SocketTransport, TransportOptions, TransportStats};
use std::future::Future;
use std::io::ErrorKind;
use std::time::Duration;
use support::rng::Rng;
use support::sockets::{reset_on_close, stream_byte};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::JoinHandle;

/// Runs `f` on a runtime of each flavour, failing after 30 s (a hang guard).
fn on_each_runtime<F, Fut>(f: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for rt in [current, multi] {
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), tokio::spawn(f()))
                .await
                .expect("hung")
                .unwrap();
        });
    }
}

/// A connected loopback TCP pair: (the transport's socket, the peer).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = TcpStream::connect(listener.local_addr().unwrap());
    let (peer, accepted) = tokio::join!(peer, listener.accept());
    (accepted.unwrap().0, peer.unwrap())
}

/// Small chunks and thresholds, so that streams span chunks and backpressure engages.
fn small() -> PipeOptions {
    PipeOptions::builder()
        .chunk_size(1024)
        .capacity(16 * 1024)
        .pause_writer_threshold(8 * 1024)
        .resume_writer_threshold(4 * 1024)
        .build()
        .unwrap()
}

/// Spawns a transport over `socket`; returns the application's halves and the task.
fn spawn<S>(
    socket: S,
    options: TransportOptions,
) -> (
    ringpipe::PipeReader,
    ringpipe::PipeWriter,
    JoinHandle<std::io::Result<TransportStats>>,
)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (end, transport) = SocketTransport::new(socket, options);
    let (input, output) = end.into_parts();
    (input, output, tokio::spawn(transport))
}

/// Writes `len` bytes of the position pattern in pieces of random sizes.
async fn write_stream<W: AsyncWrite + Unpin>(w: &mut W, len: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut at = 0;
    let mut piece = Vec::new();
    while at < len {
        let n = rng.range(1, 20_000).min(len - at);
        piece.clear();
        piece.extend((at..at + n).map(stream_byte));
        w.write_all(&piece).await.unwrap();
        at += n;
    }
}

/// Reads to the end of the stream, checking every byte by position; returns the length.
async fn check_stream<R: AsyncRead + Unpin>(r: &mut R) -> usize {
    let mut at = 0;
    let mut buf = vec![0; 7000];
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return at;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, stream_byte(at + i), "byte {}", at + i);
        }
        at += n;
    }
}

/// Everything the pipe delivers until its writer completes, read the pipe's way.
async fn read_to_end(input: &mut ringpipe::PipeReader) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let res = input.read().await.unwrap();
        got.extend(res.buffer().to_vec());
        let (end, done) = (res.buffer().end(), res.is_completed());
        input.advance_to(end, end).unwrap();
        if done {
            return got;
        }
    }
}

/// The application side of an echo: reads the pipe with consumed/examined and writes every
/// read back with the pipe's own writer (get_memory/advance/flush), until the input ends.
async fn pipe_echo(mut input: ringpipe::PipeReader, mut output: ringpipe::PipeWriter) -> usize {
    let mut total = 0;
    loop {
        let res = input.read().await.unwrap();
        let data = res.buffer();
        for chunk in data.chunks() {
            let mut off = 0;
            while off < chunk.len() {
                let mem = output.get_memory(1).await.unwrap();
                let n = mem.len().min(chunk.len() - off);
                mem[..n].copy_from_slice(&chunk[off..off + n]);
                output.advance(n);
                off += n;
                if output.unflushed_bytes() >= 4096 {
                    output.flush().await.unwrap();
                }
            }
        }
        total += data.len();
        let (end, done) = (data.end(), res.is_completed());
        input.advance_to(end, end).unwrap();
        output.flush().await.unwrap();
        if done {
            output.complete();
            return total;
        }
    }
}

/// An echo of `len` bytes through the transport: the peer writes, the application echoes,
/// the peer checks what comes back; the peer's shutdown ends it all.
async fn echo_through<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    socket: S,
    peer: S,
    len: usize,
    options: TransportOptions,
) {
    let (input, output, transport) = spawn(socket, options);
    let app = tokio::spawn(pipe_echo(input, output));
    let (mut peer_r, mut peer_w) = tokio::io::split(peer);
    let writer = tokio::spawn(async move {
        write_stream(&mut peer_w, len, len as u64).await;
        peer_w.shutdown().await.unwrap();
        peer_w
    });
    assert_eq!(check_stream(&mut peer_r).await, len);
    let _peer_w = writer.await.unwrap();
    assert_eq!(app.await.unwrap(), len);
    let stats = transport.await.unwrap().unwrap();
    assert_eq!((stats.received, stats.sent), (len as u64, len as u64));
    assert!(stats.reads > 0 && stats.writes > 0);
}

#[test]
fn echoes_both_ways_over_tcp_with_every_byte_checked() {
    on_each_runtime(|| async {
        for (len, options) in [
            (3 << 20, TransportOptions::new()),
            (
                1 << 20,
                TransportOptions::new().receive(small()).send(small()),
            ),
        ] {
            let (socket, peer) = tcp_pair().await;
            echo_through(socket, peer, len, options).await;
        }
    });
}

#[test]
fn echoes_both_ways_over_a_unix_socket() {
    on_each_runtime(|| async {
        let (socket, peer) = UnixStream::pair().unwrap();
        echo_through(socket, peer, 2 << 20, TransportOptions::new().send(small())).await;
    });
}

#[test]
fn the_peer_closing_is_the_end_of_the_applications_input() {
    on_each_runtime(|| async {
        let (socket, mut peer) = tcp_pair().await;
        let (mut input, output, transport) = spawn(socket, TransportOptions::new());
        peer.write_all(b"last words").await.unwrap();
        drop(peer);
        let got = read_to_end(&mut input).await;
        assert_eq!(got, b"last words");
        drop(output); // the send loop ends: nothing to send; its shutdown may fail, unseen
        let stats = transport.await.unwrap().unwrap();
        assert_eq!(stats.received, 10);
    });
}

#[test]
fn a_reset_from_the_peer_fails_the_applications_input_with_its_kind() {
    on_each_runtime(|| async {
        let (socket, peer) = tcp_pair().await;
        let (mut input, _output, transport) = spawn(socket, TransportOptions::new());
        // Unread data on close makes Linux send a reset; SO_LINGER 0 makes sure of it.
        reset_on_close(&peer);
        drop(peer);
        let err = loop {
            match input.read().await {
                Err(e) => break std::io::Error::from(e),
                Ok(res) => {
                    assert!(!res.is_completed(), "a reset read as a clean end of stream");
                    let end = res.buffer().end();
                    input.advance_to(end, end).unwrap();
                }
            }
        };
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        drop(input);
        let err = transport.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn the_application_completing_its_output_half_closes_the_socket() {
    on_each_runtime(|| async {
        let (socket, mut peer) = tcp_pair().await;
        let (mut input, mut output, transport) = spawn(socket, TransportOptions::new());
        output.write_all(b"request").await.unwrap();
        output.complete();
        // The peer reads the request and the end of the stream...
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");
        // ...and can still answer: the receive loop goes on.
        peer.write_all(b"response").await.unwrap();
        drop(peer);
        let got = read_to_end(&mut input).await;
        assert_eq!(got, b"response");
        let stats = transport.await.unwrap().unwrap();
        assert_eq!((stats.sent, stats.received), (7, 8));
    });
}

#[test]
fn dropping_the_applications_end_ends_the_transport_though_the_peer_stays_silent() {
    on_each_runtime(|| async {
        let (socket, mut peer) = tcp_pair().await;
        let (input, mut output, transport) = spawn(socket, TransportOptions::new());
        output.write_all(b"bye").await.unwrap();
        drop(input);
        drop(output);
        // The peer neither sends nor closes; the transport ends anyway, after sending "bye".
        let stats = transport.await.unwrap().unwrap();
        assert_eq!(stats.sent, 3);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
    });
}

#[test]
fn an_application_error_on_its_output_aborts_the_connection() {
    on_each_runtime(|| async {
        let (socket, mut peer) = tcp_pair().await;
        let (mut input, mut output, transport) = spawn(socket, TransportOptions::new());
        output.complete_with_error(std::io::Error::other("protocol violation"));
        let err = std::io::Error::from(input.read().await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::ConnectionAborted, "{err}");
        transport.await.unwrap().unwrap();
        // The socket is closed: the peer reads its end (nothing was shut down cleanly, but a
        // close with nothing unread is a FIN).
        let mut got = Vec::new();
        let _ = peer.read_to_end(&mut got).await;
        assert!(got.is_empty());
    });
}

#[test]
fn a_dropped_transport_aborts_the_applications_halves() {
    on_each_runtime(|| async {
        let (socket, _peer) = tcp_pair().await;
        let (end, transport) = SocketTransport::new(socket, TransportOptions::new());
        let (mut input, mut output) = end.into_parts();
        drop(transport);
        let err = std::io::Error::from(input.read().await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::ConnectionAborted, "{err}");
        let err = std::io::Error::from(output.write_all(b"x").await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    });
}

#[test]
fn a_socket_error_on_send_reaches_the_applications_writes() {
    on_each_runtime(|| async {
        let (socket, peer) = tcp_pair().await;
        let (_input, mut output, transport) = spawn(socket, TransportOptions::new());
        reset_on_close(&peer);
        drop(peer);
        // Writes go on until the reset is seen; then they fail with BrokenPipe, the socket's
        // error (a reset or a broken pipe) as the source.
        let chunk = vec![7u8; 64 * 1024];
        let err = loop {
            if let Err(e) = output.write_all(&chunk).await {
                break std::io::Error::from(e);
            }
        };
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        let mut source = std::error::Error::source(&err);
        let mut socket_kind = None;
        while let Some(s) = source {
            if let Some(e) = s.downcast_ref::<std::io::Error>() {
                socket_kind = Some(e.kind());
            }
            source = s.source();
        }
        assert!(
            matches!(
                socket_kind,
                Some(ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
            ),
            "{err:?}"
        );
        assert!(transport.await.unwrap().is_err());
    });
}

#[test]
fn a_slow_application_holds_the_peer_back_and_loses_nothing() {
    on_each_runtime(|| async {
        const LEN: usize = 32 << 20;
        let (socket, mut peer) = tcp_pair().await;
        let (mut input, _output, transport) =
            spawn(socket, TransportOptions::new().receive(small()));
        let writer = tokio::spawn(async move {
            write_stream(&mut peer, LEN, 5).await;
            peer
        });
        // Nobody reads for a while: the transport stops at the pause threshold (the rest
        // waits in the kernel's buffers and the peer's writes block).
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!writer.is_finished(), "the peer wrote 32 MiB into nowhere");
        let mut at = 0;
        let mut first = true;
        while at < LEN {
            let res = input.read().await.unwrap();
            let data = res.buffer();
            if first {
                assert!(data.len() <= 16 * 1024, "held {} bytes", data.len());
                first = false;
            }
            for chunk in data.chunks() {
                for (i, &b) in chunk.iter().enumerate() {
                    assert_eq!(b, stream_byte(at + i), "byte {}", at + i);
                }
                at += chunk.len();
            }
            let end = data.end();
            input.advance_to(end, end).unwrap();
        }
        assert_eq!(at, LEN);
        drop(writer.await.unwrap()); // the peer closes: the receive loop ends
        drop(input);
        drop(_output);
        assert_eq!(transport.await.unwrap().unwrap().received, LEN as u64);
    });
}

#[test]
fn a_slow_peer_holds_the_applications_writes_back() {
    on_each_runtime(|| async {
        let (socket, mut peer) = tcp_pair().await;
        let (_input, mut output, transport) = spawn(socket, TransportOptions::new().send(small()));
        let app = tokio::spawn(async move {
            write_stream(&mut output, 8 << 20, 9).await;
            output.complete();
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !app.is_finished(),
            "8 MiB went to a peer that reads nothing"
        );
        assert_eq!(check_stream(&mut peer).await, 8 << 20);
        app.await.unwrap();
        drop(peer);
        assert_eq!(transport.await.unwrap().unwrap().sent, 8 << 20);
    });
}

#[test]
fn a_read_over_several_chunks_goes_out_in_one_vectored_write() {
    on_each_runtime(|| async {
        let (socket, mut peer) = UnixStream::pair().unwrap();
        let opts = PipeOptions::builder().chunk_size(1024).build().unwrap();
        let (end, transport) = SocketTransport::new(socket, TransportOptions::new().send(opts));
        let (_input, mut output) = end.into_parts();
        // Five chunks' worth flushed before the transport first polls.
        let data: Vec<u8> = (0..5000).map(stream_byte).collect();
        output.write_all(&data).await.unwrap();
        output.complete();
        let transport = tokio::spawn(transport);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, data);
        drop(peer);
        let stats = transport.await.unwrap().unwrap();
        assert_eq!((stats.sent, stats.writes), (5000, 1));
    });
}

#[test]
fn fifty_connections_at_once() {
    on_each_runtime(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut apps = Vec::new();
            for _ in 0..50 {
                let (socket, _) = listener.accept().await.unwrap();
                let (input, output, transport) = spawn(socket, TransportOptions::new());
                apps.push((tokio::spawn(pipe_echo(input, output)), transport));
            }
            for (app, transport) in apps {
                let n = app.await.unwrap();
                assert_eq!(transport.await.unwrap().unwrap().sent, n as u64);
            }
        });
        let mut clients = Vec::new();
        for i in 0..50 {
            clients.push(tokio::spawn(async move {
                let peer = TcpStream::connect(addr).await.unwrap();
                let (mut r, mut w) = peer.into_split();
                let len = 10_000 + i * 3001;
                let writer = tokio::spawn(async move {
                    write_stream(&mut w, len, i as u64).await;
                    w.shutdown().await.unwrap();
                    w
                });
                assert_eq!(check_stream(&mut r).await, len);
                writer.await.unwrap();
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}
