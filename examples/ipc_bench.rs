//! Named pipes between two processes (issue 16's targets): a ringpipe named-pipe connection,
//! in each of its forms, against a raw `std::os::unix::net::UnixStream` and against the
//! `interprocess` crate's local socket streams, in the same run.
//!
//! ```sh
//! cargo run --profile lto --example ipc_bench                      # ~35 s (--pin free: ~100 s)
//! cargo run --profile lto --example ipc_bench -- --quick           # ~10 s (--pin free: ~20 s)
//! cargo run --profile lto --features tokio --example ipc_bench     # also the async rows (with --variants: ~2 min)
//! cargo run --profile lto --example ipc_bench -- --variants        # also other transport options
//! cargo run --profile lto --example ipc_bench -- --pin free        # or --pin same (default: split)
//! cargo run --profile lto --example ipc_bench -- --only stream|rtt|wait [--mib N] [--reps N] [--trips N]
//! strace -f -c target/lto/examples/ipc_bench --one duplex --size 1K --mib 64   # one run
//! target/lto/examples/ipc_bench --one UnixStream --size rtt --trips 20000
//! ```
//!
//! **Processes.** This process is the server; for every run it binds a fresh socket path (in a
//! private directory under `$TMPDIR`), then starts itself again as the client (`--child ...`,
//! the role and the implementation on the command line), accepts the one connection, serves it
//! and reads the client's figures from its standard output. `--pin` places the processes:
//! `split` (the default) pins the server process to CPU 0 and the client process to CPU 1 (each
//! process's threads, the transport's too, share its CPU), as the other benchmarks give the
//! producer and the consumer a core each; `free` pins nothing (every thread goes where the
//! scheduler puts it); `same` pins both to CPU 0. Unpinned on the quiet 2-vCPU VM, a round trip
//! of any implementation takes 35-55 µs instead of 3.5 (the scheduler's placement and the VM's
//! wake-up of an idle vCPU; see benches/README.md, "Named pipes between processes"), so the
//! default is pinned.
//!
//! **Implementations** (the same workload code for every byte-stream one, generic over
//! `Read + Write`):
//! * `UnixStream` (the baseline): std's `UnixListener`/`UnixStream`, `write_all` and `read`.
//! * `interprocess`: `interprocess::local_socket` (2.x) with a filesystem path name
//!   (`GenericFilePath`), `ListenerOptions::create_sync` and `Stream::connect`, `write_all` and
//!   `read` on its `Stream`.
//! * `NamedPipeStream`: ringpipe's `NamedPipeServer::bind(PipeName::path(..))` and
//!   `NamedPipeClient::connect`, the connection used with `Read`/`Write` directly.
//! * `duplex`: the same connection as a ringpipe duplex end on both sides
//!   (`into_duplex(TransportOptions::new())`: two transport threads per process): the client
//!   writes each message with `PipeWriter::write_all_blocking` (a copy into the pipe and a
//!   flush), the server reads with `read_blocking`, checks the bytes in pipe memory and
//!   `advance_to`s past them; the round trip's server echoes with `copy_to_blocking`.
//! * `message`: message mode both ways (`into_message_duplex(TransportOptions::new(), 64 KiB)`),
//!   each write one message (`send_blocking`), each read one whole message in pipe memory
//!   (`read_message_blocking`); 4 bytes of length prefix per message on the wire.
//! * With `--variants`, the transport options a user who cares about latency, CPU or bulk
//!   would try (on both pipes, both sides): `duplex spin-never` and `message spin-never`
//!   (`SpinWait::Never`), `duplex spin-4000` (`SpinWait::Fixed(4000)`), `duplex 256K chunks`
//!   (256 KiB chunks, a 1 MiB pause threshold, 2 MiB capacity).
//! * With `--features tokio`, on one current_thread runtime per process: `interprocess tokio`
//!   (`interprocess::local_socket::tokio`, `AsyncWriteExt::write_all` and `AsyncReadExt::read`)
//!   and `async duplex` (ringpipe's `into_async_duplex`: the `SocketTransport` a task beside
//!   the application's; `write_all(..).await`, `read().await` and `advance_to`).
//!
//! **Streaming.** The client sends `--mib` MiB (default 512, `--quick` 128) in writes of 1 KiB
//! and of 64 KiB, each a slice of a fixed table at the stream position (no copy before the
//! socket or the pipe); the server reads into a 64 KiB buffer (or the pipe), compares every
//! byte with the table at its stream position (`memcmp`), and after the last byte writes a
//! one-byte acknowledgement. Timed by the client: from just before its first write to the
//! acknowledgement's arrival. GB/s is the payload over that time (message mode's prefixes
//! are not counted). Also from both processes' `getrusage`: CPU time (user + system, every
//! thread), voluntary context switches (a thread blocking: a socket read or a pipe wait that
//! parks) and involuntary ones (a thread preempted), summed over the two processes.
//!
//! **Round trip.** The client writes 64 bytes and waits for the server's echo of them, `--trips`
//! times (default 20,000, `--quick` 5,000) after 2,000 untimed trips of warm-up, timing each
//! trip; p50, p99 and mean per run. CPU time and context switches per trip as above (the
//! client's over the timed trips, the server's over all).
//!
//! **Repetitions.** Every cell runs every implementation `--reps` times (default 9, `--quick`
//! 5), interleaved repetition by repetition in alternating order, after one untimed run of each.
//! Reported: the medians over the repetitions, and the ratios of the medians ÷ `UnixStream` and
//! ÷ `interprocess` (the async rows ÷ `interprocess tokio`) with the range of the paired ratios
//! (repetition by repetition). Ratios are
//! of rates (GB/s, round trips per second): above 1 is faster than the peer. How busy other
//! processes kept the machine meanwhile (/proc/stat) is printed with each table.
//!
//! **Connect-wait CPU.** A client waits 1 s for a server that does not exist:
//! `NamedPipeClient::connect_timeout` at a path in an existing directory (the inotify wait), in
//! a directory that does not exist yet, and at an abstract name (both retry at 1-50 ms
//! intervals); and `interprocess`'s `ConnectOptions::wait_mode(ConnectWaitMode::Timeout(1 s))`
//! for comparison. Each in a fresh child process (3 times, 1 with `--quick`; the median); its
//! CPU time (`getrusage`) over the call, as a share of one core over the call's wall time.
//!
//! The report is printed and written to `target/ringpipe-bench/ipc_bench.md`.

#[path = "../benches/common/mod.rs"]
mod common;
mod net_bench;

use common::{cpu_model, fmt_ns, kernel_release, ncpus, pcts};
use interprocess::local_socket::{
    prelude::*, ConnectOptions, GenericFilePath, ListenerOptions, Stream as IpStream,
};
use interprocess::ConnectWaitMode;
use net_bench::{fmt_ratio, interleaved, loadavg, now_utc, others_during, pattern, ratio, stat};
use ringpipe::{
    DuplexEnd, MessageReader, MessageWriter, NamedPipeClient, NamedPipeServer, NamedPipeStream,
    PipeName, PipeOptions, SpinWait, TransportOptions, TRANSPORT_CHUNK_SIZE,
    TRANSPORT_PAUSE_THRESHOLD,
};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The stream's bytes

