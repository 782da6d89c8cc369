//! The blocking socket transport over real sockets (loopback TCP, Unix socket pairs and a Unix
//! listener): streams both ways with every byte checked by position, the peer closing and
//! resetting, the application completing first (a half close), dropping its end while the
//! peer is silent, completing its output with an error, the transport dropped, backpressure
//! holding a fast peer back, zero-length operations, and many connections at once.
//!
//! No assertion depends on timing: every wait is for an event, under the suite's hang guard
//! ([`with_timeout`]); the few sleeps only make a slow application slow.
#![cfg(target_os = "linux")]

mod support;

use ringpipe::{
    copy_to_blocking, BlockingSocket, BlockingTransport, PipeOptions, PipeReader, PipeWriter,
    TransportOptions, TransportStats, WriteError,
};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use support::rng::Rng;
use support::sockets::{reset_on_close, stream_byte};
use support::{with_timeout, TempPath};

/// A connected loopback TCP pair: (the transport's socket, the peer).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (socket, _) = listener.accept().unwrap();
    (socket, peer)
}

/// A connected Unix stream socket pair: (the transport's socket, the peer).
fn unix_pair() -> (UnixStream, UnixStream) {
    UnixStream::pair().unwrap()
}

/// Small chunks and a small capacity both ways, so reads span chunks (vectored sends of
/// several slices) and backpressure pauses both pipes often.
fn small_pipes() -> TransportOptions {
    let pipe = PipeOptions::builder()
        .chunk_size(4096)
        .capacity(64 * 1024)
        .pause_writer_threshold(32 * 1024)
        .resume_writer_threshold(16 * 1024)
        .build()
        .unwrap();
    TransportOptions::new().receive(pipe.clone()).send(pipe)
}

/// Reads `input` to its end, checking that the byte at each position is `stream_byte` of it;
/// returns how many bytes came.
fn read_checked(input: &mut PipeReader) -> usize {
    let mut at = 0;
    loop {
        let res = input.read_blocking().unwrap();
        let buf = res.buffer();
        for chunk in buf.chunks() {
            for &b in chunk {
                assert_eq!(b, stream_byte(at), "byte {at}");
                at += 1;
            }
        }
        let (end, done) = (buf.end(), res.is_completed());
        input.advance_to(end, end).unwrap();
        if done {
            return at;
        }
    }
}

/// Writes the first `len` stream bytes into `output` in pieces of random sizes (a few bytes,
/// about a packet, larger than the pipe), alternating the pipe's own `write_all_blocking` and
/// `std::io::Write`, then completes it.
fn write_stream(mut output: PipeWriter, len: usize, seed: u64) {
    let data: Vec<u8> = (0..len).map(stream_byte).collect();
    let mut rng = Rng::new(seed);
    let mut at = 0;
    while at < len {
        let max = [16, 1500, 200_000][rng.below(3)];
        let n = rng.range(1, max).min(len - at);
        let piece = &data[at..at + n];
        if rng.one_in(2) {
            let f = output.write_all_blocking(piece).unwrap();
            assert!(!f.is_completed());
        } else {
            Write::write_all(&mut output, piece).unwrap();
        }
        at += n;
    }
    output.complete();
}

/// The peer of the echo tests: sends back what it reads, then shuts its write side down.
fn echo<S: BlockingSocket>(mut peer: S) -> usize {
    let mut buf = vec![0u8; 32 * 1024];
    let mut total = 0;
    loop {
        let n = peer.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        peer.write_all(&buf[..n]).unwrap();
        total += n;
    }
    peer.shutdown(Shutdown::Write).unwrap();
    total
}