/// The largest message, and the server's read buffer.
const MSG_MAX: usize = 64 << 10;
/// The streaming cells' message sizes.
const SIZES: [usize; 2] = [1 << 10, 64 << 10];
/// The round trip's message.
const PING: usize = 64;
/// Untimed round trips before the timed ones.
const WARMUP_TRIPS: usize = 2_000;
/// The acknowledgement's byte.
const ACK: u8 = 0xA5;

/// Checks `got` against the pattern at stream position `at` (one `memcmp`).
fn check(got: &[u8], at: u64) {
    if got != pattern(at, got.len()) {
        let want = pattern(at, got.len());
        let i = (0..got.len()).find(|&i| got[i] != want[i]).unwrap_or(0);
        panic!("wrong byte at stream position {}", at + i as u64);
    }
}

/// Checks every chunk of `data`, the bytes from stream position `at`; returns the position
/// after them.
fn check_seq(data: &ringpipe::Sequence<'_>, mut at: u64) -> u64 {
    for chunk in data.chunks() {
        check(chunk, at);
        at += chunk.len() as u64;
    }
    at
}

// ---------------------------------------------------------------------------------------------
// The implementations

/// The transport's options: the defaults, or the defaults with one thing changed (on both
/// pipes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tune {
    /// `TransportOptions::new()`: 64 KiB chunks, a 256 KiB pause threshold, the pipe's
    /// default `SpinWait` (adaptive, up to 20 µs).
    Default,
    /// Another `SpinWait`.
    Spin(SpinWait),
    /// Chunks of this size, the pause threshold four of them, the capacity eight.
    Chunk(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Raw,
    Interprocess,
    Named,
    Duplex(Tune),
    Message(Tune),
    #[cfg(feature = "tokio")]
    InterprocessTokio,
    #[cfg(feature = "tokio")]
    AsyncDuplex(Tune),
}

#[derive(Clone, Copy, Debug)]
struct Impl {
    name: &'static str,
    kind: Kind,
}

/// The baseline's index in [`impls`].
const RAW: usize = 0;
/// The peer's index in [`impls`].
const PEER: usize = 1;

/// Every implementation measured: the two references first, then ringpipe's forms; with
/// `variants`, the other transport options too.
fn impls(variants: bool) -> Vec<Impl> {
    let mut v = vec![
        Impl {
            name: "UnixStream",
            kind: Kind::Raw,
        },
        Impl {
            name: "interprocess",
            kind: Kind::Interprocess,
        },
        Impl {
            name: "NamedPipeStream",
            kind: Kind::Named,
        },
        Impl {
            name: "duplex",
            kind: Kind::Duplex(Tune::Default),
        },
        Impl {
            name: "message",
            kind: Kind::Message(Tune::Default),
        },
    ];
    if variants {
        v.extend([
            Impl {
                name: "duplex spin-never",
                kind: Kind::Duplex(Tune::Spin(SpinWait::Never)),
            },
            Impl {
                name: "duplex spin-4000",
                kind: Kind::Duplex(Tune::Spin(SpinWait::Fixed(4000))),
            },
            Impl {
                name: "message spin-never",
                kind: Kind::Message(Tune::Spin(SpinWait::Never)),
            },
            Impl {
                name: "duplex 256K chunks",
                kind: Kind::Duplex(Tune::Chunk(256 << 10)),
            },
        ]);
    }
    #[cfg(feature = "tokio")]
    v.extend([
        Impl {
            name: "interprocess tokio",
            kind: Kind::InterprocessTokio,
        },
        Impl {
            name: "async duplex",
            kind: Kind::AsyncDuplex(Tune::Default),
        },
    ]);
    v
}

impl Impl {
    /// Whether this is one of ringpipe's forms (not a reference).
    fn ours(&self) -> bool {
        match self.kind {
            Kind::Raw | Kind::Interprocess => false,
            #[cfg(feature = "tokio")]
            Kind::InterprocessTokio => false,
            _ => true,
        }
    }
}

/// The `interprocess` row an implementation is compared with: its tokio API for the async
/// rows, its sync API for the others.
fn peer_of(impls: &[Impl], i: usize) -> usize {
    #[cfg(feature = "tokio")]
    if matches!(
        impls[i].kind,
        Kind::AsyncDuplex(_) | Kind::InterprocessTokio
    ) {
        return impls
            .iter()
            .position(|imp| imp.kind == Kind::InterprocessTokio)
            .expect("the tokio peer is measured");
    }
    let _ = (impls, i);
    PEER
}

fn find_impl(name: &str) -> Impl {
    impls(true)
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no implementation named {name:?}"))
}

/// The transport's options for `tune`.
fn transport_options(tune: Tune) -> TransportOptions {
    let (spin, chunk) = match tune {
        Tune::Default => return TransportOptions::new(),
        Tune::Spin(s) => (s, TRANSPORT_CHUNK_SIZE),
        Tune::Chunk(c) => (ringpipe::DEFAULT_SPIN_WAIT, c),
    };
    let pipe = PipeOptions::builder()
        .capacity((8 * chunk).max(ringpipe::DEFAULT_CAPACITY))
        .chunk_size(chunk)
        .pause_writer_threshold(if chunk == TRANSPORT_CHUNK_SIZE {
            TRANSPORT_PAUSE_THRESHOLD
        } else {
            4 * chunk
        })
        .spin_wait(spin)
        .build()
        .expect("valid pipe options");
    TransportOptions::new().receive(pipe.clone()).send(pipe)
}

fn ip_name(path: &Path) -> interprocess::local_socket::Name<'static> {
    path.to_path_buf()
        .to_fs_name::<GenericFilePath>()
        .expect("a filesystem local socket name")
}

// ---------------------------------------------------------------------------------------------
// The workloads over Read + Write (UnixStream, interprocess, NamedPipeStream)

/// Reads `total` bytes, checking each, then acknowledges and waits for the client's close.
fn serve_stream_rw<S: Read + Write>(mut s: S, total: u64) {
    let mut buf = vec![0u8; MSG_MAX];
    let mut at = 0u64;
    while at < total {
        let n = s.read(&mut buf).expect("server read");
        assert!(n > 0, "the client closed after {at} of {total} bytes");
        check(&buf[..n], at);
        at += n as u64;
    }
    s.write_all(&[ACK]).expect("server ack");
    assert_eq!(s.read(&mut buf).expect("server read at the end"), 0);
}

/// Writes `total` bytes in writes of `size`, then waits for the acknowledgement; returns the
/// time from the first write to the acknowledgement.
fn client_stream_rw<S: Read + Write>(mut s: S, size: usize, total: u64) -> Duration {
    let start = Instant::now();
    let mut at = 0u64;
    while at < total {
        s.write_all(pattern(at, size)).expect("client write");
        at += size as u64;
    }
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).expect("client reads the ack");
    let t = start.elapsed();
    assert_eq!(ack[0], ACK);
    t
}

/// Echoes what arrives until the client closes.
fn serve_rtt_rw<S: Read + Write>(mut s: S) {
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("server read");
        if n == 0 {
            return;
        }
        s.write_all(&buf[..n]).expect("server echo");
    }
}