/// Echo both ways: the application writes `len` bytes, the peer sends each back, the
/// application checks every byte by position; the transport counts them both ways.
fn echo_both_ways<S: BlockingSocket>(socket: S, peer: S, len: usize, seed: u64) {
    with_timeout(move || {
        let peer = thread::spawn(move || echo(peer));
        let (end, transport) = BlockingTransport::spawn(socket, small_pipes()).unwrap();
        let (mut input, output) = end.into_parts();
        let writer = thread::spawn(move || write_stream(output, len, seed));
        assert_eq!(read_checked(&mut input), len);
        writer.join().unwrap();
        assert_eq!(peer.join().unwrap(), len);
        drop(input);
        let stats = transport.join().unwrap();
        assert_eq!((stats.received, stats.sent), (len as u64, len as u64));
        // At least one read of data and the end of the stream; a write per read at least.
        assert!(stats.reads >= 2 && stats.writes >= 1, "{stats:?}");
    });
}

#[test]
fn echo_both_ways_over_tcp() {
    let (socket, peer) = tcp_pair();
    echo_both_ways(socket, peer, 6 << 20, 1);
}

#[test]
fn echo_both_ways_over_a_unix_socket() {
    let (socket, peer) = unix_pair();
    echo_both_ways(socket, peer, 6 << 20, 2);
}

/// The peer sends, then shuts its write side down: the application reads what was sent,
/// then the end of the stream; the transport ends when the application has dropped its end.
fn peer_closes<S: BlockingSocket>(socket: S, mut peer: S) {
    with_timeout(move || {
        let (mut end, transport) =
            BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        peer.write_all(b"last words").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        end.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"last words");
        assert!(
            !transport.is_finished(),
            "the send loop waits for the application"
        );
        drop(end);
        while !transport.is_finished() {
            thread::sleep(Duration::from_millis(1));
        }
        let stats = transport.join().unwrap();
        let expected = TransportStats {
            received: 10,
            sent: 0,
            reads: stats.reads,
            writes: 0,
        };
        assert_eq!(stats, expected);
        assert!(
            stats.reads >= 2,
            "data and the end of the stream: {stats:?}"
        );
        // The application's end completed its output: the peer reads the end of the stream.
        assert_eq!(peer.read(&mut [0; 8]).unwrap(), 0);
    });
}

#[test]
fn peer_closes_over_tcp() {
    let (socket, peer) = tcp_pair();
    peer_closes(socket, peer);
}

#[test]
fn peer_closes_over_a_unix_socket() {
    let (socket, peer) = unix_pair();
    peer_closes(socket, peer);
}

/// Reads from `end` until an error, which it returns; what came before it is checked against
/// `allowed` (a prefix of it may arrive before the error).
fn read_until_error(end: &mut impl Read, allowed: &[u8]) -> io::Error {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match end.read(&mut buf) {
            Ok(0) => panic!("a clean end of stream; expected an error (after {got:?})"),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                assert!(allowed.starts_with(&got), "unexpected data {got:?}");
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return e,
        }
    }
}

/// Writes to `end` until an error, which it returns (the pipe takes writes until the send
/// loop completes its reader).
fn write_until_error(end: &mut impl Write) -> io::Error {
    loop {
        if let Err(e) = end.write(b"more") {
            return e;
        }
    }
}

/// The kind of the error a failed write carries as its source: the reader's (the send loop's)
/// completion error.
fn write_source_kind(e: &io::Error) -> ErrorKind {
    let inner = e.get_ref().expect("a payload").downcast_ref::<WriteError>();
    let Some(WriteError::ReaderFailed(source)) = inner else {
        panic!("expected ReaderFailed, got {e:?}");
    };
    source
        .downcast_ref::<io::Error>()
        .expect("an io::Error source")
        .kind()
}

#[test]
fn a_peer_reset_fails_both_directions() {
    with_timeout(|| {
        let (socket, mut peer) = tcp_pair();
        let (mut end, transport) =
            BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        peer.write_all(b"before").unwrap();
        let mut got = [0; 6];
        end.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"before");

        reset_on_close(&peer);
        drop(peer);
        let e = read_until_error(&mut end, b"");
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
        // The connection failed: the send loop ended too, with a copy of the reset.
        let e = write_until_error(&mut end);
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
        assert_eq!(write_source_kind(&e), ErrorKind::ConnectionReset);
        // Joins while the application still holds its end: both loops have ended.
        let e = transport.join().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
    });
}