/// The clock of a round-trip client: `warmup` untimed trips of `PING` bytes, then `trips`
/// timed ones (the sync and the async clients alike).
struct TripClock {
    warmup: usize,
    lat: Vec<u64>,
    t: Instant,
}

impl TripClock {
    fn new(warmup: usize, trips: usize) -> TripClock {
        TripClock {
            warmup,
            lat: Vec::with_capacity(trips),
            t: Instant::now(),
        }
    }

    /// Trip `i` begins: its message. `usage` is taken when the timed trips start.
    fn begin(&mut self, i: usize, usage: &mut Usage) -> &'static [u8] {
        if i == self.warmup {
            *usage = Usage::now();
        }
        let msg = pattern((i * PING) as u64, PING);
        self.t = Instant::now();
        msg
    }

    /// Trip `i` brought `back` as the echo of `msg`.
    fn end(&mut self, i: usize, msg: &[u8], back: &[u8]) {
        let ns = self.t.elapsed().as_nanos() as u64;
        assert_eq!(back, msg, "echo of trip {i}");
        if i >= self.warmup {
            self.lat.push(ns);
        }
    }
}

/// `warmup` then `trips` round trips, each through `trip` (which sends the message and fills
/// in the echo); the timed trips' nanoseconds.
fn time_trips(
    warmup: usize,
    trips: usize,
    usage: &mut Usage,
    mut trip: impl FnMut(&[u8], &mut [u8; PING]),
) -> Vec<u64> {
    let mut clock = TripClock::new(warmup, trips);
    let mut back = [0u8; PING];
    for i in 0..warmup + trips {
        let msg = clock.begin(i, usage);
        trip(msg, &mut back);
        clock.end(i, msg, &back);
    }
    clock.lat
}

fn client_rtt_rw<S: Read + Write>(
    mut s: S,
    warmup: usize,
    trips: usize,
    usage: &mut Usage,
) -> Vec<u64> {
    time_trips(warmup, trips, usage, |msg, back| {
        s.write_all(msg).expect("client write");
        s.read_exact(back).expect("client read");
    })
}

// ---------------------------------------------------------------------------------------------
// The workloads over a duplex end (the blocking transport)

fn serve_stream_duplex(end: DuplexEnd, total: u64) {
    let (mut input, mut output) = end.into_parts();
    let mut at = 0u64;
    while at < total {
        let res = input.read_blocking().expect("server read");
        let data = res.buffer();
        at = check_seq(&data, at);
        let (end, done) = (data.end(), res.is_completed());
        input.advance_to(end, end).expect("advance");
        assert!(!done || at >= total, "the client closed after {at} bytes");
    }
    output.write_all_blocking(&[ACK]).expect("server ack");
    output.complete();
    // The client's end of stream.
    loop {
        let res = input.read_blocking().expect("server read at the end");
        let (len, end, done) = (res.buffer().len(), res.buffer().end(), res.is_completed());
        assert_eq!(len, 0, "bytes after the stream");
        input.advance_to(end, end).expect("advance");
        if done {
            return;
        }
    }
}

fn client_stream_duplex(end: DuplexEnd, size: usize, total: u64) -> Duration {
    let (mut input, mut output) = end.into_parts();
    let start = Instant::now();
    let mut at = 0u64;
    while at < total {
        output
            .write_all_blocking(pattern(at, size))
            .expect("client write");
        at += size as u64;
    }
    let res = input.read_blocking().expect("client reads the ack");
    let t = start.elapsed();
    assert_eq!(res.buffer().first_chunk().first(), Some(&ACK));
    let end = res.buffer().end();
    input.advance_to(end, end).expect("advance");
    output.complete();
    t
}

fn serve_rtt_duplex(end: DuplexEnd) {
    let (mut input, mut output) = end.into_parts();
    ringpipe::copy_to_blocking(&mut input, &mut output).expect("server echo");
    output.complete();
}

fn client_rtt_duplex(end: DuplexEnd, warmup: usize, trips: usize, usage: &mut Usage) -> Vec<u64> {
    let (mut input, mut output) = end.into_parts();
    let lat = time_trips(warmup, trips, usage, |msg, back| {
        output.write_all_blocking(msg).expect("client write");
        let res = input.read_at_least_blocking(PING).expect("client read");
        let data = res.buffer();
        assert_eq!(data.len(), PING, "an echo of {PING} bytes");
        data.copy_to_slice(back);
        let end = data.end();
        input.advance_to(end, end).expect("advance");
    });
    output.complete();
    lat
}

// ---------------------------------------------------------------------------------------------
// The workloads in message mode

fn serve_stream_message(mut reader: MessageReader, mut writer: MessageWriter, total: u64) {
    let mut at = 0u64;
    while at < total {
        let n = reader
            .read_message_blocking(|m| {
                check_seq(&m, at);
                m.len()
            })
            .expect("server read")
            .expect("a message, not the end of the stream");
        at += n as u64;
    }
    writer.send_blocking(&[ACK]).expect("server ack");
    writer.get_mut().complete();
    let end = reader.read_message_blocking(|m| m.len()).expect("the end");
    assert_eq!(end, None, "a message after the stream");
}

fn client_stream_message(
    mut reader: MessageReader,
    mut writer: MessageWriter,
    size: usize,
    total: u64,
) -> Duration {
    let start = Instant::now();
    let mut at = 0u64;
    while at < total {
        writer
            .send_blocking(pattern(at, size))
            .expect("client send");
        at += size as u64;
    }
    let ack = reader
        .read_message_blocking(|m| m.to_vec())
        .expect("client reads the ack");
    let t = start.elapsed();
    assert_eq!(ack.as_deref(), Some(&[ACK][..]));
    writer.get_mut().complete();
    t
}

fn serve_rtt_message(mut reader: MessageReader, mut writer: MessageWriter) {
    let mut buf = [0u8; PING];
    while let Some(n) = reader
        .read_message_blocking(|m| {
            m.copy_to_slice(&mut buf[..m.len()]);
            m.len()
        })
        .expect("server read")
    {
        writer.send_blocking(&buf[..n]).expect("server echo");
    }
    writer.get_mut().complete();
}

fn client_rtt_message(
    mut reader: MessageReader,
    mut writer: MessageWriter,
    warmup: usize,
    trips: usize,
    usage: &mut Usage,
) -> Vec<u64> {
    let lat = time_trips(warmup, trips, usage, |msg, back| {
        writer.send_blocking(msg).expect("client send");
        let n = reader
            .read_message_blocking(|m| {
                let n = m.len().min(PING);
                m.copy_to_slice(&mut back[..n]);
                m.len()
            })
            .expect("client read");
        assert_eq!(n, Some(PING), "an echo of {PING} bytes");
    });
    writer.get_mut().complete();
    lat
}

// ---------------------------------------------------------------------------------------------
// The async workloads (feature `tokio`), on a current_thread runtime per process