#[test]
fn a_reset_while_sending_fails_both_directions() {
    with_timeout(|| {
        let (socket, peer) = tcp_pair();
        let (end, transport) = BlockingTransport::spawn(socket, small_pipes()).unwrap();
        let (mut input, mut output) = end.into_parts();
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        // The peer reads nothing: the writer fills the pipe and the socket's buffers, then
        // waits in the pipe's backpressure until the reset fails the send loop.
        let writer = thread::spawn(move || loop {
            match Write::write(&mut output, &[7; 4096]) {
                Ok(n) => w.fetch_add(n as u64, Ordering::Relaxed),
                Err(e) => return e,
            };
        });
        while written.load(Ordering::Relaxed) < 256 * 1024 {
            thread::sleep(Duration::from_millis(1));
        }
        reset_on_close(&peer);
        drop(peer);

        let e = writer.join().unwrap();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
        let source = write_source_kind(&e);
        // The send loop meets the reset as ECONNRESET or, after it, EPIPE; the receive loop
        // as ECONNRESET. Whichever loop met it first, both directions end with its kind.
        assert!(
            matches!(source, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{source:?}"
        );
        let e = read_until_error(&mut input, b"");
        assert_eq!(e.kind(), source);
        let e = transport.join().unwrap_err();
        assert_eq!(e.kind(), source);
    });
}

/// The application completes its output first: the peer reads all of it and the end of the
/// stream, and the application still reads what the peer sends afterwards (a half close).
fn half_close<S: BlockingSocket>(socket: S, mut peer: S) {
    with_timeout(move || {
        let (end, transport) = BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        let (mut input, mut output) = end.into_parts();
        output.write_all_blocking(b"request").unwrap();
        output.complete();
        let mut request = Vec::new();
        peer.read_to_end(&mut request).unwrap();
        assert_eq!(request, b"request");

        peer.write_all(b"the response").unwrap();
        drop(peer);
        let mut response = String::new();
        input.read_to_string(&mut response).unwrap();
        assert_eq!(response, "the response");
        let stats = transport.join().unwrap();
        assert_eq!((stats.sent, stats.received), (7, 12));
    });
}

#[test]
fn half_close_over_tcp() {
    let (socket, peer) = tcp_pair();
    half_close(socket, peer);
}

#[test]
fn half_close_over_a_unix_socket() {
    let (socket, peer) = unix_pair();
    half_close(socket, peer);
}

/// The peer ends its stream while it reads nothing: the application reads the end of the
/// stream at once, although the send thread is held in a write the peer does not take; the
/// peer then reads everything.
#[test]
fn the_peer_ends_its_stream_while_a_write_is_held() {
    with_timeout(|| {
        const LEN: usize = 16 << 20;
        let (socket, mut peer) = tcp_pair();
        // Fixed buffers (no autotuning): the 16 MiB cannot all be in them.
        set_int_option(&socket, libc::SO_SNDBUF, 64 * 1024);
        set_int_option(&peer, libc::SO_RCVBUF, 64 * 1024);
        let (end, transport) = BlockingTransport::spawn(socket, small_pipes()).unwrap();
        let (mut input, output) = end.into_parts();
        let writer = thread::spawn(move || write_stream(output, LEN, 3));
        peer.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            Read::read(&mut input, &mut [0; 8]).unwrap(),
            0,
            "the end of the stream"
        );
        assert!(!writer.is_finished(), "the peer has read nothing yet");
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), LEN);
        assert!((0..LEN).all(|i| got[i] == stream_byte(i)));
        writer.join().unwrap();
        drop(input);
        let stats = transport.join().unwrap();
        assert_eq!((stats.received, stats.sent), (0, LEN as u64));
    });
}