#[cfg(feature = "tokio")]
mod asynch {
    use super::*;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    pub fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current_thread runtime")
    }

    pub async fn serve_stream_rw<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, total: u64) {
        let mut buf = vec![0u8; MSG_MAX];
        let mut at = 0u64;
        while at < total {
            let n = s.read(&mut buf).await.expect("server read");
            assert!(n > 0, "the client closed after {at} of {total} bytes");
            check(&buf[..n], at);
            at += n as u64;
        }
        s.write_all(&[ACK]).await.expect("server ack");
        assert_eq!(s.read(&mut buf).await.expect("server read at the end"), 0);
    }

    pub async fn client_stream_rw<S: AsyncRead + AsyncWrite + Unpin>(
        mut s: S,
        size: usize,
        total: u64,
    ) -> Duration {
        let start = Instant::now();
        let mut at = 0u64;
        while at < total {
            s.write_all(pattern(at, size)).await.expect("client write");
            at += size as u64;
        }
        let mut ack = [0u8; 1];
        s.read_exact(&mut ack).await.expect("client reads the ack");
        let t = start.elapsed();
        assert_eq!(ack[0], ACK);
        t
    }

    pub async fn serve_rtt_rw<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.expect("server read");
            if n == 0 {
                return;
            }
            s.write_all(&buf[..n]).await.expect("server echo");
        }
    }

    pub async fn client_rtt_rw<S: AsyncRead + AsyncWrite + Unpin>(
        mut s: S,
        warmup: usize,
        trips: usize,
        usage: &mut Usage,
    ) -> Vec<u64> {
        let mut clock = TripClock::new(warmup, trips);
        let mut back = [0u8; PING];
        for i in 0..warmup + trips {
            let msg = clock.begin(i, usage);
            s.write_all(msg).await.expect("client write");
            s.read_exact(&mut back).await.expect("client read");
            clock.end(i, msg, &back);
        }
        clock.lat
    }

    /// The connection as an async duplex end, its transport spawned on this runtime.
    fn duplex(
        conn: NamedPipeStream,
        tune: Tune,
    ) -> (
        DuplexEnd,
        tokio::task::JoinHandle<std::io::Result<ringpipe::TransportStats>>,
    ) {
        let (end, transport) = conn
            .into_async_duplex(transport_options(tune))
            .expect("into_async_duplex");
        (end, tokio::spawn(transport))
    }

    pub async fn serve_stream_duplex(conn: NamedPipeStream, tune: Tune, total: u64) {
        let (end, transport) = duplex(conn, tune);
        let (mut input, mut output) = end.into_parts();
        let mut at = 0u64;
        while at < total {
            let res = input.read().await.expect("server read");
            let data = res.buffer();
            at = check_seq(&data, at);
            let (end, done) = (data.end(), res.is_completed());
            input.advance_to(end, end).expect("advance");
            assert!(!done || at >= total, "the client closed after {at} bytes");
        }
        output.write_all(&[ACK]).await.expect("server ack");
        output.complete();
        loop {
            let res = input.read().await.expect("server read at the end");
            let (len, end, done) = (res.buffer().len(), res.buffer().end(), res.is_completed());
            assert_eq!(len, 0, "bytes after the stream");
            input.advance_to(end, end).expect("advance");
            if done {
                break;
            }
        }
        drop((input, output));
        transport.await.expect("transport task").expect("transport");
    }

    pub async fn client_stream_duplex(
        conn: NamedPipeStream,
        tune: Tune,
        size: usize,
        total: u64,
    ) -> Duration {
        let (end, transport) = duplex(conn, tune);
        let (mut input, mut output) = end.into_parts();
        let start = Instant::now();
        let mut at = 0u64;
        while at < total {
            output
                .write_all(pattern(at, size))
                .await
                .expect("client write");
            at += size as u64;
        }
        let res = input.read().await.expect("client reads the ack");
        let t = start.elapsed();
        assert_eq!(res.buffer().first_chunk().first(), Some(&ACK));
        let end = res.buffer().end();
        input.advance_to(end, end).expect("advance");
        output.complete();
        drop((input, output));
        transport.await.expect("transport task").expect("transport");
        t
    }

    pub async fn serve_rtt_duplex(conn: NamedPipeStream, tune: Tune) {
        let (end, transport) = duplex(conn, tune);
        let (mut input, mut output) = end.into_parts();
        ringpipe::copy_to(&mut input, &mut output)
            .await
            .expect("server echo");
        output.complete();
        drop((input, output));
        transport.await.expect("transport task").expect("transport");
    }

    pub async fn client_rtt_duplex(
        conn: NamedPipeStream,
        tune: Tune,
        warmup: usize,
        trips: usize,
        usage: &mut Usage,
    ) -> Vec<u64> {
        let (end, transport) = duplex(conn, tune);
        let (mut input, mut output) = end.into_parts();
        let mut clock = TripClock::new(warmup, trips);
        let mut back = [0u8; PING];
        for i in 0..warmup + trips {
            let msg = clock.begin(i, usage);
            output.write_all(msg).await.expect("client write");
            let res = input.read_at_least(PING).await.expect("client read");
            let data = res.buffer();
            assert_eq!(data.len(), PING, "an echo of {PING} bytes");
            data.copy_to_slice(&mut back);
            let end = data.end();
            input.advance_to(end, end).expect("advance");
            clock.end(i, msg, &back);
        }
        output.complete();
        drop((input, output));
        transport.await.expect("transport task").expect("transport");
        clock.lat
    }
}

// ---------------------------------------------------------------------------------------------
// CPU time and context switches

/// What `getrusage(RUSAGE_SELF)` says: every thread of the process.
#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    cpu_ns: u64,
    /// Voluntary context switches: a thread blocked (a socket read, a pipe wait that parked).
    vcsw: u64,
    /// Involuntary ones: a thread was preempted.
    ivcsw: u64,
}

impl Usage {
    fn now() -> Usage {
        // SAFETY: a zeroed rusage is a valid value; getrusage only writes it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is valid for writes for the call.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
        Usage {
            cpu_ns: tv(ru.ru_utime) + tv(ru.ru_stime),
            vcsw: ru.ru_nvcsw as u64,
            ivcsw: ru.ru_nivcsw as u64,
        }
    }

    fn since(self, start: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns - start.cpu_ns,
            vcsw: self.vcsw - start.vcsw,
            ivcsw: self.ivcsw - start.ivcsw,
        }
    }

    fn plus(self, o: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns + o.cpu_ns,
            vcsw: self.vcsw + o.vcsw,
            ivcsw: self.ivcsw + o.ivcsw,
        }
    }

    fn fields(self) -> String {
        format!("{} {} {}", self.cpu_ns, self.vcsw, self.ivcsw)
    }

    fn parse(f: &[&str]) -> Usage {
        let n = |i: usize| f[i].parse::<u64>().expect("a usage figure");
        Usage {
            cpu_ns: n(0),
            vcsw: n(1),
            ivcsw: n(2),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client process

/// What the client is asked to do.
#[derive(Clone, Copy, Debug)]
enum Work {
    /// `total` bytes in writes of `size`.
    Stream { size: usize, total: u64 },
    /// `trips` timed round trips after the warm-up.
    Rtt { trips: usize },
}

impl Work {
    fn args(self) -> Vec<String> {
        match self {
            Work::Stream { size, total } => {
                vec!["stream".into(), size.to_string(), total.to_string()]
            }
            Work::Rtt { trips } => vec!["rtt".into(), trips.to_string()],
        }
    }

    fn parse(a: &[String]) -> Work {
        match a[0].as_str() {
            "stream" => Work::Stream {
                size: a[1].parse().expect("size"),
                total: a[2].parse().expect("total"),
            },
            "rtt" => Work::Rtt {
                trips: a[1].parse().expect("trips"),
            },
            w => panic!("unknown work {w}"),
        }
    }
}

/// The client's side of one run: `--child run IMPL PATH WORK...`. Prints `@stream NS USAGE` or
/// `@rtt P50 P99 MEAN USAGE`.
fn child_run(imp: Impl, path: &Path, work: Work) {
    let named =
        || NamedPipeClient::connect(PipeName::path(path), &Default::default()).expect("connect");
    let mut usage = Usage::default();
    // Streaming: the time; the round trip: the latencies (`finish` printed the figures).
    let _: Result<Duration, Vec<u64>> = match (imp.kind, work) {
        (Kind::Raw, w) => {
            let s = UnixStream::connect(path).expect("connect");
            rw_client(s, w, &mut usage)
        }
        (Kind::Interprocess, w) => {
            let s = IpStream::connect(ip_name(path)).expect("connect");
            rw_client(s, w, &mut usage)
        }
        (Kind::Named, w) => rw_client(named(), w, &mut usage),
        (Kind::Duplex(tune), w) => {
            let (end, transport) = named()
                .into_duplex(transport_options(tune))
                .expect("into_duplex");
            let out = match w {
                Work::Stream { size, total } => {
                    usage = Usage::now();
                    Ok(client_stream_duplex(end, size, total))
                }
                Work::Rtt { trips } => Err(client_rtt_duplex(end, WARMUP_TRIPS, trips, &mut usage)),
            };
            let end_usage = Usage::now();
            transport.join().expect("transport");
            finish(out, end_usage, usage)
        }
        (Kind::Message(tune), w) => {
            let (reader, writer, transport) = named()
                .into_message_duplex(transport_options(tune), MSG_MAX)
                .expect("into_message_duplex");
            let out = match w {
                Work::Stream { size, total } => {
                    usage = Usage::now();
                    Ok(client_stream_message(reader, writer, size, total))
                }
                Work::Rtt { trips } => Err(client_rtt_message(
                    reader,
                    writer,
                    WARMUP_TRIPS,
                    trips,
                    &mut usage,
                )),
            };
            let end_usage = Usage::now();
            transport.join().expect("transport");
            finish(out, end_usage, usage)
        }
        #[cfg(feature = "tokio")]
        (Kind::InterprocessTokio, w) => asynch::runtime().block_on(async {
            use interprocess::local_socket::tokio::{prelude::*, Stream};
            let s = Stream::connect(ip_name(path)).await.expect("connect");
            let out = match w {
                Work::Stream { size, total } => {
                    usage = Usage::now();
                    Ok(asynch::client_stream_rw(&s, size, total).await)
                }
                Work::Rtt { trips } => {
                    Err(asynch::client_rtt_rw(&s, WARMUP_TRIPS, trips, &mut usage).await)
                }
            };
            finish(out, Usage::now(), usage)
        }),
        #[cfg(feature = "tokio")]
        (Kind::AsyncDuplex(tune), w) => {
            let conn = named();
            asynch::runtime().block_on(async {
                let out = match w {
                    Work::Stream { size, total } => {
                        usage = Usage::now();
                        Ok(asynch::client_stream_duplex(conn, tune, size, total).await)
                    }
                    Work::Rtt { trips } => {
                        Err(
                            asynch::client_rtt_duplex(conn, tune, WARMUP_TRIPS, trips, &mut usage)
                                .await,
                        )
                    }
                };
                finish(out, Usage::now(), usage)
            })
        }
    };
}

/// A byte-stream client's run: prints its line.
fn rw_client<S: Read + Write>(s: S, w: Work, usage: &mut Usage) -> Result<Duration, Vec<u64>> {
    let out = match w {
        Work::Stream { size, total } => {
            *usage = Usage::now();
            Ok(client_stream_rw(s, size, total))
        }
        Work::Rtt { trips } => Err(client_rtt_rw(s, WARMUP_TRIPS, trips, usage)),
    };
    finish(out, Usage::now(), *usage)
}

/// Prints the client's line for `out`, measured from `start` to `end`.
fn finish(out: Result<Duration, Vec<u64>>, end: Usage, start: Usage) -> Result<Duration, Vec<u64>> {
    let used = end.since(start);
    match &out {
        Ok(t) => println!("@stream {} {}", t.as_nanos(), used.fields()),
        Err(lat) => {
            let p = pcts(&mut lat.clone());
            println!("@rtt {} {} {} {}", p.p50, p.p99, p.mean, used.fields());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The server process: one run

/// What one run measured.
#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    /// Streaming: the client's time; the round trip: unused.
    secs: f64,
    /// The round trip's p50, p99 and mean (ns).
    p50: f64,
    p99: f64,
    mean: f64,
    client: Usage,
    server: Usage,
}

/// A private directory for this process's socket paths.
fn socket_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ringpipe-ipc-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the socket directory");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .expect("the socket directory's mode");
        dir
    })
}

/// A fresh socket path.
fn fresh_path() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    socket_dir().join(format!("s{}", N.fetch_add(1, Ordering::Relaxed)))
}

/// Where the two processes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Not pinned: the scheduler places every thread.
    Free,
    /// The server process on CPU 0, the client process on CPU 1 (every thread of a process on
    /// its process's CPU).
    Split,
    /// Both processes on CPU 0.
    Same,
}