/// The application drops its whole end while the peer neither sends nor closes: the receive
/// thread, waiting for the socket, ends all the same (the reader's completion wakes it), the
/// send thread shuts the write side down, and `join` returns.
fn app_drops_its_end<S: BlockingSocket>(socket: S, mut peer: S) {
    with_timeout(move || {
        let (end, transport) = BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        assert!(!transport.is_finished(), "both threads wait");
        drop(end);
        assert_eq!(transport.join().unwrap(), TransportStats::default());
        assert_eq!(peer.read(&mut [0; 8]).unwrap(), 0, "the end of the stream");
        drop(peer);
    });
}

#[test]
fn app_drops_its_end_while_the_tcp_peer_is_silent() {
    let (socket, peer) = tcp_pair();
    app_drops_its_end(socket, peer);
}

#[test]
fn app_drops_its_end_while_the_unix_peer_is_silent() {
    let (socket, peer) = unix_pair();
    app_drops_its_end(socket, peer);
}

#[test]
fn app_drops_its_input_only_and_goes_on_sending() {
    with_timeout(|| {
        let (socket, mut peer) = tcp_pair();
        let (end, transport) = BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        let (input, mut output) = end.into_parts();
        drop(input); // the receive thread ends while the peer is silent
        output.write_all_blocking(b"still talking").unwrap();
        let mut got = [0; 13];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still talking");
        drop(output);
        assert_eq!(peer.read(&mut [0; 8]).unwrap(), 0);
        let stats = transport.join().unwrap();
        assert_eq!((stats.received, stats.sent), (0, 13));
    });
}