impl Placement {
    fn parse(s: &str) -> Placement {
        match s {
            "free" => Placement::Free,
            "split" => Placement::Split,
            "same" => Placement::Same,
            _ => panic!("--pin free|split|same, not {s}"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Placement::Free => "not pinned",
            Placement::Split => "server process on CPU 0, client process on CPU 1",
            Placement::Same => "both processes on CPU 0",
        }
    }

    /// The server's and the client's CPU.
    fn cores(self) -> Option<(usize, usize)> {
        match self {
            Placement::Free => None,
            Placement::Split => Some((0, 1)),
            Placement::Same => Some((0, 0)),
        }
    }
}

/// The environment variable that tells a child which CPU to pin itself to.
const CORE_VAR: &str = "RINGPIPE_IPC_BENCH_CORE";
/// The client's CPU (`usize::MAX`: not pinned).
static CLIENT_CORE: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Starts this program as a child with `args` after `--child`, its stdout piped (pinned as the
/// placement says).
fn spawn_child(args: &[String]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("this program's path"));
    cmd.arg("--child")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match CLIENT_CORE.load(Ordering::Relaxed) {
        usize::MAX => cmd.env_remove(CORE_VAR),
        core => cmd.env(CORE_VAR, core.to_string()),
    };
    cmd.spawn().expect("spawning the client")
}

/// The child's `@` line, after it exited successfully.
fn child_line(mut child: Child) -> Vec<String> {
    let out = child.stdout.take().expect("piped stdout");
    let mut line = None;
    for l in BufReader::new(out).lines() {
        let l = l.expect("the child's output");
        if let Some(rest) = l.strip_prefix('@') {
            line = Some(rest.split_whitespace().map(str::to_owned).collect());
        }
    }
    let status = child.wait().expect("waiting for the client");
    assert!(status.success(), "the client failed: {status}");
    line.expect("the client's figures")
}

/// One run of `imp` doing `work`: binds a fresh path, starts the client, serves it.
fn run(imp: Impl, work: Work) -> Outcome {
    let path = fresh_path();
    let mut args = vec![
        "run".to_string(),
        imp.name.to_string(),
        path.to_string_lossy().into_owned(),
    ];
    args.extend(work.args());
    let (child, server) = match imp.kind {
        Kind::Raw => {
            let listener = UnixListener::bind(&path).expect("bind");
            let child = spawn_child(&args);
            let (s, _) = listener.accept().expect("accept");
            let u = serve_measured(|| rw_server(s, work));
            (child, u)
        }
        Kind::Interprocess => {
            let listener = ListenerOptions::new()
                .name(ip_name(&path))
                .create_sync()
                .expect("bind");
            let child = spawn_child(&args);
            let s = listener.accept().expect("accept");
            let u = serve_measured(|| rw_server(s, work));
            (child, u)
        }
        Kind::Named | Kind::Duplex(_) | Kind::Message(_) => {
            let server =
                NamedPipeServer::bind(PipeName::path(&path), Default::default()).expect("bind");
            let child = spawn_child(&args);
            let conn = server.wait_for_connection().expect("accept");
            let u = serve_measured(|| named_server(imp.kind, conn, work));
            (child, u)
        }
        #[cfg(feature = "tokio")]
        Kind::InterprocessTokio => asynch::runtime().block_on(async {
            use interprocess::local_socket::tokio::prelude::*;
            let listener = ListenerOptions::new()
                .name(ip_name(&path))
                .create_tokio()
                .expect("bind");
            let child = spawn_child(&args);
            let s = listener.accept().await.expect("accept");
            let start = Usage::now();
            match work {
                Work::Stream { total, .. } => asynch::serve_stream_rw(&s, total).await,
                Work::Rtt { .. } => asynch::serve_rtt_rw(&s).await,
            }
            (child, Usage::now().since(start))
        }),
        #[cfg(feature = "tokio")]
        Kind::AsyncDuplex(tune) => {
            let server =
                NamedPipeServer::bind(PipeName::path(&path), Default::default()).expect("bind");
            let child = spawn_child(&args);
            let conn = server.wait_for_connection().expect("accept");
            let u = serve_measured(|| {
                asynch::runtime().block_on(async {
                    match work {
                        Work::Stream { total, .. } => {
                            asynch::serve_stream_duplex(conn, tune, total).await
                        }
                        Work::Rtt { .. } => asynch::serve_rtt_duplex(conn, tune).await,
                    }
                })
            });
            (child, u)
        }
    };
    let f = child_line(child);
    // std's listener leaves its file; the others removed theirs.
    let _ = std::fs::remove_file(&path);
    let fs: Vec<&str> = f.iter().map(String::as_str).collect();
    match fs[0] {
        "stream" => Outcome {
            secs: fs[1].parse::<f64>().expect("ns") / 1e9,
            client: Usage::parse(&fs[2..]),
            server,
            ..Outcome::default()
        },
        "rtt" => Outcome {
            p50: fs[1].parse().expect("p50"),
            p99: fs[2].parse().expect("p99"),
            mean: fs[3].parse().expect("mean"),
            client: Usage::parse(&fs[4..]),
            server,
            ..Outcome::default()
        },
        l => panic!("unexpected client line {l}"),
    }
}

/// Runs `serve`; the process's usage meanwhile.
fn serve_measured(serve: impl FnOnce()) -> Usage {
    let start = Usage::now();
    serve();
    Usage::now().since(start)
}

fn rw_server<S: Read + Write>(s: S, work: Work) {
    match work {
        Work::Stream { total, .. } => serve_stream_rw(s, total),
        Work::Rtt { .. } => serve_rtt_rw(s),
    }
}

fn named_server(kind: Kind, conn: NamedPipeStream, work: Work) {
    match kind {
        Kind::Named => rw_server(conn, work),
        Kind::Duplex(tune) => {
            let (end, transport) = conn
                .into_duplex(transport_options(tune))
                .expect("into_duplex");
            match work {
                Work::Stream { total, .. } => serve_stream_duplex(end, total),
                Work::Rtt { .. } => serve_rtt_duplex(end),
            }
            transport.join().expect("transport");
        }
        Kind::Message(tune) => {
            let (reader, writer, transport) = conn
                .into_message_duplex(transport_options(tune), MSG_MAX)
                .expect("into_message_duplex");
            match work {
                Work::Stream { total, .. } => serve_stream_message(reader, writer, total),
                Work::Rtt { .. } => serve_rtt_message(reader, writer),
            }
            transport.join().expect("transport");
        }
        k => unreachable!("{k:?} is not served here"),
    }
}

// ---------------------------------------------------------------------------------------------
// Connect-wait CPU

/// The waits measured: (label, role argument).
const WAITS: [(&str, &str); 4] = [
    (
        "ringpipe `connect_timeout`, path in an existing directory (inotify)",
        "ringpipe-dir",
    ),
    (
        "ringpipe `connect_timeout`, the directory does not exist (retries)",
        "ringpipe-nodir",
    ),
    (
        "ringpipe `connect_timeout`, abstract name (retries)",
        "ringpipe-abstract",
    ),
    (
        "interprocess `ConnectWaitMode::Timeout(1 s)`, path",
        "interprocess",
    ),
];

/// The client's side: `--child wait ROLE PATH`. Prints `@wait WALL_NS CPU_NS ERROR_KIND`.
fn child_wait(role: &str, path: &Path) {
    let timeout = Duration::from_secs(1);
    let start = Usage::now();
    let t = Instant::now();
    let err = match role {
        "ringpipe-dir" => {
            NamedPipeClient::connect_timeout(PipeName::path(path), &Default::default(), timeout)
                .map(drop)
        }
        "ringpipe-nodir" => NamedPipeClient::connect_timeout(
            PipeName::path(path.join("not-yet").join("s")),
            &Default::default(),
            timeout,
        )
        .map(drop),
        "ringpipe-abstract" => NamedPipeClient::connect_timeout(
            PipeName::abstract_name(path.as_os_str().as_encoded_bytes()),
            &Default::default(),
            timeout,
        )
        .map(drop),
        "interprocess" => ConnectOptions::new()
            .name(ip_name(path))
            .wait_mode(ConnectWaitMode::Timeout(timeout))
            .connect_sync()
            .map(drop),
        r => panic!("unknown wait {r}"),
    }
    .expect_err("no server: the connection must fail");
    let wall = t.elapsed();
    let used = Usage::now().since(start);
    println!("@wait {} {} {:?}", wall.as_nanos(), used.cpu_ns, err.kind());
}

// ---------------------------------------------------------------------------------------------
// The report

struct Opts {
    quick: bool,
    mib: u64,
    reps: usize,
    trips: usize,
    waits: usize,
    variants: bool,
    pin: Placement,
    only: Option<String>,
    /// `--one NAME`: one run of that implementation (under strace or perf, say).
    one: Option<String>,
    /// `--size N` for `--one` (default 64 KiB; 64 with `rtt`, `--one` then times round trips).
    size: usize,
    args: Vec<String>,
}

fn parse(args: Vec<String>) -> Opts {
    let mut o = Opts {
        quick: false,
        mib: 512,
        reps: 9,
        trips: 20_000,
        waits: 3,
        variants: false,
        pin: Placement::Split,
        only: None,
        one: None,
        size: MSG_MAX,
        args: args.clone(),
    };
    let (mut mib, mut reps, mut trips) = (None, None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--quick" => {
                o.quick = true;
                o.mib = 128;
                o.reps = 5;
                o.trips = 5_000;
                o.waits = 1;
            }
            "--mib" => mib = Some(value().parse().expect("--mib N")),
            "--reps" => reps = Some(value().parse().expect("--reps N")),
            "--trips" => trips = Some(value().parse().expect("--trips N")),
            "--variants" => o.variants = true,
            "--pin" => o.pin = Placement::parse(&value()),
            "--one" => o.one = Some(value()),
            "--size" => {
                let v = value();
                o.size = if v == "rtt" {
                    0
                } else {
                    common::parse_size(&v).expect("--size N|rtt") as usize
                };
                assert!(o.size <= MSG_MAX, "--size: at most 64 KiB");
            }
            "--only" => {
                let v = value();
                assert!(
                    ["stream", "rtt", "wait"].contains(&v.as_str()),
                    "--only stream|rtt|wait, not {v}"
                );
                o.only = Some(v);
            }
            _ => panic!("unknown argument {a} (see the header of examples/ipc_bench.rs)"),
        }
    }
    o.mib = mib.unwrap_or(o.mib);
    o.reps = reps.unwrap_or(o.reps);
    o.trips = trips.unwrap_or(o.trips);
    o
}

impl Opts {
    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().map_or(true, |o| o == part)
    }
}

/// The note on the `÷ interprocess` columns.
const PEER_NOTE: &str = if cfg!(feature = "tokio") {
    "; async rows ÷ interprocess tokio"
} else {
    ""
};

/// "met" (the median ratio reaches the target), "tie" (within 3% of it, and the paired range
/// reaches it) or "not met".
fn verdict((r, _lo, hi): (f64, f64, f64), target: f64) -> &'static str {
    if r >= target {
        "met"
    } else if r >= 0.97 * target && hi >= target {
        "tie (within 3%; the paired range reaches it)"
    } else {
        "**not met**"
    }
}

/// The targets' lines for the ringpipe rows of a table: `rate[i]` per repetition.
fn verdicts(what: &str, impls: &[Impl], rate: &[Vec<f64>], out: &mut String) {
    for (i, imp) in impls.iter().enumerate().filter(|(_, imp)| imp.ours()) {
        let peer = peer_of(impls, i);
        let vs_raw = ratio(&rate[i], &rate[RAW]);
        let vs_peer = ratio(&rate[i], &rate[peer]);
        let _ = writeln!(
            out,
            "- {what}, `{}`: ≥ UnixStream {} ({:.2}x); ≥ 1.3x {} {} ({:.2}x)",
            imp.name,
            verdict(vs_raw, 1.0),
            vs_raw.0,
            impls[peer].name,
            verdict(vs_peer, 1.3),
            vs_peer.0
        );
    }
}

fn streaming(o: &Opts, impls: &[Impl], md: &mut String, summary: &mut String) {
    let total = o.mib << 20;
    for size in SIZES {
        for imp in impls {
            run(
                *imp,
                Work::Stream {
                    size,
                    total: total.min(16 << 20),
                },
            );
        }
        let (runs, others) = others_during(|| {
            interleaved(impls.len(), o.reps, |i| {
                run(impls[i], Work::Stream { size, total })
            })
        });
        let gbps: Vec<Vec<f64>> = runs
            .iter()
            .map(|v| v.iter().map(|r| total as f64 / r.secs / 1e9).collect())
            .collect();
        let mut t = format!(
            "#### Streaming, {} messages ({} MiB per run; others: {others:.2} cores)\n\n\
             | implementation | GB/s | range | ÷ UnixStream (paired) | ÷ interprocess (paired){PEER_NOTE} | CPU s/GB | vol. csw/MiB | invol. csw/MiB |\n\
             |---|---|---|---|---|---|---|---|\n",
            common::human(size),
            o.mib
        );
        for (i, imp) in impls.iter().enumerate() {
            let g = stat(&gbps[i]);
            let per =
                |f: &dyn Fn(&Outcome) -> f64| stat(&runs[i].iter().map(f).collect::<Vec<_>>()).med;
            let both = |r: &Outcome| r.client.plus(r.server);
            let vs = |j: usize| {
                if i == j {
                    "1".to_string()
                } else {
                    fmt_ratio(ratio(&gbps[i], &gbps[j]))
                }
            };
            let _ = writeln!(
                t,
                "| {} | {:.2} | {:.2}–{:.2} | {} | {} | {:.2} | {:.1} | {:.1} |",
                imp.name,
                g.med,
                g.min,
                g.max,
                vs(RAW),
                vs(peer_of(impls, i)),
                per(&|r| both(r).cpu_ns as f64 / 1e9 / (total as f64 / 1e9)),
                per(&|r| both(r).vcsw as f64 / (total >> 20) as f64),
                per(&|r| both(r).ivcsw as f64 / (total >> 20) as f64),
            );
        }
        t.push('\n');
        print!("{t}");
        md.push_str(&t);
        verdicts(
            &format!("streaming {}", common::human(size)),
            impls,
            &gbps,
            summary,
        );
    }
}