/// The application completes its output with an error: nothing more is sent, the peer sees
/// the connection end, and the application's input completes with `ConnectionAborted`.
fn app_aborts<S: BlockingSocket>(socket: S, mut peer: S) {
    with_timeout(move || {
        let (mut end, transport) =
            BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        end.output()
            .complete_with_error(io::Error::other("the application gave up"));
        match peer.read(&mut [0; 8]) {
            Ok(n) => assert_eq!(n, 0, "no data, the end of the stream"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
        let e = read_until_error(end.input(), b"");
        assert_eq!(e.kind(), ErrorKind::ConnectionAborted, "{e}");
        // Not a socket error: the transport reports what it moved. Nothing, except that the
        // receive thread may have seen the end of the stream (one read) before the abort
        // reached it: the socket is shut down as the output fails.
        let stats = transport.join().unwrap();
        assert!(
            stats.reads <= 1
                && stats
                    == (TransportStats {
                        reads: stats.reads,
                        ..TransportStats::default()
                    }),
            "{stats:?}"
        );
    });
}

#[test]
fn app_aborts_over_tcp() {
    let (socket, peer) = tcp_pair();
    app_aborts(socket, peer);
}

#[test]
fn app_aborts_over_a_unix_socket() {
    let (socket, peer) = unix_pair();
    app_aborts(socket, peer);
}

/// Dropping the transport before its threads end aborts the connection: the application's
/// reads fail with `ConnectionAborted` (never a clean end of stream), its writes with
/// `BrokenPipe` and `ConnectionAborted` as the source, and the peer sees the connection end.
/// `flood`: the peer first sends more than the pipe holds, so the receive thread is held by
/// backpressure when the transport is dropped.
fn dropped_transport<S: BlockingSocket>(socket: S, mut peer: S, flood: bool) {
    with_timeout(move || {
        let (mut end, transport) = BlockingTransport::spawn(socket, small_pipes()).unwrap();
        let sent: Vec<u8> = (0..if flood { 1 << 20 } else { 100 })
            .map(stream_byte)
            .collect();
        let mut reader_peer = peer.try_clone().unwrap();
        let to_send = sent.clone();
        let sender = if flood {
            // Let the flood fill the pipe (64 KiB) and the socket's buffers first; the test
            // holds whatever state the receive thread is in when the drop comes.
            let sender = thread::spawn(move || peer.write_all(&to_send));
            thread::sleep(Duration::from_millis(50));
            Some(sender)
        } else {
            peer.write_all(&to_send).unwrap();
            None
        };
        drop(transport);
        let e = read_until_error(&mut end, &sent);
        assert_eq!(e.kind(), ErrorKind::ConnectionAborted, "{e}");
        let e = write_until_error(&mut end);
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
        assert_eq!(write_source_kind(&e), ErrorKind::ConnectionAborted);
        // The socket was shut down both ways (closed with unread data: reset).
        match reader_peer.read(&mut [0; 8]) {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
        if let Some(sender) = sender {
            // All of it in the socket's buffers, or a write failed at the close: either way
            // the peer's thread ends.
            let _ = sender.join().unwrap();
        }
    });
}

#[test]
fn a_dropped_transport_aborts_the_connection() {
    let (socket, peer) = tcp_pair();
    dropped_transport(socket, peer, false);
    let (socket, peer) = unix_pair();
    dropped_transport(socket, peer, false);
}

#[test]
fn a_dropped_transport_aborts_a_connection_held_by_backpressure() {
    let (socket, peer) = tcp_pair();
    dropped_transport(socket, peer, true);
    let (socket, peer) = unix_pair();
    dropped_transport(socket, peer, true);
}

/// Sets an `int` socket option at level `SOL_SOCKET`.
fn set_int_option(socket: &impl AsRawFd, option: libc::c_int, value: libc::c_int) {
    // SAFETY: a valid socket descriptor and an `int` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Reads an `int` socket option at level `SOL_SOCKET`.
fn int_option(socket: &impl AsRawFd, option: libc::c_int) -> usize {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid socket descriptor; `value` and `len` are valid for writes, `len` is
    // the size of `value`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt: {}", io::Error::last_os_error());
    value as usize
}

#[test]
fn a_slow_application_holds_a_fast_peer_back() {
    with_timeout(|| {
        const TOTAL: usize = 32 << 20;
        const PIECE: usize = 64 * 1024;
        const CAPACITY: usize = 256 * 1024;
        // Fixed socket buffers (no autotuning), so what can be in flight is known.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        set_int_option(&listener, libc::SO_RCVBUF, 64 * 1024);
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        set_int_option(&peer, libc::SO_SNDBUF, 64 * 1024);
        let (socket, _) = listener.accept().unwrap();
        set_int_option(&socket, libc::SO_RCVBUF, 64 * 1024);
        // The peer's bytes not yet consumed by the application are in the peer's send buffer,
        // the socket's receive buffer, or the pipe (at most its capacity); twice the buffers
        // leaves room for the kernel's accounting.
        let bound = CAPACITY
            + 2 * (int_option(&socket, libc::SO_RCVBUF) + int_option(&peer, libc::SO_SNDBUF));
        assert!(bound < TOTAL / 8, "a bound that says something: {bound}");

        let receive = PipeOptions::builder()
            .chunk_size(16 * 1024)
            .capacity(CAPACITY)
            .pause_writer_threshold(128 * 1024)
            .resume_writer_threshold(64 * 1024)
            .build()
            .unwrap();
        let options = TransportOptions::new().receive(receive);
        let (end, transport) = BlockingTransport::spawn(socket, options).unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        let sender = thread::spawn(move || {
            let mut piece = vec![0u8; PIECE];
            for at in (0..TOTAL).step_by(PIECE) {
                for (i, b) in piece.iter_mut().enumerate() {
                    *b = stream_byte(at + i);
                }
                peer.write_all(&piece).unwrap();
                // Stored after the write: never more than the socket took.
                w.store((at + PIECE) as u64, Ordering::Release);
            }
            peer.shutdown(Shutdown::Write).unwrap();
            peer
        });

        let (mut input, _output) = end.into_parts();
        let mut at = 0;
        let mut reads = 0u32;
        loop {
            let res = input.read_blocking().unwrap();
            let buf = res.buffer();
            assert!(buf.len() <= CAPACITY, "the pipe holds at most its capacity");
            // At most 16 KiB a read, and a pause every 8 reads: slower than the peer.
            let take = buf.len().min(16 * 1024);
            for chunk in buf.slice(..take).chunks() {
                for &b in chunk {
                    assert_eq!(b, stream_byte(at), "byte {at}");
                    at += 1;
                }
            }
            let ahead = (written.load(Ordering::Acquire) as usize).saturating_sub(at - take);
            assert!(
                ahead <= bound,
                "the peer got {ahead} bytes ahead (bound {bound})"
            );
            let done = res.is_completed() && take == buf.len();
            let consumed = buf.position(take);
            input.advance_to(consumed, consumed).unwrap();
            if done {
                break;
            }
            reads += 1;
            if reads % 8 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        assert_eq!(at, TOTAL);
        let peer = sender.join().unwrap();
        drop(input);
        drop(_output);
        let stats = transport.join().unwrap();
        assert_eq!(stats.received, TOTAL as u64);
        drop(peer);
    });
}

#[test]
fn zero_length_operations() {
    with_timeout(|| {
        let (socket, mut peer) = tcp_pair();
        let (mut end, transport) =
            BlockingTransport::spawn(socket, TransportOptions::new()).unwrap();
        // Nothing written, flushed: nothing sent.
        assert_eq!(Write::write(&mut end, &[]).unwrap(), 0);
        end.output().write_all_blocking(&[]).unwrap();
        end.output().flush_blocking().unwrap();
        Write::flush(&mut end).unwrap();
        // The peer writes nothing, then shuts its write side down: the application reads the
        // end of the stream at once.
        assert_eq!(peer.write(&[]).unwrap(), 0);
        peer.shutdown(Shutdown::Write).unwrap();
        assert_eq!(end.read(&mut [0; 8]).unwrap(), 0);
        // The application completes its output without having written: the peer reads the end
        // of the stream and nothing else.
        end.output().complete();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert!(got.is_empty());
        let stats = transport.join().unwrap();
        let expected = TransportStats {
            received: 0,
            sent: 0,
            reads: 1, // the end of the stream
            writes: 0,
        };
        assert_eq!(stats, expected);
        drop(end);
    });
}

#[test]
fn fifty_connections_at_once() {
    with_timeout(|| {
        const CONNECTIONS: usize = 50;
        const LEN: usize = 64 * 1024;
        let path = TempPath::new("transport.sock");
        let listener = UnixListener::bind(&path.0).unwrap();
        // Each client sends its stretch of the stream, shuts its write side down, and reads
        // the echo back to the end.
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let path = path.0.clone();
                thread::spawn(move || {
                    let mut socket = UnixStream::connect(path).unwrap();
                    let data: Vec<u8> = (c * LEN..(c + 1) * LEN).map(stream_byte).collect();
                    let mut reader = socket.try_clone().unwrap();
                    let echoed = thread::spawn(move || {
                        let mut got = Vec::new();
                        reader.read_to_end(&mut got).unwrap();
                        got
                    });
                    socket.write_all(&data).unwrap();
                    socket.shutdown(Shutdown::Write).unwrap();
                    assert!(echoed.join().unwrap() == data, "connection {c}");
                })
            })
            .collect();
        // The server: a transport per connection, and an application that echoes its input.
        let servers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (socket, _) = listener.accept().unwrap();
                let (end, transport) = BlockingTransport::spawn(socket, small_pipes()).unwrap();
                let app = thread::spawn(move || {
                    let (mut input, mut output) = end.into_parts();
                    copy_to_blocking(&mut input, &mut output).unwrap()
                });
                (app, transport)
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        for (app, transport) in servers {
            assert_eq!(app.join().unwrap(), LEN as u64);
            let stats = transport.join().unwrap();
            assert_eq!((stats.received, stats.sent), (LEN as u64, LEN as u64));
        }
    });
}