fn round_trip(o: &Opts, impls: &[Impl], md: &mut String, summary: &mut String) {
    let work = Work::Rtt { trips: o.trips };
    for imp in impls {
        run(*imp, Work::Rtt { trips: 1_000 });
    }
    let (runs, others) =
        others_during(|| interleaved(impls.len(), o.reps, |i| run(impls[i], work)));
    // Round trips per second, from the mean and from the p50.
    let rate_mean: Vec<Vec<f64>> = runs
        .iter()
        .map(|v| v.iter().map(|r| 1e9 / r.mean).collect())
        .collect();
    let rate_p50: Vec<Vec<f64>> = runs
        .iter()
        .map(|v| v.iter().map(|r| 1e9 / r.p50).collect())
        .collect();
    let mut t = format!(
        "#### 64 B round trip ({} trips per run after {WARMUP_TRIPS} of warm-up; others: {others:.2} cores)\n\n\
         Ratios are of round trips per second (a peer's time ÷ ours): above 1 is faster.\n\n\
         | implementation | p50 | p99 | mean | ÷ UnixStream, mean (paired) | ÷ UnixStream, p50 | ÷ interprocess, mean (paired){PEER_NOTE} | vol. csw/trip | invol. csw/trip | CPU µs/trip |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        o.trips
    );
    let all_trips = (o.trips + WARMUP_TRIPS) as f64;
    for (i, imp) in impls.iter().enumerate() {
        let med =
            |f: &dyn Fn(&Outcome) -> f64| stat(&runs[i].iter().map(f).collect::<Vec<_>>()).med;
        let vs = |rate: &[Vec<f64>], j: usize| {
            if i == j {
                "1".to_string()
            } else {
                fmt_ratio(ratio(&rate[i], &rate[j]))
            }
        };
        // The client's usage covers the timed trips, the server's every trip.
        let per_trip = |f: &dyn Fn(Usage) -> u64| {
            med(&|r| f(r.client) as f64 / o.trips as f64 + f(r.server) as f64 / all_trips)
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {:.2}x | {} | {:.2} | {:.2} | {:.1} |",
            imp.name,
            fmt_ns(med(&|r| r.p50)),
            fmt_ns(med(&|r| r.p99)),
            fmt_ns(med(&|r| r.mean)),
            vs(&rate_mean, RAW),
            ratio(&rate_p50[i], &rate_p50[RAW]).0,
            vs(&rate_mean, peer_of(impls, i)),
            per_trip(&|u| u.vcsw),
            per_trip(&|u| u.ivcsw),
            per_trip(&|u| u.cpu_ns) / 1e3,
        );
    }
    t.push('\n');
    print!("{t}");
    md.push_str(&t);
    verdicts("64 B round trip (mean)", impls, &rate_mean, summary);
}

fn connect_wait(o: &Opts, md: &mut String, summary: &mut String) {
    let mut t = format!(
        "#### Connect-wait CPU (1 s timeout, no server; {} run(s) each, the median)\n\n\
         | client | wall | CPU | % of a core | error |\n|---|---|---|---|---|\n",
        o.waits
    );
    for (label, role) in WAITS {
        let mut rows: Vec<(f64, f64, String)> = (0..o.waits)
            .map(|_| {
                let path = fresh_path();
                let f = child_line(spawn_child(&[
                    "wait".into(),
                    role.into(),
                    path.to_string_lossy().into_owned(),
                ]));
                let wall = f[1].parse::<f64>().expect("wall");
                let cpu = f[2].parse::<f64>().expect("cpu");
                (wall, cpu, f[3].clone())
            })
            .collect();
        rows.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
        let (wall, cpu, err) = rows[rows.len() / 2].clone();
        let pct = 100.0 * cpu / wall;
        let share = if role.starts_with("ringpipe") {
            format!("{pct:.3}%")
        } else {
            "n/a: it did not wait".to_string()
        };
        let _ = writeln!(
            t,
            "| {label} | {} | {} | {share} | {err} |",
            fmt_ns(wall),
            fmt_ns(cpu)
        );
        if role.starts_with("ringpipe") {
            let _ = writeln!(
                summary,
                "- connect-wait CPU, {label}: under 1% of a core {} ({pct:.3}%)",
                if pct < 1.0 { "met" } else { "**not met**" }
            );
        } else {
            let _ = writeln!(
                summary,
                "- (informational) {label}: fails after {} with {err}: it does not wait for a server to appear",
                fmt_ns(wall)
            );
        }
    }
    t.push('\n');
    print!("{t}");
    md.push_str(&t);
}

/// `--one NAME`: one run, its figures printed (the server's and the client's usage apart).
fn one(o: &Opts, imp: Impl) {
    let total = (o.mib << 20) / o.size.max(1) as u64 * o.size.max(1) as u64;
    let work = match o.size {
        0 => Work::Rtt { trips: o.trips },
        size => Work::Stream { size, total },
    };
    let r = run(imp, work);
    match work {
        Work::Stream { size, total } => println!(
            "{}: {} MiB in {} B writes: {:.2} GB/s",
            imp.name,
            total >> 20,
            size,
            total as f64 / r.secs / 1e9
        ),
        Work::Rtt { trips } => println!(
            "{}: {trips} round trips: p50 {}, p99 {}, mean {}",
            imp.name,
            fmt_ns(r.p50),
            fmt_ns(r.p99),
            fmt_ns(r.mean)
        ),
    }
    for (side, u) in [("server", r.server), ("client", r.client)] {
        println!(
            "  {side}: CPU {:.1} ms, voluntary context switches {}, involuntary {}",
            u.cpu_ns as f64 / 1e6,
            u.vcsw,
            u.ivcsw
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    common::keep_freed_memory();
    pattern(0, 0); // the table is built before anything is timed
    if args.first().map(String::as_str) == Some("--child") {
        if let Ok(core) = std::env::var(CORE_VAR) {
            common::pin(core.parse().expect("a CPU number"));
        }
        match args[1].as_str() {
            "run" => child_run(
                find_impl(&args[2]),
                Path::new(&args[3]),
                Work::parse(&args[4..]),
            ),
            "wait" => child_wait(&args[2], Path::new(&args[3])),
            r => panic!("unknown child role {r}"),
        }
        return;
    }
    let o = parse(args);
    // Before pinning, which narrows what the process may run on.
    let cpus = ncpus();
    if let Some((server, client)) = o.pin.cores() {
        // Before any thread is started: the transport's threads inherit it.
        common::pin(server);
        CLIENT_CORE.store(client, Ordering::Relaxed);
    }
    if let Some(name) = &o.one {
        one(&o, find_impl(name));
        return;
    }
    let started = Instant::now();
    let impls = impls(o.variants);
    let profile = common::build_profile();
    let mut md = format!(
        "### Named pipes between processes ({} repetitions, interleaved)\n\n\
         `cargo run --profile {profile}{} --example ipc_bench{}{}`; {}; {} ({} CPUs), Linux {}; \
         load average at the start {}; {}\n\n",
        o.reps,
        if cfg!(feature = "tokio") {
            " --features tokio"
        } else {
            ""
        },
        if o.args.is_empty() { "" } else { " -- " },
        o.args.join(" "),
        now_utc(),
        cpu_model(),
        cpus,
        kernel_release(),
        loadavg(),
        o.pin.describe(),
    );
    print!("{md}");
    let mut summary = String::new();
    if o.runs("stream") {
        streaming(&o, &impls, &mut md, &mut summary);
    }
    if o.runs("rtt") {
        round_trip(&o, &impls, &mut md, &mut summary);
    }
    if o.runs("wait") {
        connect_wait(&o, &mut md, &mut summary);
    }
    let tail = format!(
        "#### Targets\n\n{summary}\nLoad average at the end {}; {:.0} s in all{}.\n",
        loadavg(),
        started.elapsed().as_secs_f64(),
        if o.quick { " (--quick)" } else { "" }
    );
    print!("{tail}");
    md.push_str(&tail);
    let _ = std::fs::remove_dir_all(socket_dir());
    let path = common::out_dir().join("ipc_bench.md");
    std::fs::write(&path, md).expect("write the report");
    println!("(written to {})", path.display());
}
